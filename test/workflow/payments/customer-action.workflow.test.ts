/**
 * PaymentSaga's wait for the customer (3-D Secure) or the provider (processing), on the time-skipping test server
 * with the real activities over the test database and the real StripeProvider pointed at the Stripe double: the
 * deadlines, and webhooks that never come. (Webhooks that do come, through the API's route: payments-stripe.test.ts.)
 */
import { randomUUID } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createPaymentActivities, createRefundActivities, StripeProvider } from '../../../activities/payments';
import { createPool, withTenant, type Pool } from '../../../platform/db/pool';
import { createDataConverter } from '../../../platform/temporal/client';
import { PaymentSaga } from '../../../workflows/payments';
import { cancelPayment, capturePayment, paymentState, paymentWorkflowId, providerEvent, type PaymentInput, type PaymentStatus } from '../../../workflows/payments/payment.contract';
import { createTenant, testConfig } from '../../support/env';
import { eventually } from '../../support/eventually';
import { startStripeDouble, type StripeDouble } from '../../support/stripe-double';
import { bundle, timeSkippingEnv } from '../../support/temporal';
import { insertPaymentRow } from '../../support/payment-rows';

const cfg = testConfig();
let env: TestWorkflowEnvironment;
let db: Pool;
let workflowBundle: WorkflowBundleWithSourceMap;
let double: StripeDouble;
let tenantId: string;

beforeAll(async () => {
  [env, workflowBundle] = await Promise.all([timeSkippingEnv(cfg), bundle(require.resolve('../../../workflows/payments'))]);
  db = createPool(cfg.DATABASE_URL, 4);
  double = await startStripeDouble({ webhookSecret: 'whsec_customerActionTest' }); // no endpoint: the test signals, or nobody does
  tenantId = await createTenant(db);
  await withTenant(db, tenantId, (tx) => tx.query('SELECT create_default_chart($1)', [tenantId]));
});
/**
 * A saga a failed test left waiting would stall the test server's clock for every later test (it does not skip time
 * while a workflow task is outstanding, and its worker is gone): each test's sagas end with the test.
 */
const started: WorkflowHandle[] = [];
afterEach(async () => {
  for (const handle of started.splice(0)) await handle.terminate('the test is over').catch(() => undefined);
});
afterAll(async () => {
  await env?.teardown();
  await double?.close();
  await db?.end();
});

function paymentInput(overrides: Partial<PaymentInput> = {}): PaymentInput {
  return {
    paymentId: randomUUID(),
    tenantId,
    customerId: 'cus_3ds',
    amountMinor: 4200,
    currency: 'EUR',
    paymentMethod: 'pm_card_threeDSecure2Required',
    captureMethod: 'automatic',
    reviewTimeoutSeconds: 24 * 3600,
    authorizationTtlSeconds: 7 * 24 * 3600,
    customerActionTimeoutSeconds: 3600,
    ...overrides,
  };
}

async function withWorker<T>(fn: (taskQueue: string) => Promise<T>): Promise<T> {
  const taskQueue = `${cfg.TEMPORAL_TASK_QUEUE_PREFIX}customer-action-${randomUUID()}`;
  const provider = new StripeProvider(double.client());
  const risk = { maxAmountMinor: 1_000_000, reviewAmountMinor: 1_000_000, velocityPerHour: 1000, deniedCustomers: new Set<string>() };
  const activities = { ...createRefundActivities({ db, provider }), ...createPaymentActivities({ db, provider, risk }) };
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle, activities, dataConverter: createDataConverter(cfg) });
  return worker.runUntil(fn(taskQueue));
}

async function start(input: PaymentInput, taskQueue: string): Promise<WorkflowHandle<typeof PaymentSaga>> {
  await insertPaymentRow(db, input);
  const handle = await env.client.workflow.start(PaymentSaga, { workflowId: paymentWorkflowId(tenantId, input.paymentId), taskQueue, args: [input] });
  started.push(handle);
  return handle;
}
const untilStatus = (handle: WorkflowHandle, status: PaymentStatus) =>
  eventually(`the payment to be ${status}`, async () => (await handle.query(paymentState)).status === status, 60_000);
const row = (paymentId: string) =>
  withTenant(db, tenantId, async (tx) => (await tx.query('SELECT status, failure_code, next_action FROM payments WHERE id = $1', [paymentId])).rows[0]);
const booked = (paymentId: string) =>
  withTenant(db, tenantId, async (tx) => ({
    entries: (await tx.query('SELECT 1 FROM journal_entries WHERE source_id = $1', [paymentId])).rowCount,
    holds: (await tx.query('SELECT 1 FROM ledger_holds WHERE source_id = $1', [paymentId])).rowCount,
    events: (await tx.query('SELECT event_type, event FROM outbox WHERE aggregate_id = $1', [paymentId])).rows,
  }));
