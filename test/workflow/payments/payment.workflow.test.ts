/**
 * PaymentSaga on the time-skipping test server, with its real activities over the test database, the
 * stripe-mock sandbox provider (through the Stripe SDK) and the fault-injecting wrapper around it.
 */
import { randomUUID } from 'node:crypto';
import { ApplicationFailure, Client, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createPaymentActivities, createRefundActivities, FaultInjectingProvider, StripeMockSandboxProvider, stripeClient, type PaymentActivities } from '../../../activities/payments';
import { createPool, withTenant, type Pool } from '../../../platform/db/pool';
import { accountBalance, availableBalance, ensurePeriods, setPeriodStatus } from '../../../platform/ledger';
import { createDataConverter } from '../../../platform/temporal/client';
import { PaymentSaga, RefundWorkflow } from '../../../workflows/payments';
import type { RefundActivities } from '../../../activities/payments';
import { REFUND_FAILURES, refundWorkflowId } from '../../../workflows/payments/refund.contract';
import {
  cancelPayment,
  capturePayment,
  PAYMENT_FAILURES,
  paymentState,
  paymentWorkflowId,
  reviewPayment,
  type PaymentInput,
  type PaymentResult,
  type PaymentStatus,
  type ReviewDecision,
} from '../../../workflows/payments/payment.contract';
import { createTenant, ownerPool, testConfig } from '../../support/env';
import { eventually } from '../../support/eventually';
import { bundle, timeSkippingEnv } from '../../support/temporal';
import { expectRefused, updateRefusal } from '../../support/updates';
import { insertPaymentRow, paymentInput as newPaymentInput } from '../../support/payment-rows';

const cfg = testConfig();
const REVIEW_AT = 50_000;
let env: TestWorkflowEnvironment;
let db: Pool;
let workflowBundle: WorkflowBundleWithSourceMap;
let provider: FaultInjectingProvider;
let tenantId: string;
/**
 * The same test server without time skipping, for tests that need no timer. Waiting on a result through env.client
 * lets the server skip time whenever nothing holds it, and an activity task queued but not yet picked up (a loaded
 * machine) does not: the server then skips straight to the workflow's own deadline. Seen once under load: a refund
 * "timed out" after ten skipped years with its activity still waiting for a worker slot.
 */
let realTime: Client;

beforeAll(async () => {
  [env, workflowBundle] = await Promise.all([timeSkippingEnv(cfg), bundle(require.resolve('../../../workflows/payments'))]);
  realTime = new Client({ connection: env.connection, namespace: env.namespace, dataConverter: createDataConverter(cfg) });
  db = createPool(cfg.DATABASE_URL, 6);
  provider = new FaultInjectingProvider(new StripeMockSandboxProvider(stripeClient({ mockUrl: cfg.STRIPE_MOCK_URL }), db));
  tenantId = await createTenant(db);
  await withTenant(db, tenantId, (tx) => tx.query('SELECT create_default_chart($1)', [tenantId]));
});

afterAll(async () => {
  await env?.teardown();
  await db?.end();
});

function paymentInput(overrides: Partial<PaymentInput> = {}): PaymentInput {
  return newPaymentInput(tenantId, overrides);
}

/** The payment row the API writes before it starts the saga. */
async function createPaymentRow(input: PaymentInput) {
  await insertPaymentRow(db, input);
}

async function withWorker<T>(fn: (taskQueue: string) => Promise<T>, overrides: Partial<PaymentActivities & RefundActivities> = {}): Promise<T> {
  const taskQueue = `${cfg.TEMPORAL_TASK_QUEUE_PREFIX}payments-${randomUUID()}`;
  const activities = { ...createRefundActivities({ db, provider }), ...createPaymentActivities({ db, provider, risk: { maxAmountMinor: 1_000_000, reviewAmountMinor: REVIEW_AT, velocityPerHour: 1000, deniedCustomers: new Set(['cus_denied']) } }), ...overrides };
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle, activities, dataConverter: createDataConverter(cfg) });
  return worker.runUntil(fn(taskQueue));
}

