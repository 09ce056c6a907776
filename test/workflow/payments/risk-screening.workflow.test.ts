/**
 * PaymentSaga's risk screening (activities/payments screenPayment) on the time-skipping test server, with the real
 * activities over the test database and the stripe-mock sandbox provider: the amount limit rejects before anything
 * reaches the provider, and a customer paying too often within the hour is held for review.
 */
import { randomUUID } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createPaymentActivities, createRefundActivities, FaultInjectingProvider, StripeMockSandboxProvider, stripeClient, type RiskPolicy } from '../../../activities/payments';
import { createPool, withTenant, type Pool } from '../../../platform/db/pool';
import { createDataConverter } from '../../../platform/temporal/client';
import { PaymentSaga } from '../../../workflows/payments';
import { cancelPayment, PAYMENT_FAILURES, paymentState, paymentWorkflowId, type PaymentInput, type PaymentStatus } from '../../../workflows/payments/payment.contract';
import { createTenant, testConfig } from '../../support/env';
import { eventually } from '../../support/eventually';
import { insertPayment } from '../../support/rows';
import { bundle, timeSkippingEnv } from '../../support/temporal';
import { insertPaymentRow } from '../../support/payment-rows';

const cfg = testConfig();
// No amount is large enough for an amount review here: only the limit and velocity decide.
const RISK: RiskPolicy = { maxAmountMinor: 100_000, reviewAmountMinor: Number.MAX_SAFE_INTEGER, velocityPerHour: 3, deniedCustomers: new Set() };
const MINUTE = 60_000;
let env: TestWorkflowEnvironment;
let db: Pool;
let workflowBundle: WorkflowBundleWithSourceMap;
let provider: FaultInjectingProvider;
let tenantId: string;

beforeAll(async () => {
  [env, workflowBundle] = await Promise.all([timeSkippingEnv(cfg), bundle(require.resolve('../../../workflows/payments'))]);
  db = createPool(cfg.DATABASE_URL, 4);
  provider = new FaultInjectingProvider(new StripeMockSandboxProvider(stripeClient({ mockUrl: cfg.STRIPE_MOCK_URL }), db));
  tenantId = await createTenant(db);
  await withTenant(db, tenantId, (tx) => tx.query('SELECT create_default_chart($1)', [tenantId]));
});

afterAll(async () => {
  await env?.teardown();
  await db?.end();
});

const newCustomer = () => `cus_${randomUUID().slice(0, 8)}`;

function paymentInput(overrides: Partial<PaymentInput> = {}): PaymentInput {
  return {
    paymentId: randomUUID(),
    tenantId,
    customerId: newCustomer(),
    amountMinor: 2500,
    currency: 'EUR',
    paymentMethod: 'pm_card_visa',
    captureMethod: 'automatic',
    reviewTimeoutSeconds: 24 * 3600,
    authorizationTtlSeconds: 7 * 24 * 3600,
    ...overrides,
  };
}

/** Earlier payments of a customer, as the API recorded them `minutesAgo`. */
async function earlierPayments(customerId: string, minutesAgo: number[]) {
  await withTenant(db, tenantId, async (tx) => {
    for (const m of minutesAgo) await insertPayment(tx, tenantId, { customerId, createdAt: new Date(Date.now() - m * MINUTE) });
  });
}

/** Runs the saga for `input` (its row written first, as the API does) on a worker with the test's risk policy. */
async function runSaga<T>(input: PaymentInput, fn: (handle: WorkflowHandle<typeof PaymentSaga>) => Promise<T>): Promise<T> {
  await insertPaymentRow(db, input);
  const taskQueue = `${cfg.TEMPORAL_TASK_QUEUE_PREFIX}risk-${randomUUID()}`;
  const activities = { ...createRefundActivities({ db, provider }), ...createPaymentActivities({ db, provider, risk: RISK }) };
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle, activities, dataConverter: createDataConverter(cfg) });
  return worker.runUntil(async () => fn(await env.client.workflow.start(PaymentSaga, { workflowId: paymentWorkflowId(tenantId, input.paymentId), taskQueue, args: [input] })));
}

const untilStatus = (handle: WorkflowHandle, status: PaymentStatus) =>
  eventually(`the payment to reach ${status}`, async () => (await handle.query(paymentState)).status === status);
const row = (paymentId: string) =>
  withTenant(db, tenantId, async (tx) => (await tx.query('SELECT status, failure_code FROM payments WHERE id = $1', [paymentId])).rows[0]);
const screen = (input: PaymentInput) => createPaymentActivities({ db, provider, risk: RISK }).screenPayment(input);

describe('PaymentSaga risk screening', () => {
  describe('with an amount over the maximum', () => {
    it('rejects the payment with PaymentRiskRejected before anything reaches the provider', async () => {
      const input = paymentInput({ amountMinor: RISK.maxAmountMinor + 1 });
      const { result, execution } = await runSaga(input, async (h) => ({ result: await h.result(), execution: (await h.describe()).status.name }));
      // An outcome, not a defect: the execution completes with the failed result.
      expect(execution).toBe('COMPLETED');
      expect(result).toMatchObject({ status: 'failed', failure: { reason: PAYMENT_FAILURES.riskRejected, message: expect.stringMatching(/amount_over_limit/) } });
      expect(provider.callsFor(input.paymentId)).toMatchObject({ authorize: 0, capture: 0 });
      expect(await row(input.paymentId)).toEqual({ status: 'failed', failure_code: PAYMENT_FAILURES.riskRejected });
    });

    it('lets the maximum amount itself through', async () => {
      const input = paymentInput({ amountMinor: RISK.maxAmountMinor });
      expect(await runSaga(input, (h) => h.result())).toMatchObject({ status: 'succeeded' });
      expect(provider.callsFor(input.paymentId).authorize).toBe(1);
    });
  });

  describe('with a customer paying often', () => {
    it(`holds the payment for review once the customer made ${RISK.velocityPerHour} payments within the hour`, async () => {
      const input = paymentInput();
      await earlierPayments(input.customerId, [50, 20, 1]);
      expect(await screen(input)).toEqual({ decision: 'review', reasons: ['customer_velocity'] });
      await runSaga(input, async (handle) => {
        await untilStatus(handle, 'in_review');
        expect(await row(input.paymentId)).toMatchObject({ status: 'in_review' });
        expect(provider.callsFor(input.paymentId).authorize).toBe(0);
        await handle.executeUpdate(cancelPayment);
        expect(await handle.result()).toMatchObject({ status: 'canceled' });
      });
    });

    it('clears the payment one below the limit', async () => {
      const input = paymentInput();
      await earlierPayments(input.customerId, [50, 1]);
      expect(await screen(input)).toEqual({ decision: 'clear', reasons: [] });
      expect(await runSaga(input, (h) => h.result())).toMatchObject({ status: 'succeeded' });
    });

    it('counts neither payments older than an hour nor other customers’ payments', async () => {
      const input = paymentInput();
      await earlierPayments(input.customerId, [61, 90, 600]);
      const other = newCustomer();
      await earlierPayments(other, [5, 4, 3]);
      expect(await screen(input)).toEqual({ decision: 'clear', reasons: [] });
      expect(await screen(paymentInput({ customerId: other }))).toEqual({ decision: 'review', reasons: ['customer_velocity'] });
    });
  });
});