const intentOf = (paymentId: string) => [...double.book.intents.values()].find((i) => i.metadata.finflow_payment_id === paymentId)!;

describe('PaymentSaga waiting for the customer', () => {
  describe('when the customer never authenticates', () => {
    it('expires at the deadline: the intent cancelled, nothing booked, payment.failed (expired)', async () => {
      const input = paymentInput();
      const result = await withWorker(async (q) => {
        const handle = await start(input, q);
        await untilStatus(handle, 'requires_action');
        expect(await row(input.paymentId)).toMatchObject({ status: 'requires_action', next_action: { clientSecret: intentOf(input.paymentId).client_secret } });
        return handle.result(); // the server skips time to the deadline
      });
      expect(result).toEqual({ paymentId: input.paymentId, status: 'expired' });
      expect(intentOf(input.paymentId).status).toBe('canceled');
      expect(await row(input.paymentId)).toEqual({ status: 'expired', failure_code: 'customer_action_expired', next_action: null });
      const books = await booked(input.paymentId);
      expect(books).toMatchObject({ entries: 0, holds: 0 });
      expect(books.events.map((e) => [e.event_type, e.event.data.status, e.event.data.failureCode])).toEqual([['payment.failed', 'expired', 'customer_action_expired']]);
      expect(JSON.stringify(books.events)).not.toContain('secret');
    });
  });

  describe('when the customer authenticates', () => {
    it('goes on when the provider event arrives: with manual capture, authorised, then captured on request', async () => {
      const input = paymentInput({ captureMethod: 'manual' });
      const result = await withWorker(async (q) => {
        const handle = await start(input, q);
        await untilStatus(handle, 'requires_action');
        double.book.completeAuthentication(intentOf(input.paymentId).id, 'succeeds');
        await handle.signal(providerEvent, { eventId: 'evt_test_amount_capturable_updated', type: 'payment_intent.amount_capturable_updated' });
        await untilStatus(handle, 'authorized');
        expect(await row(input.paymentId)).toMatchObject({ status: 'authorized', next_action: null });
        await handle.executeUpdate(capturePayment);
        return handle.result();
      });
      expect(result.status).toBe('succeeded');
      expect(intentOf(input.paymentId)).toMatchObject({ status: 'succeeded', amount_received: 4200 });
      expect(double.count('POST /v1/payment_intents/:id/capture', intentOf(input.paymentId).id)).toBe(1);
    });

    it('goes on without the webhook (lost): at the deadline it asks the provider, and finds the payment authenticated', async () => {
      const input = paymentInput();
      const result = await withWorker(async (q) => {
        const handle = await start(input, q);
        await untilStatus(handle, 'requires_action');
        double.book.completeAuthentication(intentOf(input.paymentId).id, 'succeeds'); // and nobody tells the saga
        return handle.result();
      });
      expect(result.status).toBe('succeeded');
      expect((await booked(input.paymentId)).entries).toBe(1);
    });

    it('fails as declined when the authentication fails, the intent cancelled', async () => {
      const input = paymentInput();
      const result = await withWorker(async (q) => {
        const handle = await start(input, q);
        await untilStatus(handle, 'requires_action');
        double.book.completeAuthentication(intentOf(input.paymentId).id, 'fails');
        await handle.signal(providerEvent, { eventId: 'evt_test_payment_failed', type: 'payment_intent.payment_failed' });
        return handle.result();
      });
      expect(result).toMatchObject({ status: 'failed', failure: { reason: 'PaymentDeclined', message: expect.stringContaining('payment_intent_authentication_failure') } });
      expect(intentOf(input.paymentId).status).toBe('canceled');
      expect(await booked(input.paymentId)).toMatchObject({ entries: 0, holds: 0 });
    });
  });

  it('is cancelled on request while the customer has not authenticated: the intent cancelled', async () => {
    const input = paymentInput();
    const result = await withWorker(async (q) => {
      const handle = await start(input, q);
      await untilStatus(handle, 'requires_action');
      await handle.executeUpdate(cancelPayment);
      return handle.result();
    });
    expect(result.status).toBe('canceled');
    expect(intentOf(input.paymentId).status).toBe('canceled');
  });
});

/**
 * Stripe's webhook can reach the saga between its read of the intent and the start of its wait: the customer
 * authenticates (or the provider settles) while the confirmation's answer, already stale, is on its way back. The
 * provider here does exactly that: it confirms, then the intent moves on and its webhook is signalled, then the stale
 * answer is returned. Counting only events after the wait began, the saga slept through that one until its
 * deadline (an hour for the customer, six for the provider). Workflow time on the test server says when it went on.
 */
