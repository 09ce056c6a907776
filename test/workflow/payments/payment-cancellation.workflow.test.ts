/**
 * PaymentSaga and RefundWorkflow cancelled from Temporal (what the Web UI's "Cancel" and `temporal workflow cancel`
 * do: handle.cancel()), and a compensation that runs out of retries. On the time-skipping test server, with the real
 * activities over the test database and the stripe-mock sandbox provider behind the fault-injecting wrapper. Where a
 * cancellation must arrive while a step is under way, the real activity is held after it did its work until the
 * workflow has seen the cancellation (read from its history), so nothing depends on timing.
 */
import { randomUUID } from 'node:crypto';
import { ApplicationFailure, CancelledFailure, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createPaymentActivities, createRefundActivities, FaultInjectingProvider, StripeMockSandboxProvider, stripeClient, type PaymentActivities, type RefundActivities } from '../../../activities/payments';
import { createPool, withTenant, type Pool } from '../../../platform/db/pool';
import { accountBalance } from '../../../platform/ledger';
import { createDataConverter } from '../../../platform/temporal/client';
import { Status } from '../../../temporal-config/search-attributes';
import { PaymentSaga, RefundWorkflow } from '../../../workflows/payments';
import { PAYMENT_FAILURES, paymentState, paymentWorkflowId, type PaymentInput, type PaymentStatus } from '../../../workflows/payments/payment.contract';
import { refundWorkflowId } from '../../../workflows/payments/refund.contract';
import { createTenant, testConfig } from '../../support/env';
import { eventually } from '../../support/eventually';
import { bundle, timeSkippingEnv } from '../../support/temporal';
import { insertPaymentRow, paymentInput as newPaymentInput } from '../../support/payment-rows';

const cfg = testConfig();
const REVIEW_AT = 50_000;
const EventType = temporal.api.enums.v1.EventType;
let env: TestWorkflowEnvironment;
let db: Pool;
let workflowBundle: WorkflowBundleWithSourceMap;
let provider: FaultInjectingProvider;
let tenantId: string;

beforeAll(async () => {
  [env, workflowBundle] = await Promise.all([timeSkippingEnv(cfg), bundle(require.resolve('../../../workflows/payments'))]);
  db = createPool(cfg.DATABASE_URL, 6);
  provider = new FaultInjectingProvider(new StripeMockSandboxProvider(stripeClient({ mockUrl: cfg.STRIPE_MOCK_URL }), db));
  tenantId = await createTenant(db);
  await withTenant(db, tenantId, (tx) => tx.query('SELECT create_default_chart($1)', [tenantId]));
});

afterAll(async () => {
  await env?.teardown();
  await db?.end();
});

type Activities = PaymentActivities & RefundActivities;
const realActivities = (): Activities => ({
  ...createRefundActivities({ db, provider }),
  ...createPaymentActivities({ db, provider, risk: { maxAmountMinor: 1_000_000, reviewAmountMinor: REVIEW_AT, velocityPerHour: 1000, deniedCustomers: new Set() } }),
});

function paymentInput(overrides: Partial<PaymentInput> = {}): PaymentInput {
  return newPaymentInput(tenantId, overrides);
}

async function withWorker<T>(fn: (taskQueue: string) => Promise<T>, overrides: Partial<Activities> = {}): Promise<T> {
  const taskQueue = `${cfg.TEMPORAL_TASK_QUEUE_PREFIX}payments-cancel-${randomUUID()}`;
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle, activities: { ...realActivities(), ...overrides }, dataConverter: createDataConverter(cfg) });
  return worker.runUntil(fn(taskQueue));
}

/** Starts the saga after writing the payment row, as the API does. */
async function start(input: PaymentInput, taskQueue: string): Promise<WorkflowHandle<typeof PaymentSaga>> {
  await insertPaymentRow(db, input);
  return env.client.workflow.start(PaymentSaga, { workflowId: paymentWorkflowId(input.tenantId, input.paymentId), taskQueue, args: [input] });
}

const untilStatus = (handle: WorkflowHandle, status: PaymentStatus) =>
  eventually(`the payment to be ${status}`, async () => (await handle.query(paymentState)).status === status, 60_000);