async function start(input: PaymentInput, taskQueue: string): Promise<WorkflowHandle<typeof PaymentSaga>> {
  await createPaymentRow(input);
  return env.client.workflow.start(PaymentSaga, { workflowId: paymentWorkflowId(input.tenantId, input.paymentId), taskQueue, args: [input] });
}

/** Waits (by query: no time skipped) until the payment is in `status`. */
async function untilStatus(handle: WorkflowHandle, status: PaymentStatus) {
  await eventually(`the payment to be ${status}`, async () => (await handle.query(paymentState)).status === status, 60_000);
}

/** The saga's result and how its execution ended (COMPLETED, FAILED...), as the Web UI shows it. */
async function settle(handle: WorkflowHandle<typeof PaymentSaga>): Promise<{ result: PaymentResult; execution: string | undefined }> {
  const result = await handle.result();
  return { result, execution: (await handle.describe()).status.name };
}
const run = (input: PaymentInput, q: string) => start(input, q).then(settle);
const row = (paymentId: string, tenant = tenantId) =>
  withTenant(db, tenant, async (tx) => (await tx.query('SELECT status, failure_code, ledger_entry_id FROM payments WHERE id = $1', [paymentId])).rows[0]);
const events = (paymentId: string, tenant = tenantId) =>
  withTenant(db, tenant, async (tx) => (await tx.query('SELECT event_type FROM outbox WHERE aggregate_id = $1 ORDER BY id', [paymentId])).rows.map((r) => r.event_type));
const clearing = () => withTenant(db, tenantId, (tx) => accountBalance(tx, 'provider_clearing', 'EUR'));
const entriesFor = (paymentId: string, tenant = tenantId) =>
  withTenant(db, tenant, async (tx) => (await tx.query('SELECT id, reverses FROM journal_entries WHERE source_id = $1', [paymentId])).rows);
const holdFor = (paymentId: string, tenant = tenantId) =>
  withTenant(db, tenant, async (tx) => (await tx.query('SELECT status FROM ledger_holds WHERE source_id = $1', [paymentId])).rows);

/** A payment that did not go through is an outcome: the execution completes, with `failed`, the reason and its cause. */
function expectFailed(outcome: { result: PaymentResult; execution: string | undefined }, reason: string, causeType?: string) {
  expect(outcome.execution).toBe('COMPLETED');
  expect(outcome.result).toMatchObject({ status: 'failed', failure: { reason } });
  if (causeType) expect(outcome.result.failure!.cause).toMatchObject({ type: causeType });
}

