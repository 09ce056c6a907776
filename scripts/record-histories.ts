/**
 * `npm run histories:record`: runs every branch of every production workflow type (PaymentSaga, RefundWorkflow,
 * PaymentSagaReconciler, CreditApplication, SmokeWorkflow) on Temporal's time-skipping test server, with the activities the workers
 * register (workers/task-queues.ts) over a private, freshly migrated database and the stripe-mock sandbox, and writes
 * each execution's history to test/replay/<task queue>/<branch>.json. The replay test
 * (test/workflow/replay/replay.workflow.test.ts) replays them against the workflow code of the day: a change that is
 * not replay-safe for a workflow already running fails `npm test`.
 *
 * Record BEFORE changing a workflow (the histories are what running executions did), and again only once no
 * execution of the old code can still be running (README: Shipping a workflow change). `-- <name>...` records only
 * the branches whose file name contains one of the names (e.g. `-- refund-` or `-- credit/`).
 *
 * The histories are fetched through the production data converter (so payloads go through the encryption codec as
 * in production) and written decoded: plain JSON of test data (random ids, stripe-mock references, no applicant
 * data), no key material. The worker's identity (host name, pid) is replaced by `record-histories`.
 */
import '../test/support/quiet-temporal';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { ApplicationFailure, type WorkflowHandle } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { CreditScorer, defaultModelPath } from '../activities/credit';
import { createPaymentActivities, createRefundActivities, createSagaReconcilerActivities, FaultInjectingProvider, StripeMockSandboxProvider, stripeClient } from '../activities/payments';
import { normalizedNationalId } from '../core/credit/applicant';
import type { Config } from '../platform/config';
import { createPool, withTenant, type Pool } from '../platform/db/pool';
import { piiHash } from '../platform/pii';
import { createDataConverter } from '../platform/temporal/client';
import { TASK_QUEUE_DEFINITIONS } from '../workers/task-queues';
import { CreditApplication } from '../workflows/credit';
import { creditApplicationState, creditWorkflowId, decideApplication, type CreditApplicationInput } from '../workflows/credit/credit-application.contract';
import { PaymentSaga, PaymentSagaReconciler, RefundWorkflow } from '../workflows/payments';
import { cancelPayment, capturePayment, PAYMENT_FAILURES, paymentState, paymentWorkflowId, reviewPayment, type PaymentInput } from '../workflows/payments/payment.contract';
import { REFUND_FAILURES, refundWorkflowId } from '../workflows/payments/refund.contract';
import { SmokeWorkflow } from '../workflows/platform';
import { smokeWorkflowId } from '../workflows/platform/smoke.contract';
import { createTenant, testConfig } from '../test/support/env';
import { eventually } from '../test/support/eventually';
import globalSetup from '../test/support/global-setup';
import globalTeardown from '../test/support/global-teardown';
import { timeSkippingEnv } from '../test/support/temporal';

const ROOT = path.resolve(__dirname, '..');
const REPLAY_DIR = path.join(ROOT, 'test', 'replay');
const EventType = temporal.api.enums.v1.EventType;
const ENCRYPTED = 'binary/encrypted';

type Queue = 'payments' | 'credit' | 'platform';
interface Branch {
  queue: Queue;
  /** The file name without .json: `<workflow>-<branch>`. */
  name: string;
  /** How the execution must end (`<execution status> <result status or decision> <reason or decider>`). */
  outcome: string;
  /** Starts the execution, drives it to its end, and returns its handle. */
  run(ctx: Ctx): Promise<WorkflowHandle>;
}

interface Ctx {
  env: TestWorkflowEnvironment;
  cfg: Config;
  db: Pool;
  tenantId: string;
  /** A worker on a task queue of its own, serving `queue` with the production activities (some may be replaced). */
  withWorker<T>(queue: Queue, fn: (taskQueue: string) => Promise<T>, overrides?: Record<string, (...args: never[]) => Promise<unknown>>): Promise<T>;
  provider: FaultInjectingProvider;
}

const REVIEW_AT = 50_000;

function paymentInput(ctx: Ctx, overrides: Partial<PaymentInput> = {}): PaymentInput {
  return {
    paymentId: randomUUID(),
    tenantId: ctx.tenantId,
    customerId: `cus_${randomUUID().slice(0, 8)}`,
    amountMinor: 2500,
    currency: 'EUR',
    paymentMethod: 'pm_card_visa',
    captureMethod: 'automatic',
    reviewTimeoutSeconds: 24 * 3600,
    authorizationTtlSeconds: 7 * 24 * 3600,
    ...overrides,
  };
}