/** Waits until the workflow has taken in its cancellation: a workflow task completed after the request. */
async function untilCancellationSeen(handle: WorkflowHandle) {
  await eventually('the workflow to see its cancellation', async () => {
    const events = (await handle.fetchHistory()).events ?? [];
    const requested = events.findIndex((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED);
    return requested >= 0 && events.slice(requested).some((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED);
  }, 60_000);
}

/** Ends as Temporal's Canceled: the result is a cancellation, and so is the execution's status. */
async function expectCanceledExecution(handle: WorkflowHandle) {
  const err = await handle.result().then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(WorkflowFailedError);
  expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
  expect((await handle.describe()).status.name).toBe('CANCELLED');
}

/**
 * An activity that does its real work, then on its first call holds its answer until `open()`: the test cancels
 * the workflow while the step is under way, after it has moved money or written the books.
 */
function held<A extends unknown[], R>(activity: (...args: A) => Promise<R>) {
  let markReached!: () => void;
  let open!: () => void;
  const reached = new Promise<void>((r) => (markReached = r));
  const opened = new Promise<void>((r) => (open = r));
  let first = true;
  const fn = async (...args: A): Promise<R> => {
    const result = await activity(...args);
    if (first) {
      first = false;
      markReached();
      await opened;
    }
    return result;
  };
  return { fn, reached, open };
}

const row = (paymentId: string) =>
  withTenant(db, tenantId, async (tx) => (await tx.query('SELECT status, failure_code, unresolved_compensations FROM payments WHERE id = $1', [paymentId])).rows[0]);
const events = (paymentId: string) =>
  withTenant(db, tenantId, async (tx) => (await tx.query("SELECT event_type, event->'data' AS data FROM outbox WHERE aggregate_id = $1 ORDER BY id", [paymentId])).rows);
const entriesFor = (sourceId: string) =>
  withTenant(db, tenantId, async (tx) => (await tx.query('SELECT id, reverses FROM journal_entries WHERE source_id = $1', [sourceId])).rows);
const holdFor = (paymentId: string) =>
  withTenant(db, tenantId, async (tx) => (await tx.query('SELECT status FROM ledger_holds WHERE source_id = $1', [paymentId])).rows);
const clearing = () => withTenant(db, tenantId, (tx) => accountBalance(tx, 'provider_clearing', 'EUR'));

/** What a cancelled payment leaves: status canceled, its payment.failed event, no hold, nothing on the books. */
async function expectNothingLeft(paymentId: string, clearingBefore: number) {
  expect(await row(paymentId)).toMatchObject({ status: 'canceled' });
  expect(await events(paymentId)).toEqual([{ event_type: 'payment.failed', data: expect.objectContaining({ status: 'canceled', failureCode: 'canceled' }) }]);
  expect((await holdFor(paymentId)).filter((h) => h.status === 'active')).toEqual([]);
  const entries = await entriesFor(paymentId);
  expect(entries.filter((e) => !e.reverses).length).toBe(entries.filter((e) => e.reverses).length); // each entry reversed
  expect(await clearing()).toBe(clearingBefore);
}

describe('PaymentSaga cancelled from Temporal (handle.cancel())', () => {
  it('while in review: ends Canceled, the payment canceled with its event, nothing at the provider', async () => {
    const input = paymentInput({ amountMinor: REVIEW_AT });
    const before = await clearing();
    await withWorker(async (q) => {
      const handle = await start(input, q);
      await untilStatus(handle, 'in_review');
      await handle.cancel();
      await expectCanceledExecution(handle);
    });
    expect(provider.callsFor(input.paymentId)).toMatchObject({ authorize: 0, cancel: 0, refund: 0 });
    await expectNothingLeft(input.paymentId, before);
  });

  it('while waiting for capture: releases the authorisation at the provider and the hold, books nothing', async () => {
    const input = paymentInput({ captureMethod: 'manual' });
    const before = await clearing();
    await withWorker(async (q) => {
      const handle = await start(input, q);
      await untilStatus(handle, 'authorized');
      expect(await holdFor(input.paymentId)).toEqual([{ status: 'active' }]);
      await handle.cancel();
      await expectCanceledExecution(handle);
    });
    expect(await provider.findIntent(input.paymentId)).toMatchObject({ status: 'canceled', amountCapturedMinor: 0 });
    expect(await holdFor(input.paymentId)).toEqual([{ status: 'released' }]);
    expect(await entriesFor(input.paymentId)).toEqual([]);
    await expectNothingLeft(input.paymentId, before);
  });

  it('after the capture, while the entry is posted: refunds the charge and reverses the entry', async () => {
    const input = paymentInput();
    const before = await clearing();
    const posting = held(realActivities().postPaymentEntry);
    await withWorker(
      async (q) => {
        const handle = await start(input, q);
        await posting.reached; // the card is charged and the entry is in the books
        await handle.cancel();
        await untilCancellationSeen(handle);
        posting.open();
        await expectCanceledExecution(handle);
      },
      { postPaymentEntry: posting.fn },
    );
    // The money went back to the customer once, and the books show the entry and its reversal.
    expect(await provider.findIntent(input.paymentId)).toMatchObject({ amountCapturedMinor: 2500, amountRefundedMinor: 2500 });
    expect(provider.callsFor(input.paymentId)).toMatchObject({ authorize: 1, refund: 1 });
    expect(await entriesFor(input.paymentId)).toHaveLength(2);
    expect(await holdFor(input.paymentId)).toEqual([{ status: 'released' }]);
    await expectNothingLeft(input.paymentId, before);
  });
});

describe('PaymentSaga when a compensation runs out of retries', () => {
  it('marks the payment needs_attention: status, search attribute, payment.needs_attention, and a result naming what is undone', async () => {
    const input = paymentInput();
    // The payment fails after the charge (completing it is refused, injected), and the provider never takes the refund.
    provider.inject(input.paymentId, { method: 'refund', kind: 'unavailable', times: Infinity });
    const { result, execution, status } = await withWorker(
      async (q) => {
        const handle = await start(input, q);
        const outcome = await handle.result();
        const description = await handle.describe();
        return { result: outcome, execution: description.status.name, status: description.typedSearchAttributes.get(Status) };
      },
      {
        completePayment: async () => {
          throw ApplicationFailure.nonRetryable('cannot complete (injected)', 'LedgerRejected');
        },
      },
    );
    expect(execution).toBe('COMPLETED');
    expect(result).toMatchObject({ status: 'needs_attention', failure: { reason: PAYMENT_FAILURES.ledgerFailed }, unresolved: ['release or refund at the provider'] });
    expect(status).toBe('needs_attention');
    // Every retry was spent on the refund before giving up; the other compensation (the reversal) still ran.
    expect(provider.callsFor(input.paymentId).refund).toBe(50);
    expect(await provider.findIntent(input.paymentId)).toMatchObject({ amountCapturedMinor: 2500, amountRefundedMinor: 0 });
    expect(await entriesFor(input.paymentId)).toHaveLength(2);
    expect(await row(input.paymentId)).toEqual({ status: 'needs_attention', failure_code: PAYMENT_FAILURES.ledgerFailed, unresolved_compensations: ['release or refund at the provider'] });
    expect(await events(input.paymentId)).toEqual([
      { event_type: 'payment.needs_attention', data: expect.objectContaining({ status: 'needs_attention', failureCode: PAYMENT_FAILURES.ledgerFailed, unresolved: ['release or refund at the provider'] }) },
    ]);
  });
});

describe('RefundWorkflow cancelled from Temporal (handle.cancel())', () => {
  const paid = async (q: string, amountMinor = 1000) => {
    const input = paymentInput({ amountMinor });
    expect(await (await start(input, q)).result()).toMatchObject({ status: 'succeeded' });
    return input.paymentId;
  };
  const startRefund = (q: string, paymentId: string, amountMinor: number) => {
    const refundId = randomUUID();
    return env.client.workflow.start(RefundWorkflow, { workflowId: refundWorkflowId(tenantId, refundId), taskQueue: q, args: [{ refundId, tenantId, paymentId, amountMinor, idempotencyKey: refundId }] });
  };
  const refunds = (paymentId: string) =>
    withTenant(db, tenantId, async (tx) => ({
      payment: Number((await tx.query('SELECT amount_refunded_minor FROM payments WHERE id = $1', [paymentId])).rows[0].amount_refunded_minor),
      rows: (await tx.query('SELECT id, status FROM payment_refunds WHERE payment_id = $1', [paymentId])).rows,
    }));

  it('before the provider refunded: releases the reservation, refunds nothing, ends Canceled', async () => {
    const reserving = held(realActivities().reserveRefund);
    const paymentId = await withWorker(
      async (q) => {
        const paymentId = await paid(q);
        const handle = await startRefund(q, paymentId, 600);
        await reserving.reached; // 600 is reserved against the payment
        await handle.cancel();
        await untilCancellationSeen(handle);
        reserving.open();
        await expectCanceledExecution(handle);
        return paymentId;
      },
      { reserveRefund: reserving.fn },
    );
    expect(provider.callsFor(paymentId).refund).toBe(0);
    expect(await refunds(paymentId)).toEqual({ payment: 0, rows: [expect.objectContaining({ status: 'failed' })] });
    expect(await entriesFor((await refunds(paymentId)).rows[0].id)).toEqual([]);
  });

  it('after the provider refunded: books the refund all the same (the customer has the money back)', async () => {
    const atProvider = held(realActivities().refundAtProvider);
    const { paymentId, result } = await withWorker(
      async (q) => {
        const paymentId = await paid(q);
        const handle = await startRefund(q, paymentId, 600);
        await atProvider.reached;
        await handle.cancel();
        await untilCancellationSeen(handle);
        atProvider.open();
        return { paymentId, result: await handle.result() };
      },
      { refundAtProvider: atProvider.fn },
    );
    expect(result).toMatchObject({ status: 'succeeded', ledgerEntryId: expect.any(String) });
    expect(await provider.findIntent(paymentId)).toMatchObject({ amountRefundedMinor: 600 });
    expect(await refunds(paymentId)).toEqual({ payment: 600, rows: [expect.objectContaining({ status: 'succeeded' })] });
    expect(await entriesFor((await refunds(paymentId)).rows[0].id)).toHaveLength(1);
  });
});