describe('PaymentSaga hearing a provider event that came before its wait began', () => {
  class EventBeforeWait extends StripeProvider {
    constructor(private readonly move: (intentId: string) => void) {
      super(double.client());
    }
    override async authorize(input: Parameters<StripeProvider['authorize']>[0]) {
      const answer = await super.authorize(input);
      this.move(answer.providerRef);
      await env.client.workflow.getHandle(paymentWorkflowId(tenantId, input.paymentId)).signal(providerEvent, { eventId: `evt_early_${input.paymentId.slice(0, 8)}`, type: 'payment_intent.succeeded' });
      return answer; // the stale answer: requires_action / processing
    }
  }
  async function run(input: PaymentInput, provider: StripeProvider) {
    const taskQueue = `${cfg.TEMPORAL_TASK_QUEUE_PREFIX}customer-action-early-${randomUUID()}`;
    const risk = { maxAmountMinor: 1_000_000, reviewAmountMinor: 1_000_000, velocityPerHour: 1000, deniedCustomers: new Set<string>() };
    const activities = { ...createRefundActivities({ db, provider }), ...createPaymentActivities({ db, provider, risk }) };
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle, activities, dataConverter: createDataConverter(cfg) });
    return worker.runUntil(async () => {
      const handle = await start(input, taskQueue);
      const result = await handle.result();
      const { startTime, closeTime } = await handle.describe();
      return { result, waitedMs: closeTime!.getTime() - startTime.getTime() };
    });
  }

  it('asks the provider at once when the customer authenticated before the wait began, well before the deadline', async () => {
    const input = paymentInput({ customerActionTimeoutSeconds: 3600 });
    const { result, waitedMs } = await run(input, new EventBeforeWait((id) => double.book.completeAuthentication(id, 'succeeds')));
    expect(result.status).toBe('succeeded');
    expect(waitedMs).toBeLessThan(3600_000);
  });

  it('asks the provider at once when it settled before the wait began, not six hours later', async () => {
    const input = paymentInput({ paymentMethod: 'pm_double_processing' });
    const { result, waitedMs } = await run(input, new EventBeforeWait((id) => double.book.settleProcessing(id, 'succeeds')));
    expect(result.status).toBe('succeeded');
    expect(waitedMs).toBeLessThan(6 * 3600_000);
  });

  it('asks the provider again when it settled while the saga was asking, not six hours later', async () => {
    const input = paymentInput({ paymentMethod: 'pm_double_processing' });
    let armed = false;
    class SettlesDuringCheck extends StripeProvider {
      override async retrieve(i: Parameters<StripeProvider['retrieve']>[0]) {
        const answer = await super.retrieve(i);
        if (armed && answer.status === 'processing') {
          armed = false; // it settles just after this read, and its webhook reaches the saga before the answer does
          double.book.settleProcessing(answer.providerRef, 'succeeds');
          await env.client.workflow.getHandle(paymentWorkflowId(tenantId, i.paymentId)).signal(providerEvent, { eventId: 'evt_during_check_succeeded', type: 'payment_intent.succeeded' });
        }
        return answer;
      }
    }
    const taskQueue = `${cfg.TEMPORAL_TASK_QUEUE_PREFIX}customer-action-check-${randomUUID()}`;
    const provider = new SettlesDuringCheck(double.client());
    const risk = { maxAmountMinor: 1_000_000, reviewAmountMinor: 1_000_000, velocityPerHour: 1000, deniedCustomers: new Set<string>() };
    const activities = { ...createRefundActivities({ db, provider }), ...createPaymentActivities({ db, provider, risk }) };
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle, activities, dataConverter: createDataConverter(cfg) });
    const { result, waitedMs } = await worker.runUntil(async () => {
      const handle = await start(input, taskQueue);
      await untilStatus(handle, 'processing');
      armed = true;
      await handle.signal(providerEvent, { eventId: 'evt_during_check_processing', type: 'payment_intent.processing' }); // wakes a check
      const result = await handle.result();
      const { startTime, closeTime } = await handle.describe();
      return { result, waitedMs: closeTime!.getTime() - startTime.getTime() };
    });
    expect(result.status).toBe('succeeded');
    expect(waitedMs).toBeLessThan(6 * 3600_000);
  });
});

describe('PaymentSaga waiting for the provider', () => {
  it('asks the provider again every few hours when its webhook never comes, and succeeds once it has settled', async () => {
    const input = paymentInput({ paymentMethod: 'pm_double_processing' });
    const result = await withWorker(async (q) => {
      const handle = await start(input, q);
      await untilStatus(handle, 'processing');
      expect(await row(input.paymentId)).toMatchObject({ status: 'processing', next_action: null });
      double.book.settleProcessing(intentOf(input.paymentId).id, 'succeeds');
      return handle.result();
    });
    expect(result.status).toBe('succeeded');
    expect((await booked(input.paymentId)).entries).toBe(1);
  });
});