describe('PaymentSaga', () => {
  describe('when the card is good (automatic capture)', () => {
    it('authorises once, posts the ledger entry, and emits payment.succeeded', async () => {
      const input = paymentInput();
      const before = await clearing();
      const result = await withWorker(async (q) => (await start(input, q)).result());
      expect(result).toMatchObject({ paymentId: input.paymentId, status: 'succeeded', ledgerEntryId: expect.any(String) });
      expect(await row(input.paymentId)).toMatchObject({ status: 'succeeded', ledger_entry_id: result.ledgerEntryId });
      expect(await clearing()).toBe(before + 2500);
      expect(await events(input.paymentId)).toEqual(['payment.succeeded']);
      expect(provider.callsFor(input.paymentId)).toMatchObject({ authorize: 1, capture: 0 });
    });
  });

  describe('when the card is declined', () => {
    it('completes with a failed result (PaymentDeclined caused by ProviderDeclined), posts nothing, emits payment.failed', async () => {
      const input = paymentInput({ paymentMethod: 'pm_card_chargeDeclined' });
      const before = await clearing();
      const outcome = await withWorker((q) => run(input, q));
      expectFailed(outcome, PAYMENT_FAILURES.declined, 'ProviderDeclined');
      expect(outcome.result.failure!.cause).toMatchObject({ activityType: 'authorizePayment', retryState: 'NON_RETRYABLE_FAILURE' });
      expect(await row(input.paymentId)).toMatchObject({ status: 'failed', failure_code: PAYMENT_FAILURES.declined, ledger_entry_id: null });
      expect(await entriesFor(input.paymentId)).toEqual([]);
      expect(await clearing()).toBe(before);
      expect(await events(input.paymentId)).toEqual(['payment.failed']);
      expect(provider.callsFor(input.paymentId).authorize).toBe(1); // not retried
    });
  });

  describe('when the local sandbox cannot play the card (3-D Secure)', () => {
    it('completes failed with PaymentMethodNotSupportedBySandbox, not as a decline, naming where 3-D Secure can be tried', async () => {
      const input = paymentInput({ paymentMethod: 'pm_card_threeDSecure2Required' });
      const outcome = await withWorker((q) => run(input, q));
      expectFailed(outcome, PAYMENT_FAILURES.methodNotSupportedBySandbox, 'ProviderInvalidRequest');
      expect(outcome.result.failure!.cause!.message).toMatch(/3-D Secure.*Stripe double.*STRIPE_API_KEY/);
      expect(await row(input.paymentId)).toMatchObject({ status: 'failed', failure_code: PAYMENT_FAILURES.methodNotSupportedBySandbox, ledger_entry_id: null });
    });
  });

  describe('when the provider is out for a while', () => {
    it('retries and succeeds once it answers', async () => {
      const input = paymentInput();
      provider.inject(input.paymentId, { method: 'authorize', kind: 'unavailable', times: 2 });
      const result = await withWorker(async (q) => (await start(input, q)).result());
      expect(result.status).toBe('succeeded');
      expect(provider.callsFor(input.paymentId).authorize).toBe(3);
    });
  });

  describe('when the provider stays out past the retry budget', () => {
    it('completes failed with PaymentProviderUnavailable, having charged nothing', async () => {
      const input = paymentInput();
      provider.inject(input.paymentId, { method: 'authorize', kind: 'unavailable', times: Infinity });
      const outcome = await withWorker((q) => run(input, q));
      expectFailed(outcome, PAYMENT_FAILURES.providerUnavailable, 'ProviderUnavailable');
      expect(outcome.result.failure!.cause).toMatchObject({ retryState: 'MAXIMUM_ATTEMPTS_REACHED' });
      expect(provider.callsFor(input.paymentId).authorize).toBe(6);
      // The intent was created but never confirmed; the compensation cancelled it.
      expect(await provider.findIntent(input.paymentId)).toMatchObject({ status: 'canceled', amountCapturedMinor: 0 });
      expect(await row(input.paymentId)).toMatchObject({ status: 'failed' });
    });

    it('refunds a charge whose answer was lost, though the payment fails', async () => {
      const input = paymentInput();
      // The first attempt charges the card, but the answer never arrives; the provider is then out for the rest of
      // the retry budget (each later attempt starts by retrieving the intent by its stored id, and fails there).
      provider.inject(input.paymentId, { method: 'authorize', kind: 'lost', times: 1 });
      provider.inject(input.paymentId, { method: 'retrieve', kind: 'unavailable', times: 5 });
      const before = await clearing();
      expectFailed(await withWorker((q) => run(input, q)), PAYMENT_FAILURES.providerUnavailable, 'ProviderUnavailable');
      expect(provider.callsFor(input.paymentId).authorize).toBe(1);
      // The charge the saga never heard of is found and refunded; nothing reaches the books.
      expect(await provider.findIntent(input.paymentId)).toMatchObject({ status: 'succeeded', amountCapturedMinor: 2500, amountRefundedMinor: 2500 });
      expect(await row(input.paymentId)).toMatchObject({ status: 'failed', failure_code: PAYMENT_FAILURES.providerUnavailable });
      expect(await entriesFor(input.paymentId)).toEqual([]);
      expect(await clearing()).toBe(before);
    });
  });

  describe('when recording the authorisation fails after an automatic capture', () => {
    it('refunds the charge and fails with PaymentLedgerFailed', async () => {
      // A tenant without a chart of accounts: the hold on provider_clearing cannot be placed, after the charge.
      const tenant = await createTenant(db);
      const input = paymentInput({ tenantId: tenant });
      const outcome = await withWorker((q) => run(input, q));
      // The money first: the customer was charged, so the failed payment must refund it.
      expect(await provider.findIntent(input.paymentId)).toMatchObject({ amountCapturedMinor: 2500, amountRefundedMinor: 2500 });
      expect(provider.callsFor(input.paymentId)).toMatchObject({ authorize: 1, refund: 1 });
      expectFailed(outcome, PAYMENT_FAILURES.ledgerFailed, 'LedgerRejected');
      expect(outcome.result.failure!.cause).toMatchObject({ activityType: 'recordAuthorization', retryState: 'NON_RETRYABLE_FAILURE' });
      expect(await row(input.paymentId, tenant)).toMatchObject({ status: 'failed', failure_code: PAYMENT_FAILURES.ledgerFailed });
      expect(await events(input.paymentId, tenant)).toEqual(['payment.failed']);
    });
  });

  describe('when the payment’s accounting period closed while the saga ran', () => {
    it('books the charge in the first open period and succeeds: nothing refunded, the hold captured', async () => {
      const tenant = await createTenant(db);
      // The entry may be dated by the wall clock or by workflow time, which the test server may have moved years
      // ahead by the time this runs: close the month of each and every one between.
      const dates = [Date.now(), await env.currentTimeMs()].map((ms) => new Date(ms).toISOString().slice(0, 10));
      const openFrom = await withTenant(db, tenant, async (tx) => {
        await tx.query('SELECT create_default_chart($1)', [tenant]);
        for (const date of dates) await ensurePeriods(tx, date, 1);
        const periods = await tx.query<{ start: string }>("SELECT to_char(period_start, 'YYYY-MM-DD') AS start FROM accounting_periods ORDER BY period_start");
        for (const p of periods.rows) await setPeriodStatus(tx, { periodStart: p.start, action: 'close', actor: 'test' });
        return (await tx.query<{ d: string }>("SELECT to_char(max(period_end) + 1, 'YYYY-MM-DD') AS d FROM accounting_periods")).rows[0]!.d;
      });
      const input = paymentInput({ tenantId: tenant });
      const outcome = await withWorker((q) => run(input, q));

      expect(outcome).toMatchObject({ execution: 'COMPLETED', result: { status: 'succeeded' } });
      expect(await provider.findIntent(input.paymentId)).toMatchObject({ amountCapturedMinor: 2500, amountRefundedMinor: 0 });
      expect(provider.callsFor(input.paymentId)).toMatchObject({ authorize: 1, refund: 0 });
      expect(await holdFor(input.paymentId, tenant)).toEqual([{ status: 'captured' }]);
      const booked = await withTenant(db, tenant, async (tx) =>
        (await tx.query("SELECT to_char(accounting_date, 'YYYY-MM-DD') AS accounting_date, description FROM journal_entries WHERE source_id = $1", [input.paymentId])).rows,
      );
      expect(booked).toEqual([{ accounting_date: openFrom, description: expect.stringMatching(/^Card payment captured \(dated .*: that period is closed\)$/) }]);
      expect(await row(input.paymentId, tenant)).toMatchObject({ status: 'succeeded' });
      expect(await events(input.paymentId, tenant)).toEqual(['payment.succeeded']);
    });
  });

  describe('when the ledger refuses the entry after the capture', () => {
    /** Runs a payment for `tenant` through the real ledger activity, which must refuse it; then checks the compensation. */
    async function expectRefusedByLedger(tenant: string, refusal: RegExp) {
      const input = paymentInput({ tenantId: tenant });
      const outcome = await withWorker((q) => run(input, q));
      expectFailed(outcome, PAYMENT_FAILURES.ledgerFailed, 'LedgerRejected');
      // The refusal is a business outcome: posting is not retried.
      expect(outcome.result.failure!.cause).toMatchObject({ activityType: 'postPaymentEntry', retryState: 'NON_RETRYABLE_FAILURE', message: expect.stringMatching(refusal) });
      // Compensated: the charge refunded once, the hold released, nothing on the books.
      expect(await provider.findIntent(input.paymentId)).toMatchObject({ amountCapturedMinor: 2500, amountRefundedMinor: 2500 });
      expect(provider.callsFor(input.paymentId)).toMatchObject({ authorize: 1, refund: 1 });
      expect(await holdFor(input.paymentId, tenant)).toEqual([{ status: 'released' }]);
      expect(await entriesFor(input.paymentId, tenant)).toEqual([]);
      expect(await row(input.paymentId, tenant)).toMatchObject({ status: 'failed', failure_code: PAYMENT_FAILURES.ledgerFailed, ledger_entry_id: null });
      expect(await events(input.paymentId, tenant)).toEqual(['payment.failed']);
    }

    it('refunds the charge, releases the hold and fails with PaymentLedgerFailed when the revenue account does not exist', async () => {
      // A chart without the revenue account: accounts are never deleted, so this tenant's chart is written by the
      // owner with only the account the hold needs (the application role cannot set system keys).
      const tenant = await createTenant(db);
      const owner = ownerPool(cfg);
      try {
        await withTenant(owner, tenant, (tx) =>
          tx.query("INSERT INTO ledger_accounts (tenant_id, code, name, type, subtype, system_key) VALUES ($1, '1100', 'Payment provider clearing', 'asset', 'current_asset', 'provider_clearing')", [tenant]),
        );
        await expect(withTenant(owner, tenant, (tx) => tx.query("DELETE FROM ledger_accounts WHERE system_key = 'provider_clearing'"))).rejects.toThrow(/never deleted/);
      } finally {
        await owner.end();
      }
      await expectRefusedByLedger(tenant, /no ledger account/);
    });

    // completePayment refuses nothing for a payment the saga has just posted, so its failure is injected; the
    // compensations it must set off (reversing the posted entry, refunding the charge) are the real ones.
    it('reverses the posted entry and refunds when completing fails after the posting (injected)', async () => {
      const input = paymentInput();
      const before = await clearing();
      const outcome = await withWorker((q) => run(input, q), {
        completePayment: async () => {
          throw ApplicationFailure.nonRetryable('cannot complete (injected)', 'LedgerRejected');
        },
      });
      expectFailed(outcome, PAYMENT_FAILURES.ledgerFailed, 'LedgerRejected');
      const entries = await entriesFor(input.paymentId);
      expect(entries).toHaveLength(2);
      expect(entries.filter((e) => e.reverses)).toHaveLength(1);
      expect(await clearing()).toBe(before);
      expect(await provider.findIntent(input.paymentId)).toMatchObject({ amountRefundedMinor: 2500 });
    });
  });

  describe('when screening asks for a review', () => {
    it('waits for ops, and goes through when approved', async () => {
      const input = paymentInput({ amountMinor: REVIEW_AT });
      const result = await withWorker(async (q) => {
        const handle = await start(input, q);
        await untilStatus(handle, 'in_review');
        expect((await row(input.paymentId)).status).toBe('in_review');
        await handle.executeUpdate(reviewPayment, { args: [{ decision: 'approve', reviewerId: 'ops-1' }] });
        return handle.result();
      });
      expect(result.status).toBe('succeeded');
    });

    it('completes failed with PaymentReviewRejected when ops reject it', async () => {
      const input = paymentInput({ amountMinor: REVIEW_AT });
      const outcome = await withWorker(async (q) => {
        const handle = await start(input, q);
        await untilStatus(handle, 'in_review');
        await handle.executeUpdate(reviewPayment, { args: [{ decision: 'reject', reviewerId: 'ops-1' }] });
        return settle(handle);
      });
      expectFailed(outcome, PAYMENT_FAILURES.reviewRejected);
      expect(await row(input.paymentId)).toMatchObject({ status: 'failed', failure_code: PAYMENT_FAILURES.reviewRejected });
      expect(await events(input.paymentId)).toEqual(['payment.failed']);
      expect(provider.callsFor(input.paymentId).authorize).toBe(0);
    });

    it('completes failed with PaymentReviewTimedOut when nobody decides in time', async () => {
      const input = paymentInput({ amountMinor: REVIEW_AT, reviewTimeoutSeconds: 3600 });
      const outcome = await withWorker(async (q) => {
        const handle = await start(input, q);
        await untilStatus(handle, 'in_review');
        await env.sleep('2 hours');
        return settle(handle);
      });
      expectFailed(outcome, PAYMENT_FAILURES.reviewTimedOut);
    });

    it('refuses a review while the payment waits for capture, and the payment goes on unchanged', async () => {
      const input = paymentInput({ captureMethod: 'manual' });
      const result = await withWorker(async (q) => {
        const handle = await start(input, q);
        await untilStatus(handle, 'authorized');
        expectRefused(await updateRefusal(handle, reviewPayment, [{ decision: 'reject', reviewerId: 'ops-1' }]), /the payment is authorized; it cannot be reviewed now/);
        expect(await handle.query(paymentState)).toMatchObject({ status: 'authorized' });
        expect(await handle.executeUpdate(capturePayment)).toMatchObject({ status: 'succeeded', capturedMinor: 2500 });
        return handle.result();
      });
      expect(result.status).toBe('succeeded');
    });

    it('refuses a malformed review while in review, and waits on for a valid one', async () => {
      const input = paymentInput({ amountMinor: REVIEW_AT });
      const result = await withWorker(async (q) => {
        const handle = await start(input, q);
        await untilStatus(handle, 'in_review');
        const review = (decision: Record<string, unknown>) => updateRefusal(handle, reviewPayment, [decision as unknown as ReviewDecision]);
        expectRefused(await review({ decision: 'maybe', reviewerId: 'ops-1' }), /decision must be approve or reject/);
        expectRefused(await review({ decision: 'reject', reviewerId: '' }), /a reviewer id is required/);
        expect(await handle.query(paymentState)).toMatchObject({ status: 'in_review' });
        expect((await row(input.paymentId)).status).toBe('in_review');
        await handle.executeUpdate(reviewPayment, { args: [{ decision: 'approve', reviewerId: 'ops-1' }] });
        return handle.result();
      });
      expect(result.status).toBe('succeeded');
      expect(provider.callsFor(input.paymentId).authorize).toBe(1);
    });

    it('rejects a payment from a denied customer without review (completed, failed with PaymentRiskRejected)', async () => {
      const input = paymentInput({ customerId: 'cus_denied' });
      expectFailed(await withWorker((q) => run(input, q)), PAYMENT_FAILURES.riskRejected);
      expect(provider.callsFor(input.paymentId).authorize).toBe(0);
    });
  });

  describe('with manual capture', () => {
    it('holds the amount while authorised, and captures on request', async () => {
      const input = paymentInput({ captureMethod: 'manual' });
      const availableBefore = await withTenant(db, tenantId, (tx) => availableBalance(tx, 'provider_clearing', 'EUR'));
      const result = await withWorker(async (q) => {
        const handle = await start(input, q);
        await untilStatus(handle, 'authorized');
        expect(await withTenant(db, tenantId, (tx) => availableBalance(tx, 'provider_clearing', 'EUR'))).toBe(availableBefore - 2500);
        expect(await handle.executeUpdate(capturePayment)).toMatchObject({ status: 'succeeded', capturedMinor: 2500 });
        return handle.result();
      });
      expect(result.status).toBe('succeeded');
      expect(provider.callsFor(input.paymentId).capture).toBe(1);
      expect(await withTenant(db, tenantId, (tx) => availableBalance(tx, 'provider_clearing', 'EUR'))).toBe(availableBefore + 2500);
    });

    it('releases the authorisation when cancelled', async () => {
      const input = paymentInput({ captureMethod: 'manual' });
      const result = await withWorker(async (q) => {
        const handle = await start(input, q);
        await untilStatus(handle, 'authorized');
        await handle.executeUpdate(cancelPayment);
        return handle.result();
      });
      expect(result.status).toBe('canceled');
      expect(await provider.findIntent(input.paymentId)).toMatchObject({ status: 'canceled' });
      expect(await row(input.paymentId)).toMatchObject({ status: 'canceled' });
      expect(await events(input.paymentId)).toEqual(['payment.failed']);
      expect(await entriesFor(input.paymentId)).toEqual([]);
    });

    it('releases the authorisation when it expires uncaptured', async () => {
      const input = paymentInput({ captureMethod: 'manual', authorizationTtlSeconds: 24 * 3600 });
      const result = await withWorker(async (q) => {
        const handle = await start(input, q);
        await untilStatus(handle, 'authorized');
        await env.sleep('25 hours');
        return handle.result();
      });
      expect(result.status).toBe('expired');
      expect(await provider.findIntent(input.paymentId)).toMatchObject({ status: 'canceled' });
      const hold = await withTenant(db, tenantId, async (tx) => (await tx.query("SELECT status FROM ledger_holds WHERE source_id = $1", [input.paymentId])).rows[0]);
      expect(hold).toEqual({ status: 'expired' });
    });

    it('captures once, however often it is asked', async () => {
      const input = paymentInput({ captureMethod: 'manual' });
      await withWorker(async (q) => {
        const handle = await start(input, q);
        await untilStatus(handle, 'authorized');
        const both = await Promise.allSettled([handle.executeUpdate(capturePayment), handle.executeUpdate(capturePayment)]);
        expect(both.filter((r) => r.status === 'fulfilled').length).toBeGreaterThanOrEqual(1);
        await handle.result();
        await expect(handle.executeUpdate(capturePayment)).rejects.toThrow();
      });
      expect(provider.callsFor(input.paymentId).capture).toBe(1);
    });

    it('refuses a capture before the payment is authorised', async () => {
      const input = paymentInput({ captureMethod: 'manual', amountMinor: REVIEW_AT });
      await withWorker(async (q) => {
        const handle = await start(input, q);
        await untilStatus(handle, 'in_review');
        const refused = await handle.executeUpdate(capturePayment).catch((e: unknown) => e);
        expect(refused).toBeInstanceOf(WorkflowUpdateFailedError);
        expect((refused as WorkflowUpdateFailedError).cause?.message).toMatch(/in_review; it cannot be captured now/);
        await handle.executeUpdate(cancelPayment);
        expect(await handle.result()).toMatchObject({ status: 'canceled' });
      });
      expect(provider.callsFor(input.paymentId).authorize).toBe(0);
    });
  });

  describe('refunds', () => {
    /** Refunds need no timer: they run in real time (see `realTime`), paid when their workflow completes. */
    const paid = async (input: PaymentInput, q: string) => realTime.workflow.getHandle((await start(input, q)).workflowId).result();
    const refund = (q: string, paymentId: string, amountMinor: number, clock: Client = realTime) => {
      const refundId = randomUUID();
      return clock.workflow.execute(RefundWorkflow, {
        workflowId: refundWorkflowId(tenantId, refundId),
        taskQueue: q,
        args: [{ refundId, tenantId, paymentId, amountMinor, idempotencyKey: refundId }],
      });
    };
    const refunded = (paymentId: string) =>
      withTenant(db, tenantId, async (tx) => Number((await tx.query('SELECT amount_refunded_minor FROM payments WHERE id = $1', [paymentId])).rows[0].amount_refunded_minor));

    it('refunds partially, then the rest, and the books follow', async () => {
      const input = paymentInput({ amountMinor: 1000 });
      const before = await clearing();
      await withWorker(async (q) => {
        await paid(input, q);
        expect((await refund(q, input.paymentId, 300)).status).toBe('succeeded');
        expect((await refund(q, input.paymentId, 700)).status).toBe('succeeded');
      });
      expect(await refunded(input.paymentId)).toBe(1000);
      expect(await provider.findIntent(input.paymentId)).toMatchObject({ amountRefundedMinor: 1000 });
      expect(await clearing()).toBe(before);
    });

    it('refuses a refund beyond what was captured with a rejected result, touching nothing', async () => {
      const input = paymentInput({ amountMinor: 1000 });
      const result = await withWorker(async (q) => {
        await paid(input, q);
        await refund(q, input.paymentId, 600);
        return refund(q, input.paymentId, 401);
      });
      expect(result).toMatchObject({ status: 'rejected', failure: { reason: REFUND_FAILURES.rejected } });
      expect(await refunded(input.paymentId)).toBe(600);
      expect(provider.callsFor(input.paymentId).refund).toBe(1);
    });

    it('lets only one of two concurrent refunds through when together they exceed the capture', async () => {
      const input = paymentInput({ amountMinor: 1000 });
      const outcomes = await withWorker(async (q) => {
        await paid(input, q);
        return Promise.all([refund(q, input.paymentId, 600), refund(q, input.paymentId, 600)]);
      });
      expect(outcomes.map((o) => o.status).sort()).toEqual(['rejected', 'succeeded']);
      expect(await refunded(input.paymentId)).toBe(600);
      expect(await provider.findIntent(input.paymentId)).toMatchObject({ amountRefundedMinor: 600 });
    });

    it('books a refund whose answer was lost once the provider answers again, and never frees it for another refund', async () => {
      const input = paymentInput({ amountMinor: 1000 });
      // The provider refunds, its answer is lost, then it is out for longer than six attempts take; then it is back.
      provider.inject(input.paymentId, { method: 'refund', kind: 'lost', times: 1 });
      provider.inject(input.paymentId, { method: 'refund', kind: 'unavailable', times: 8 });
      const [first, second, third] = await withWorker(async (q) => {
        await paid(input, q);
        const lost = await refund(q, input.paymentId, 400, env.client); // the outage's backoff: time skipped
        return [lost, await refund(q, input.paymentId, 600), await refund(q, input.paymentId, 1)];
      });
      expect(first).toMatchObject({ status: 'succeeded' });
      expect(second).toMatchObject({ status: 'succeeded' });
      expect(third).toMatchObject({ status: 'rejected' });
      // What the provider paid back is what FinFlow shows and booked: never more than was captured.
      expect(await provider.findIntent(input.paymentId)).toMatchObject({ amountCapturedMinor: 1000, amountRefundedMinor: 1000 });
      expect(await refunded(input.paymentId)).toBe(1000);
    });

    it('releases the reservation when the provider refuses the refund', async () => {
      const input = paymentInput({ amountMinor: 1000 });
      provider.inject(input.paymentId, { method: 'refund', kind: 'decline', times: 1 });
      const result = await withWorker(async (q) => {
        await paid(input, q);
        return refund(q, input.paymentId, 400);
      });
      expect(result).toMatchObject({ status: 'failed', failure: { reason: REFUND_FAILURES.providerFailed } });
      expect(await refunded(input.paymentId)).toBe(0);
      expect(await provider.findIntent(input.paymentId)).toMatchObject({ amountRefundedMinor: 0 });
    });
  });
});