async function startPayment(ctx: Ctx, q: string, overrides: Partial<PaymentInput> = {}) {
  const input = paymentInput(ctx, overrides);
  await withTenant(ctx.db, input.tenantId, (tx) =>
    tx.query(
      `INSERT INTO payments (id, tenant_id, idempotency_key, request_hash, customer_id, amount_minor, currency, capture_method)
       VALUES ($1, $2, $3, '\\x00', $4, $5, $6, $7)`,
      [input.paymentId, input.tenantId, `key-${input.paymentId}`, input.customerId, input.amountMinor, input.currency, input.captureMethod],
    ),
  );
  const handle = await ctx.env.client.workflow.start(PaymentSaga, { workflowId: paymentWorkflowId(input.tenantId, input.paymentId), taskQueue: q, args: [input] });
  return { input, handle };
}

const settled = async (handle: WorkflowHandle) => (await handle.result().catch(() => undefined), handle);

async function untilPaymentStatus(ctx: Ctx, handle: WorkflowHandle, status: string) {
  await eventually(`the payment to be ${status}`, async () => (await handle.query(paymentState)).status === status, 120_000);
}

async function untilCancellationSeen(ctx: Ctx, handle: WorkflowHandle) {
  await eventually('the workflow to see its cancellation', async () => {
    const events = (await handle.fetchHistory()).events ?? [];
    const requested = events.findIndex((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED);
    return requested >= 0 && events.slice(requested).some((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED);
  }, 120_000);
}

/** An activity that does its real work, then holds its answer until `open()` (a cancellation arrives meanwhile). */
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

function realPaymentActivities(ctx: Ctx) {
  return { ...createPaymentActivities({ db: ctx.db, provider: ctx.provider, risk: RISK }), ...createRefundActivities({ db: ctx.db, provider: ctx.provider }) };
}
const RISK = { maxAmountMinor: 1_000_000, reviewAmountMinor: REVIEW_AT, velocityPerHour: 1000, deniedCustomers: new Set(['cus_denied']) };

/** A captured payment of `amountMinor` (its own history is not kept), for the refund branches. */
async function paid(ctx: Ctx, q: string, amountMinor = 1000) {
  const { input, handle } = await startPayment(ctx, q, { amountMinor });
  const result = await handle.result();
  if (result.status !== 'succeeded') throw new Error(`the payment to refund did not succeed: ${JSON.stringify(result)}`);
  return input.paymentId;
}

function startRefund(ctx: Ctx, q: string, paymentId: string, amountMinor: number) {
  const refundId = randomUUID();
  return ctx.env.client.workflow.start(RefundWorkflow, {
    workflowId: refundWorkflowId(ctx.tenantId, refundId),
    taskQueue: q,
    args: [{ refundId, tenantId: ctx.tenantId, paymentId, amountMinor, idempotencyKey: refundId }],
  });
}

const payment = (name: string, outcome: string, run: Branch['run']): Branch => ({ queue: 'payments', name: `payment-${name}`, outcome, run });
const refund = (name: string, outcome: string, run: Branch['run']): Branch => ({ queue: 'payments', name: `refund-${name}`, outcome, run });
const creditApp = (name: string, outcome: string, run: Branch['run']): Branch => ({ queue: 'credit', name: `credit-${name}`, outcome, run });
const smoke = (name: string, outcome: string, run: Branch['run']): Branch => ({ queue: 'platform', name: `smoke-${name}`, outcome, run });
const sagaReconciler = (name: string, outcome: string, run: Branch['run']): Branch => ({ queue: 'payments', name: `saga-reconciler-${name}`, outcome, run });

/** A pending payment the API committed a minute ago and never started (it died in between): the reconciler's work. */
async function orphanedPayment(ctx: Ctx) {
  const input = paymentInput(ctx);
  await withTenant(ctx.db, input.tenantId, (tx) =>
    tx.query(
      `INSERT INTO payments (id, tenant_id, idempotency_key, request_hash, customer_id, amount_minor, currency, capture_method, payment_method, created_at)
       VALUES ($1, $2, $3, '\\x00', $4, $5, $6, $7, $8, now() - interval '1 minute')`,
      [input.paymentId, input.tenantId, `key-${input.paymentId}`, input.customerId, input.amountMinor, input.currency, input.captureMethod, input.paymentMethod],
    ),
  );
  return input;
}

/** What the recorded execution ended with, in the form of Branch.outcome. */
async function outcomeOf(handle: WorkflowHandle): Promise<string> {
  const result = (await handle.result().catch(() => undefined)) as { status?: string; decision?: string; decidedBy?: string; failure?: { reason?: string } } | undefined;
  const execution = (await handle.describe()).status.name;
  return [execution, result?.status ?? result?.decision, result?.failure?.reason ?? result?.decidedBy].filter(Boolean).join(' ');
}
const F = PAYMENT_FAILURES;

const BRANCHES: Branch[] = [
  payment('succeeded', 'COMPLETED succeeded', (ctx) => ctx.withWorker('payments', async (q) => settled((await startPayment(ctx, q)).handle))),
  payment('declined', `COMPLETED failed ${F.declined}`, (ctx) => ctx.withWorker('payments', async (q) => settled((await startPayment(ctx, q, { paymentMethod: 'pm_card_chargeDeclined' })).handle))),
  payment('risk-rejected', `COMPLETED failed ${F.riskRejected}`, (ctx) => ctx.withWorker('payments', async (q) => settled((await startPayment(ctx, q, { customerId: 'cus_denied' })).handle))),
  payment('provider-unavailable', `COMPLETED failed ${F.providerUnavailable}`, (ctx) =>
    ctx.withWorker('payments', async (q) => {
      const input = paymentInput(ctx);
      ctx.provider.inject(input.paymentId, { method: 'authorize', kind: 'unavailable', times: Infinity });
      return settled((await startPayment(ctx, q, { paymentId: input.paymentId })).handle);
    }),
  ),
  payment('ledger-failed', `COMPLETED failed ${F.ledgerFailed}`, async (ctx) => {
    // A tenant without a chart of accounts: the hold cannot be placed after the charge, which is refunded.
    const tenantId = await createTenant(ctx.db);
    return ctx.withWorker('payments', async (q) => settled((await startPayment(ctx, q, { tenantId })).handle));
  }),
  payment('review-approved', 'COMPLETED succeeded', (ctx) =>
    ctx.withWorker('payments', async (q) => {
      const { handle } = await startPayment(ctx, q, { amountMinor: REVIEW_AT });
      await untilPaymentStatus(ctx, handle, 'in_review');
      await handle.executeUpdate(reviewPayment, { args: [{ decision: 'approve', reviewerId: 'ops-1' }] });
      return settled(handle);
    }),
  ),
  payment('review-rejected', `COMPLETED failed ${F.reviewRejected}`, (ctx) =>
    ctx.withWorker('payments', async (q) => {
      const { handle } = await startPayment(ctx, q, { amountMinor: REVIEW_AT });
      await untilPaymentStatus(ctx, handle, 'in_review');
      await handle.executeUpdate(reviewPayment, { args: [{ decision: 'reject', reviewerId: 'ops-1' }] });
      return settled(handle);
    }),
  ),
  payment('review-timed-out', `COMPLETED failed ${F.reviewTimedOut}`, (ctx) =>
    ctx.withWorker('payments', async (q) => {
      const { handle } = await startPayment(ctx, q, { amountMinor: REVIEW_AT, reviewTimeoutSeconds: 3600 });
      await untilPaymentStatus(ctx, handle, 'in_review');
      await ctx.env.sleep('2 hours');
      return settled(handle);
    }),
  ),
  payment('review-canceled', 'COMPLETED canceled', (ctx) =>
    ctx.withWorker('payments', async (q) => {
      const { handle } = await startPayment(ctx, q, { amountMinor: REVIEW_AT, captureMethod: 'manual' });
      await untilPaymentStatus(ctx, handle, 'in_review');
      await handle.executeUpdate(cancelPayment);
      return settled(handle);
    }),
  ),
  payment('manual-capture', 'COMPLETED succeeded', (ctx) =>
    ctx.withWorker('payments', async (q) => {
      const { handle } = await startPayment(ctx, q, { captureMethod: 'manual' });
      await untilPaymentStatus(ctx, handle, 'authorized');
      await handle.executeUpdate(capturePayment);
      return settled(handle);
    }),
  ),
  payment('authorization-expired', 'COMPLETED expired', (ctx) =>
    ctx.withWorker('payments', async (q) => {
      const { handle } = await startPayment(ctx, q, { captureMethod: 'manual', authorizationTtlSeconds: 24 * 3600 });
      await untilPaymentStatus(ctx, handle, 'authorized');
      await ctx.env.sleep('25 hours');
      return settled(handle);
    }),
  ),
  payment('canceled-before-capture', 'COMPLETED canceled', (ctx) =>
    ctx.withWorker('payments', async (q) => {
      const { handle } = await startPayment(ctx, q, { captureMethod: 'manual' });
      await untilPaymentStatus(ctx, handle, 'authorized');
      await handle.executeUpdate(cancelPayment);
      return settled(handle);
    }),
  ),
  payment('workflow-cancelled-in-review', 'CANCELLED', (ctx) =>
    ctx.withWorker('payments', async (q) => {
      const { handle } = await startPayment(ctx, q, { amountMinor: REVIEW_AT });
      await untilPaymentStatus(ctx, handle, 'in_review');
      await handle.cancel();
      return settled(handle);
    }),
  ),
  payment('workflow-cancelled-awaiting-capture', 'CANCELLED', (ctx) =>
    ctx.withWorker('payments', async (q) => {
      const { handle } = await startPayment(ctx, q, { captureMethod: 'manual' });
      await untilPaymentStatus(ctx, handle, 'authorized');
      await handle.cancel();
      return settled(handle);
    }),
  ),
  payment('workflow-cancelled-while-posting', 'CANCELLED', (ctx) => {
    const posting = held(realPaymentActivities(ctx).postPaymentEntry);
    return ctx.withWorker(
      'payments',
      async (q) => {
        const { handle } = await startPayment(ctx, q);
        await posting.reached;
        await handle.cancel();
        await untilCancellationSeen(ctx, handle);
        posting.open();
        return settled(handle);
      },
      { postPaymentEntry: posting.fn },
    );
  }),
  payment('needs-attention', `COMPLETED needs_attention ${F.ledgerFailed}`, (ctx) =>
    ctx.withWorker(
      'payments',
      async (q) => {
        const input = paymentInput(ctx);
        ctx.provider.inject(input.paymentId, { method: 'refund', kind: 'unavailable', times: Infinity });
        return settled((await startPayment(ctx, q, { paymentId: input.paymentId })).handle);
      },
      {
        completePayment: async () => {
          throw ApplicationFailure.nonRetryable('cannot complete (injected)', 'LedgerRejected');
        },
      },
    ),
  ),

  refund('full', 'COMPLETED succeeded', (ctx) => ctx.withWorker('payments', async (q) => settled(await startRefund(ctx, q, await paid(ctx, q), 1000)))),
  refund('partial', 'COMPLETED succeeded', (ctx) => ctx.withWorker('payments', async (q) => settled(await startRefund(ctx, q, await paid(ctx, q), 300)))),
  refund('rejected', `COMPLETED rejected ${REFUND_FAILURES.rejected}`, (ctx) => ctx.withWorker('payments', async (q) => settled(await startRefund(ctx, q, await paid(ctx, q), 1001)))),
  refund('provider-failed', `COMPLETED failed ${REFUND_FAILURES.providerFailed}`, (ctx) =>
    ctx.withWorker('payments', async (q) => {
      const paymentId = await paid(ctx, q);
      ctx.provider.inject(paymentId, { method: 'refund', kind: 'decline', times: 1 }); // an outage is waited out, a refusal fails it
      return settled(await startRefund(ctx, q, paymentId, 400));
    }),
  ),
  refund('workflow-cancelled-before-provider', 'CANCELLED', (ctx) => {
    const reserving = held(realPaymentActivities(ctx).reserveRefund);
    return ctx.withWorker(
      'payments',
      async (q) => {
        const paymentId = await paid(ctx, q);
        const handle = await startRefund(ctx, q, paymentId, 600);
        await reserving.reached;
        await handle.cancel();
        await untilCancellationSeen(ctx, handle);
        reserving.open();
        return settled(handle);
      },
      { reserveRefund: reserving.fn },
    );
  }),
  refund('workflow-cancelled-after-provider', 'COMPLETED succeeded', (ctx) => {
    const atProvider = held(realPaymentActivities(ctx).refundAtProvider);
    return ctx.withWorker(
      'payments',
      async (q) => {
        const paymentId = await paid(ctx, q);
        const handle = await startRefund(ctx, q, paymentId, 600);
        await atProvider.reached;
        await handle.cancel();
        await untilCancellationSeen(ctx, handle);
        atProvider.open();
        return settled(handle);
      },
      { refundAtProvider: atProvider.fn },
    );
  }),

  creditApp('auto-approved', 'COMPLETED approved auto', (ctx) => ctx.withWorker('credit', async (q) => settled(await startCredit(ctx, q, BANDS.approveAll)))),
  creditApp('auto-declined', 'COMPLETED declined auto', (ctx) => ctx.withWorker('credit', async (q) => settled(await startCredit(ctx, q, BANDS.declineAll)))),
  creditApp('kyc-declined', 'COMPLETED declined kyc', (ctx) => ctx.withWorker('credit', async (q) => settled(await startCredit(ctx, q, BANDS.approveAll, { familyName: '  ' })))),
  creditApp('underwriter-approved', 'COMPLETED approved underwriter', (ctx) => ctx.withWorker('credit', (q) => underwriter(ctx, q, { decision: 'approve', underwriterId: 'uw-1', approvedLimitMinor: 4_000_000 }))),
  creditApp('underwriter-declined', 'COMPLETED declined underwriter', (ctx) => ctx.withWorker('credit', (q) => underwriter(ctx, q, { decision: 'decline', underwriterId: 'uw-1' }))),
  creditApp('escalated-approved', 'COMPLETED approved underwriter', (ctx) =>
    ctx.withWorker('credit', async (q) => {
      const handle = await startCredit(ctx, q, BANDS.reviewAll);
      await untilCreditStatus(ctx, handle, 'in_review');
      await ctx.env.sleep(`${CREDIT_REVIEW + 60} seconds`);
      await untilCreditStatus(ctx, handle, 'escalated');
      await handle.executeUpdate(decideApplication, { args: [{ decision: 'approve', underwriterId: 'uw-2' }] });
      return settled(handle);
    }),
  ),
  creditApp('review-timed-out', 'COMPLETED declined review_timeout', (ctx) =>
    ctx.withWorker('credit', async (q) => {
      const handle = await startCredit(ctx, q, BANDS.reviewAll);
      await untilCreditStatus(ctx, handle, 'in_review');
      return settled(handle);
    }),
  ),

  sagaReconciler('started', 'COMPLETED', async (ctx) => {
    const orphan = await orphanedPayment(ctx);
    // The activity starts sagas through a client: the test server's here, the worker's in production.
    const { startOrphanedPaymentSagas } = createSagaReconcilerActivities({ db: ctx.db, temporal: ctx.env.client });
    return ctx.withWorker(
      'payments',
      async (q) => {
        const handle = await ctx.env.client.workflow.start(PaymentSagaReconciler, {
          workflowId: `saga-reconciler-${randomUUID()}`,
          taskQueue: q,
          args: [{ graceSeconds: 30, windowHours: 24, limit: 200, reviewTimeoutSeconds: 24 * 3600, authorizationTtlSeconds: 7 * 24 * 3600 }],
        });
        const result = await handle.result();
        if (!result.started.includes(orphan.paymentId)) throw new Error(`the reconciler did not start the orphan's saga: ${JSON.stringify(result)}`);
        await ctx.env.client.workflow.getHandle(paymentWorkflowId(orphan.tenantId, orphan.paymentId)).result();
        return handle;
      },
      { startOrphanedPaymentSagas },
    );
  }),

  smoke('recorded', 'COMPLETED', (ctx) => ctx.withWorker('platform', (q) => runSmoke(ctx, q, {}))),
  smoke('delayed', 'COMPLETED', (ctx) => ctx.withWorker('platform', (q) => runSmoke(ctx, q, { delaySeconds: 3600 }))),
  smoke('failed', 'FAILED', (ctx) => ctx.withWorker('platform', (q) => runSmoke(ctx, q, { fail: true }))),
];

const CREDIT_REVIEW = 48 * 3600;
const CREDIT_ESCALATION = 24 * 3600;
const BANDS = {
  approveAll: { approveBelow: 0.999, declineAtOrAbove: 0.9999 },
  declineAll: { approveBelow: 0.00001, declineAtOrAbove: 0.0001 },
  reviewAll: { approveBelow: 0.00001, declineAtOrAbove: 0.9999 },
};
/** A made-up applicant with a recent serious delinquency (test data). */
const APPLICANT = { givenName: 'Mei', familyName: 'Lin', dateOfBirth: '1988-04-12', country: 'TW', address: { line1: '7 Xinyi Road', city: 'Taipei', postalCode: '110' } };
const PROFILE = {
  currency: 'TWD',
  creditLimitMinor: 3_000_000,
  repaymentStatus: [3, 2, 2, 2, 2, 2],
  billAmountsMinor: [2_900_000, 2_850_000, 2_800_000, 2_700_000, 2_600_000, 2_500_000],
  paymentAmountsMinor: [0, 0, 0, 0, 0, 0],
};

async function startCredit(ctx: Ctx, q: string, band: { approveBelow: number; declineAtOrAbove: number }, applicantOverrides: Record<string, unknown> = {}) {
  const id = randomUUID();
  const applicant = { ...APPLICANT, nationalId: `A${randomUUID().replace(/\D/g, '').slice(0, 9).padEnd(9, '0')}`, ...applicantOverrides };
  const cfg = ctx.cfg;
  await withTenant(ctx.db, ctx.tenantId, (tx) =>
    tx.query(
      `INSERT INTO credit_applications (id, tenant_id, idempotency_key, request_hash, submitted_by, applicant, national_id_hash, credit_profile, requested_limit_minor, currency)
       VALUES ($1, $2, $3, '\\x00', $4, $5, $6, $7, 5000000, 'TWD')`,
      [id, ctx.tenantId, `key-${id}`, `user:${randomUUID()}`, applicant, piiHash(cfg.PII_HASH_KEY, normalizedNationalId(applicant.country, applicant.nationalId)), PROFILE],
    ),
  );
  const input: CreditApplicationInput = {
    applicationId: id,
    tenantId: ctx.tenantId,
    requestedLimitMinor: 5_000_000,
    currency: 'TWD',
    policy: { ...band, reviewTimeoutSeconds: CREDIT_REVIEW, escalationTimeoutSeconds: CREDIT_ESCALATION },
  };
  return ctx.env.client.workflow.start(CreditApplication, { workflowId: creditWorkflowId(ctx.tenantId, id), taskQueue: q, args: [input] });
}

async function untilCreditStatus(ctx: Ctx, handle: WorkflowHandle, status: string) {
  await eventually(`the application to be ${status}`, async () => (await handle.query(creditApplicationState)).status === status, 120_000);
}

async function underwriter(ctx: Ctx, q: string, decision: { decision: 'approve' | 'decline'; underwriterId: string; approvedLimitMinor?: number }) {
  const handle = await startCredit(ctx, q, BANDS.reviewAll);
  await untilCreditStatus(ctx, handle, 'in_review');
  await handle.executeUpdate(decideApplication, { args: [decision] });
  return settled(handle);
}

async function runSmoke(ctx: Ctx, q: string, opts: { delaySeconds?: number; fail?: boolean }) {
  const workflowId = smokeWorkflowId(ctx.tenantId, randomUUID());
  const handle = await ctx.env.client.workflow.start(SmokeWorkflow, { workflowId, taskQueue: q, args: [{ tenantId: ctx.tenantId, message: 'replay recording', ...opts }] });
  return settled(handle);
}

/** The history as plain JSON: the SDK's own protobuf object form (bytes base64, 64-bit numbers and enums as strings). */
const TO_OBJECT = { longs: String, enums: String, bytes: String };

/** Replaces every encrypted payload of the history (object form) by its plaintext, and the worker identity by a constant. */
async function decoded(json: unknown, codec: PayloadCodec): Promise<unknown> {
  if (Array.isArray(json)) return Promise.all(json.map((v) => decoded(v, codec)));
  if (!json || typeof json !== 'object') return json;
  const obj = json as Record<string, unknown>;
  const metadata = obj.metadata as Record<string, string> | undefined;
  if (metadata && typeof metadata === 'object' && typeof metadata.encoding === 'string') {
    // Search attributes are never encoded; everything else went through the codec.
    const encrypted = Buffer.from(metadata.encoding, 'base64').toString() === ENCRYPTED;
    const payload = temporal.api.common.v1.Payload.fromObject(encrypted ? (await codec.decode([temporal.api.common.v1.Payload.fromObject(obj)]))[0]! : obj);
    // Stack traces name the recording machine's checkout: keep them relative to the repository.
    if (payload.data?.length) payload.data = Buffer.from(Buffer.from(payload.data).toString('utf8').replaceAll(`${ROOT}/`, ''));
    return temporal.api.common.v1.Payload.toObject(payload, TO_OBJECT);
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) out[k] = k === 'identity' && typeof v === 'string' ? 'record-histories' : await decoded(v, codec);
  return out;
}

async function main() {
  const only = process.argv.slice(2);
  const chosen = BRANCHES.filter((b) => !only.length || only.some((o) => `${b.queue}/${b.name}`.includes(o)));
  if (!chosen.length) throw new Error(`no branch matches ${only.join(', ')}`);
  await globalSetup(); // a private database, task-queue prefix and keys, as a test run gets
  try {
    await record(chosen);
  } finally {
    await globalTeardown();
  }
}

async function record(chosen: Branch[]) {
  const cfg = testConfig();
  const dataConverter = createDataConverter(cfg);
  const codec = dataConverter.payloadCodecs![0]!;
  // Bundled as a production worker bundles them (workers/create-workers.ts): the queue's workflowsPath, with the
  // failure converter, which decides how workflow failures are written into the history.
  const bundles = new Map<Queue, WorkflowBundleWithSourceMap>();
  const quiet = { info() {}, warn() {}, error() {}, debug() {}, trace() {}, log() {} };
  const [env] = await Promise.all([
    timeSkippingEnv(cfg),
    ...(['payments', 'credit', 'platform'] as const).map(async (q) =>
      bundles.set(q, await bundleWorkflowCode({ workflowsPath: TASK_QUEUE_DEFINITIONS[q]!.workflowsPath, failureConverterPath: dataConverter.failureConverterPath, logger: quiet })),
    ),
  ]);
  const db = createPool(cfg.DATABASE_URL, 6);
  const scorer = await CreditScorer.load(defaultModelPath());
  try {
    const provider = new FaultInjectingProvider(new StripeMockSandboxProvider(stripeClient({ mockUrl: cfg.STRIPE_MOCK_URL }), db));
    const tenantId = await createTenant(db);
    await withTenant(db, tenantId, (tx) => tx.query('SELECT create_default_chart($1)', [tenantId]));
    const ctx: Ctx = {
      env,
      cfg,
      db,
      tenantId,
      provider,
      async withWorker(queue, fn, overrides = {}) {
        const taskQueue = `${cfg.TEMPORAL_TASK_QUEUE_PREFIX}${queue}-${randomUUID()}`;
        const real = TASK_QUEUE_DEFINITIONS[queue]!.activities({ db, provider, risk: RISK, scorer });
        const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: bundles.get(queue)!, activities: { ...real, ...overrides }, dataConverter });
        return worker.runUntil(fn(taskQueue));
      },
    };
    for (const branch of chosen) {
      const started = Date.now();
      const handle = await branch.run(ctx);
      const outcome = await outcomeOf(handle);
      if (outcome !== branch.outcome) throw new Error(`${branch.name} ended ${outcome}, not ${branch.outcome}: not recorded`);
      const history = await handle.fetchHistory();
      const asObject = temporal.api.history.v1.History.toObject(temporal.api.history.v1.History.fromObject(history), TO_OBJECT);
      const text = JSON.stringify(await decoded(asObject, codec), null, 2);
      if (text.includes(Buffer.from(ENCRYPTED).toString('base64'))) throw new Error(`${branch.name}: an encrypted payload is left in the history`);
      const file = path.join(REPLAY_DIR, branch.queue, `${branch.name}.json`);
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, `${text}\n`);
      console.log(`[histories] ${path.relative(ROOT, file)}: ${history.events?.length ?? 0} events, ${outcome} (${Date.now() - started} ms)`);
    }
  } finally {
    await env.teardown();
    await db.end();
    await scorer.close();
  }
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(`[histories] recording failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      process.exit(1);
    },
  );
}
