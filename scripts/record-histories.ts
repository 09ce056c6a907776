/**
 * `npm run histories:record`: runs every branch of every production workflow type (PaymentSaga, RefundWorkflow,
 * PaymentSagaReconciler, CreditApplication, SmokeWorkflow, InvoiceLifecycle, PeriodClose) on Temporal's time-skipping
 * test server, with the activities the workers register (workers/task-queues.ts) over a private, freshly migrated
 * database and the stripe-mock sandbox, and writes each execution's history to test/replay/<task queue>/<branch>.json.
 * The replay test (test/workflow/replay/replay.workflow.test.ts) replays them against the workflow code of the day: a
 * change that is not replay-safe for a workflow already running fails `npm test`.
 *
 * A committed history is what executions of its day did, and some may still be running: it is never overwritten.
 * The recorder refuses (before recording anything) when a chosen branch's file exists; a branch whose path a
 * `patched()` change altered is recorded under a new name (`<branch>@<change>`, e.g. `payment-succeeded@waits-for-
 * customer`), next to the history of the old path, which stays. `--force` overwrites: only to retire an old path
 * deliberately, once no execution of it can still be running (README: Shipping a workflow change). `-- <name>...`
 * records only the branches whose file name contains one of the names (e.g. `-- refund-` or `-- credit/`).
 *
 * The PaymentSaga branches of 3-D Secure and asynchronous (processing) payments run against the Stripe double
 * (test/support/stripe-double: stripe-mock keeps no intent state): the recorder completes the authentication or
 * settles the payment in the double, and signals the saga as the webhook route does.
 *
 * The histories are fetched through the production data converter (so payloads go through the encryption codec as
 * in production) and written decoded: plain JSON of test data (random ids, stripe-mock references, no applicant
 * data), no key material. The worker's identity (host name, pid) is replaced by `record-histories`.
 */
import '../test/support/quiet-temporal';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { ApplicationFailure, Client, type WorkflowHandle } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { CreditScorer, defaultModelPath } from '../activities/credit';
import { createInvoiceActivities } from '../activities/invoices';
import { createPaymentActivities, createRefundActivities, createSagaReconcilerActivities, FaultInjectingProvider, StripeMockSandboxProvider, StripeProvider, stripeClient, type PaymentProvider } from '../activities/payments';
import { normalizedNationalId } from '../core/credit/applicant';
import type { Config } from '../platform/config';
import { createPool, withTenant, type Pool } from '../platform/db/pool';
import { piiHash } from '../platform/pii';
import { createDataConverter } from '../platform/temporal/client';
import { TASK_QUEUE_DEFINITIONS } from '../workers/task-queues';
import { CreditApplication } from '../workflows/credit';
import { creditApplicationState, creditWorkflowId, decideApplication, type CreditApplicationInput } from '../workflows/credit/credit-application.contract';
import { PaymentSaga, PaymentSagaReconciler, RefundWorkflow } from '../workflows/payments';
import { WAITS_FOR_CUSTOMER_OR_PROVIDER } from '../workflows/payments/customer-action';
import { cancelPayment, capturePayment, PAYMENT_FAILURES, paymentState, paymentWorkflowId, providerEvent, reviewPayment, type PaymentInput } from '../workflows/payments/payment.contract';
import { REFUND_FAILURES, refundWorkflowId } from '../workflows/payments/refund.contract';
import { SmokeWorkflow } from '../workflows/platform';
import { smokeWorkflowId } from '../workflows/platform/smoke.contract';
import { createTenant, testConfig } from '../test/support/env';
import { eventually } from '../test/support/eventually';
import globalSetup from '../test/support/global-setup';
import globalTeardown from '../test/support/global-teardown';
import { startStripeDouble, type StripeDouble } from '../test/support/stripe-double';
import { timeSkippingEnv } from '../test/support/temporal';
import { patchIdsOf } from '../test/workflow/replay/histories';
import { insertPaymentRow, paymentInput as newPaymentInput } from '../test/support/payment-rows';
import { createDraft } from '../modules/invoices';
import { InvoiceLifecycle } from '../workflows/invoices';
import {
  creditInvoice,
  DEFAULT_INVOICE_OPTIONS,
  invoiceWorkflowId,
  issueInvoice,
  recordInvoicePayment,
  updateDraft,
  voidInvoice,
  writeOffInvoice,
  type InvoiceDraft,
} from '../workflows/invoices/invoice-lifecycle.contract';
import { PeriodClose } from '../workflows/accounting';
import { periodCloseProgress, periodCloseWorkflowId, signOffClose, type CloseStep, type PeriodCloseInput, type PeriodCloseState } from '../workflows/accounting/period-close.contract';
import { money, type Currency } from '../core/money';
import { postJournalEntry } from '../platform/ledger';
import { tenantWithChart } from '../test/support/ledger';
import { updateRefusal } from '../test/support/updates';

const ROOT = path.resolve(__dirname, '..');
const REPLAY_DIR = path.join(ROOT, 'test', 'replay');
const EventType = temporal.api.enums.v1.EventType;
const ENCRYPTED = 'binary/encrypted';

type Queue = 'payments' | 'credit' | 'platform' | 'invoices' | 'accounting';
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
  /**
   * A worker on a task queue of its own, serving `queue` with the production activities (some may be replaced), over
   * stripe-mock (`provider`) unless another provider is given.
   */
  withWorker<T>(queue: Queue, fn: (taskQueue: string) => Promise<T>, overrides?: Record<string, (...args: never[]) => Promise<unknown>>, provider?: PaymentProvider): Promise<T>;
  provider: FaultInjectingProvider;
  /** The Stripe double, for intents that wait (3-D Secure, processing); no webhook endpoint: the recorder signals. */
  double: StripeDouble;
}

/**
 * The suffix of the histories recorded since PaymentSaga waits for the customer or the provider
 * (patched(WAITS_FOR_CUSTOMER_OR_PROVIDER)): a branch whose execution records that marker is named with it, the
 * history of the same branch before the change (no suffix) is kept.
 */
const WAITS = '@waits-for-customer';

const REVIEW_AT = 50_000;

function paymentInput(ctx: Ctx, overrides: Partial<PaymentInput> = {}): PaymentInput {
  return newPaymentInput(ctx.tenantId, overrides);
}

async function startPayment(ctx: Ctx, q: string, overrides: Partial<PaymentInput> = {}) {
  const input = paymentInput(ctx, overrides);
  await insertPaymentRow(ctx.db, input);
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
  const result = (await handle.result().catch(() => undefined)) as
    | { status?: string; decision?: string; outcome?: string; decidedBy?: string; signedOffBy?: string; failure?: { reason?: string } }
    | undefined;
  const execution = (await handle.describe()).status.name;
  return [execution, result?.status ?? result?.decision ?? result?.outcome, result?.failure?.reason ?? result?.decidedBy ?? result?.signedOffBy].filter(Boolean).join(' ');
}
const F = PAYMENT_FAILURES;

/** A PaymentSaga over the Stripe double: its intents wait for the customer (3-D Secure) or settle later (processing). */
function withDouble<T>(ctx: Ctx, fn: (q: string) => Promise<T>, provider: PaymentProvider = new StripeProvider(ctx.double.client())) {
  return ctx.withWorker('payments', fn, {}, provider);
}
const THREE_D_SECURE = { paymentMethod: 'pm_card_threeDSecure2Required', customerActionTimeoutSeconds: 3600 };
const PROCESSING = { paymentMethod: 'pm_double_processing' };
const intentOf = (ctx: Ctx, paymentId: string) => [...ctx.double.book.intents.values()].find((i) => i.metadata.finflow_payment_id === paymentId)!.id;
/** What the webhook route does on a Stripe event for the intent: wake the saga (it then asks the provider). */
const webhook = (handle: WorkflowHandle, type: string) => handle.signal(providerEvent, { eventId: `evt_${randomUUID().replace(/-/g, '').slice(0, 24)}`, type });

/** A provider whose intent moves on (and whose webhook reaches the saga) while the authorisation's stale answer is on its way. */
class EventBeforeWait extends StripeProvider {
  constructor(private readonly ctx: Ctx) {
    super(ctx.double.client());
  }
  override async authorize(input: Parameters<StripeProvider['authorize']>[0]) {
    const answer = await super.authorize(input);
    this.ctx.double.book.completeAuthentication(answer.providerRef, 'succeeds');
    await webhook(this.ctx.env.client.workflow.getHandle(paymentWorkflowId(this.ctx.tenantId, input.paymentId)), 'payment_intent.succeeded');
    return answer;
  }
}

/** The branches of the wait for the customer or the provider (customer-action.ts). */
const WAITING_PAYMENTS: Branch[] = [
  payment(`3ds-succeeded${WAITS}`, 'COMPLETED succeeded', (ctx) =>
    withDouble(ctx, async (q) => {
      const { input, handle } = await startPayment(ctx, q, THREE_D_SECURE);
      await untilPaymentStatus(ctx, handle, 'requires_action');
      ctx.double.book.completeAuthentication(intentOf(ctx, input.paymentId), 'succeeds');
      await webhook(handle, 'payment_intent.succeeded');
      return settled(handle);
    }),
  ),
  payment(`3ds-manual-capture${WAITS}`, 'COMPLETED succeeded', (ctx) =>
    withDouble(ctx, async (q) => {
      const { input, handle } = await startPayment(ctx, q, { ...THREE_D_SECURE, captureMethod: 'manual' });
      await untilPaymentStatus(ctx, handle, 'requires_action');
      ctx.double.book.completeAuthentication(intentOf(ctx, input.paymentId), 'succeeds');
      await webhook(handle, 'payment_intent.amount_capturable_updated');
      await untilPaymentStatus(ctx, handle, 'authorized');
      await handle.executeUpdate(capturePayment);
      return settled(handle);
    }),
  ),
  payment(`3ds-webhook-lost${WAITS}`, 'COMPLETED succeeded', (ctx) =>
    withDouble(ctx, async (q) => {
      const { input, handle } = await startPayment(ctx, q, THREE_D_SECURE);
      await untilPaymentStatus(ctx, handle, 'requires_action');
      ctx.double.book.completeAuthentication(intentOf(ctx, input.paymentId), 'succeeds'); // and nobody tells the saga: it asks at the deadline
      return settled(handle);
    }),
  ),
  payment(`3ds-event-before-wait${WAITS}`, 'COMPLETED succeeded', (ctx) => withDouble(ctx, async (q) => settled((await startPayment(ctx, q, THREE_D_SECURE)).handle), new EventBeforeWait(ctx))),
  payment(`3ds-abandoned${WAITS}`, 'COMPLETED expired', (ctx) =>
    withDouble(ctx, async (q) => {
      const { handle } = await startPayment(ctx, q, THREE_D_SECURE);
      await untilPaymentStatus(ctx, handle, 'requires_action');
      return settled(handle); // the customer never authenticates: the server skips time to the deadline
    }),
  ),
  payment(`3ds-failed${WAITS}`, `COMPLETED failed ${F.declined}`, (ctx) =>
    withDouble(ctx, async (q) => {
      const { input, handle } = await startPayment(ctx, q, THREE_D_SECURE);
      await untilPaymentStatus(ctx, handle, 'requires_action');
      ctx.double.book.completeAuthentication(intentOf(ctx, input.paymentId), 'fails');
      await webhook(handle, 'payment_intent.payment_failed');
      return settled(handle);
    }),
  ),
  payment(`3ds-canceled${WAITS}`, 'COMPLETED canceled', (ctx) =>
    withDouble(ctx, async (q) => {
      const { handle } = await startPayment(ctx, q, THREE_D_SECURE);
      await untilPaymentStatus(ctx, handle, 'requires_action');
      await handle.executeUpdate(cancelPayment);
      return settled(handle);
    }),
  ),
  payment(`workflow-cancelled-awaiting-customer${WAITS}`, 'CANCELLED', (ctx) =>
    withDouble(ctx, async (q) => {
      const { handle } = await startPayment(ctx, q, THREE_D_SECURE);
      await untilPaymentStatus(ctx, handle, 'requires_action');
      await handle.cancel();
      return settled(handle);
    }),
  ),
  payment(`processing-succeeded${WAITS}`, 'COMPLETED succeeded', (ctx) =>
    withDouble(ctx, async (q) => {
      const { input, handle } = await startPayment(ctx, q, PROCESSING);
      await untilPaymentStatus(ctx, handle, 'processing');
      ctx.double.book.settleProcessing(intentOf(ctx, input.paymentId), 'succeeds');
      await webhook(handle, 'payment_intent.succeeded');
      return settled(handle);
    }),
  ),
  payment(`processing-rechecked${WAITS}`, 'COMPLETED succeeded', (ctx) =>
    withDouble(ctx, async (q) => {
      const { input, handle } = await startPayment(ctx, q, PROCESSING);
      await untilPaymentStatus(ctx, handle, 'processing');
      ctx.double.book.settleProcessing(intentOf(ctx, input.paymentId), 'succeeds'); // the webhook is lost: the saga asks again hours later
      return settled(handle);
    }),
  ),
  payment(`processing-failed${WAITS}`, `COMPLETED failed ${F.declined}`, (ctx) =>
    withDouble(ctx, async (q) => {
      const { input, handle } = await startPayment(ctx, q, PROCESSING);
      await untilPaymentStatus(ctx, handle, 'processing');
      ctx.double.book.settleProcessing(intentOf(ctx, input.paymentId), 'fails');
      await webhook(handle, 'payment_intent.payment_failed');
      return settled(handle);
    }),
  ),
];

const BRANCHES: Branch[] = [
  payment(`succeeded${WAITS}`, 'COMPLETED succeeded', (ctx) => ctx.withWorker('payments', async (q) => settled((await startPayment(ctx, q)).handle))),
  payment('declined', `COMPLETED failed ${F.declined}`, (ctx) => ctx.withWorker('payments', async (q) => settled((await startPayment(ctx, q, { paymentMethod: 'pm_card_chargeDeclined' })).handle))),
  payment('risk-rejected', `COMPLETED failed ${F.riskRejected}`, (ctx) => ctx.withWorker('payments', async (q) => settled((await startPayment(ctx, q, { customerId: 'cus_denied' })).handle))),
  payment('provider-unavailable', `COMPLETED failed ${F.providerUnavailable}`, (ctx) =>
    ctx.withWorker('payments', async (q) => {
      const input = paymentInput(ctx);
      ctx.provider.inject(input.paymentId, { method: 'authorize', kind: 'unavailable', times: Infinity });
      return settled((await startPayment(ctx, q, { paymentId: input.paymentId })).handle);
    }),
  ),
  payment(`ledger-failed${WAITS}`, `COMPLETED failed ${F.ledgerFailed}`, async (ctx) => {
    // A tenant without a chart of accounts: the hold cannot be placed after the charge, which is refunded.
    const tenantId = await createTenant(ctx.db);
    return ctx.withWorker('payments', async (q) => settled((await startPayment(ctx, q, { tenantId })).handle));
  }),
  payment(`review-approved${WAITS}`, 'COMPLETED succeeded', (ctx) =>
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
  payment(`manual-capture${WAITS}`, 'COMPLETED succeeded', (ctx) =>
    ctx.withWorker('payments', async (q) => {
      const { handle } = await startPayment(ctx, q, { captureMethod: 'manual' });
      await untilPaymentStatus(ctx, handle, 'authorized');
      await handle.executeUpdate(capturePayment);
      return settled(handle);
    }),
  ),
  payment(`authorization-expired${WAITS}`, 'COMPLETED expired', (ctx) =>
    ctx.withWorker('payments', async (q) => {
      const { handle } = await startPayment(ctx, q, { captureMethod: 'manual', authorizationTtlSeconds: 24 * 3600 });
      await untilPaymentStatus(ctx, handle, 'authorized');
      await ctx.env.sleep('25 hours');
      return settled(handle);
    }),
  ),
  payment(`canceled-before-capture${WAITS}`, 'COMPLETED canceled', (ctx) =>
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
  payment(`workflow-cancelled-awaiting-capture${WAITS}`, 'CANCELLED', (ctx) =>
    ctx.withWorker('payments', async (q) => {
      const { handle } = await startPayment(ctx, q, { captureMethod: 'manual' });
      await untilPaymentStatus(ctx, handle, 'authorized');
      await handle.cancel();
      return settled(handle);
    }),
  ),
  payment(`workflow-cancelled-while-posting${WAITS}`, 'CANCELLED', (ctx) => {
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
  payment(`needs-attention${WAITS}`, `COMPLETED needs_attention ${F.ledgerFailed}`, (ctx) =>
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

  ...WAITING_PAYMENTS,

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

/** InvoiceLifecycle: its draft row (as the API writes it), then the execution; default dunning (-3, 1, 7, 14, 30 days). */
const DAY_MS = 86_400_000;
const INVOICE_DRAFT: InvoiceDraft = { customerId: 'cus_hist', currency: 'EUR', terms: 'net_30', lines: [{ description: 'Consulting', quantity: 2, unitPriceMinor: 5000, taxRateBp: 1900 }] };
async function startInvoice(ctx: Ctx, q: string) {
  const invoiceId = randomUUID();
  await withTenant(ctx.db, ctx.tenantId, (tx) => createDraft(tx, { ...INVOICE_DRAFT, id: invoiceId, tenantId: ctx.tenantId, idempotencyKey: invoiceId, series: 'INV', createdBy: 'user:recorder' }));
  const handle = await ctx.env.client.workflow.start(InvoiceLifecycle, {
    workflowId: invoiceWorkflowId(ctx.tenantId, invoiceId),
    taskQueue: q,
    args: [{ tenantId: ctx.tenantId, invoiceId, series: 'INV', draft: INVOICE_DRAFT, options: DEFAULT_INVOICE_OPTIONS }],
  });
  await handle.executeUpdate(updateDraft, { args: [{ note: 'Thank you' }] });
  await handle.executeUpdate(issueInvoice, { args: [{}] });
  return handle;
}
const invoicePayment = (amountMinor: number) => ({ paymentId: `pay_${randomUUID()}`, amountMinor, method: 'bank_transfer' as const });
const invoice = (name: string, outcome: string, run: Branch['run']): Branch => ({ queue: 'invoices', name: `invoice-${name}`, outcome, run });
const INVOICE_BRANCHES: Branch[] = [
  invoice('paid', 'COMPLETED paid', (ctx) =>
    ctx.withWorker('invoices', async (q) => {
      const handle = await startInvoice(ctx, q);
      await ctx.env.sleep(27 * DAY_MS); // the reminder three days before the due date
      await handle.executeUpdate(recordInvoicePayment, { args: [invoicePayment(5000)] });
      await ctx.env.sleep(5 * DAY_MS); // overdue, and the reminder a day after the due date
      await handle.executeUpdate(recordInvoicePayment, { args: [invoicePayment(11900 - 5000)] });
      await ctx.env.sleep((DEFAULT_INVOICE_OPTIONS.keepOpenAfterSettledDays + 1) * DAY_MS);
      return settled(handle);
    }),
  ),
  invoice('voided', 'COMPLETED void', (ctx) =>
    ctx.withWorker('invoices', async (q) => {
      const handle = await startInvoice(ctx, q);
      await handle.executeUpdate(voidInvoice, { args: [{ reason: 'issued by mistake' }] });
      return settled(handle);
    }),
  ),
  invoice('written-off', 'COMPLETED written_off', (ctx) =>
    ctx.withWorker('invoices', async (q) => {
      const handle = await startInvoice(ctx, q);
      await ctx.env.sleep(32 * DAY_MS);
      await handle.executeUpdate(writeOffInvoice, { args: [{ reason: 'insolvent' }] });
      return settled(handle);
    }),
  ),
  invoice('credit-note-after-payment', 'COMPLETED paid', (ctx) =>
    ctx.withWorker('invoices', async (q) => {
      const handle = await startInvoice(ctx, q);
      await handle.executeUpdate(recordInvoicePayment, { args: [invoicePayment(11900)] });
      await handle.executeUpdate(creditInvoice, { args: [{ creditNoteId: `cn-${randomUUID()}`, amountMinor: 5950 }] });
      await ctx.env.sleep((DEFAULT_INVOICE_OPTIONS.keepOpenAfterSettledDays + 1) * DAY_MS);
      return settled(handle);
    }),
  ),
  // patched('credit-note-refunds'): an invoice paid in full by card (a captured PaymentSaga on the payments queue),
  // half of it credited with settlement refund: its refundCreditNote activity starts RefundWorkflow on the payments
  // queue and waits for it (through a client without time skipping, as the worker's own), then books the credit note.
  invoice('credit-note-refund', 'COMPLETED paid', (ctx) =>
    ctx.withWorker('payments', async (paymentsQueue) => {
      const realTime = new Client({ connection: ctx.env.connection, namespace: ctx.env.namespace, dataConverter: createDataConverter(ctx.cfg) });
      const { refundCreditNote } = createInvoiceActivities({ db: ctx.db, temporal: realTime, refundTaskQueue: paymentsQueue });
      const paymentId = await paid(ctx, paymentsQueue, 11900);
      return ctx.withWorker(
        'invoices',
        async (q) => {
          const handle = await startInvoice(ctx, q);
          await handle.executeUpdate(recordInvoicePayment, { args: [{ paymentId, amountMinor: 11900, method: 'card' }] });
          const after = await handle.executeUpdate(creditInvoice, { args: [{ creditNoteId: `cn-${randomUUID()}`, amountMinor: 5950, settlement: 'refund', reason: 'half returned' }] });
          if (after.payments.find((p) => p.paymentId === paymentId)?.refundedMinor !== 5950) throw new Error(`the credit note refunded ${JSON.stringify(after.payments)}, not 5950`);
          await ctx.env.sleep((DEFAULT_INVOICE_OPTIONS.keepOpenAfterSettledDays + 1) * DAY_MS);
          return settled(handle);
        },
        { refundCreditNote },
      );
    }),
  ),
  invoice('credited', 'COMPLETED credited', (ctx) =>
    ctx.withWorker('invoices', async (q) => {
      const handle = await startInvoice(ctx, q);
      await handle.executeUpdate(creditInvoice, { args: [{ creditNoteId: `cn-${randomUUID()}`, amountMinor: 11900 }] });
      await ctx.env.sleep((DEFAULT_INVOICE_OPTIONS.keepOpenAfterSettledDays + 1) * DAY_MS);
      return settled(handle);
    }),
  ),
];

/**
 * PeriodClose: each branch closes a month of a tenant of its own (with the default chart) and a sale in it; the
 * close is started by ALICE and signed off by BOB (finance), as the API starts and signs one.
 */
const CLOSE_POLICY = { signOffDays: 3, settlePollSeconds: 600, settleMaxPolls: 50 };
const ALICE = 'user:alice';
const BOB = 'user:bob';
const BY_FINANCE = { by: BOB, role: 'finance' };

function postEntry(ctx: Ctx, tenantId: string, date: string, lines: [string, number, Currency][]) {
  return withTenant(ctx.db, tenantId, (tx) =>
    postJournalEntry(tx, {
      id: randomUUID(),
      tenantId,
      effectiveAt: new Date(`${date}T12:00:00Z`),
      description: 'recorded close',
      source: { type: 'test', id: randomUUID() },
      postings: lines.map(([systemKey, amount, currency]) => ({ account: { systemKey }, amount: money(amount, currency) })),
    }),
  );
}

/** A tenant with a EUR sale in the month, and its close started by ALICE. */
async function startClose(ctx: Ctx, q: string, tenantId: string, periodStart: string) {
  await postEntry(ctx, tenantId, `${periodStart.slice(0, 8)}10`, [['cash', 12_000, 'EUR'], ['sales_revenue', -12_000, 'EUR']]);
  const input: PeriodCloseInput = { tenantId, trigger: 'manual', startedBy: ALICE, periodStart, policy: CLOSE_POLICY };
  return ctx.env.client.workflow.start(PeriodClose, { workflowId: periodCloseWorkflowId(tenantId, periodStart, randomUUID()), taskQueue: q, args: [input] });
}

async function untilCloseStep(handle: WorkflowHandle, step: CloseStep, check: (s: PeriodCloseState) => boolean = () => true) {
  await eventually(`the close to be ${step}`, async () => {
    const s = await handle.query(periodCloseProgress);
    return s.step === step && check(s);
  }, 120_000);
}

/** Waits for the sign-off step (checked by `check`), signs off as BOB, and waits for the end. */
async function signedOff(handle: WorkflowHandle, check?: Parameters<typeof untilCloseStep>[2]) {
  await untilCloseStep(handle, 'awaiting_sign_off', check);
  await handle.executeUpdate(signOffClose, { args: [BY_FINANCE] });
  return settled(handle);
}

const periodClose = (name: string, outcome: string, run: Branch['run']): Branch => ({ queue: 'accounting', name: `period-close-${name}`, outcome, run });
const CLOSED = `COMPLETED closed ${BOB}`;
const ACCOUNTING_BRANCHES: Branch[] = [
  periodClose('signed-off', CLOSED, (ctx) =>
    ctx.withWorker('accounting', async (q) => {
      const tenantId = await tenantWithChart(ctx.db);
      return signedOff(await startClose(ctx, q, tenantId, '2025-01-01'), (s) => s.inFlightPayments === 0 && !s.yearEnd && s.revaluationLines === 0);
    }),
  ),
  periodClose('waited-for-payments', CLOSED, (ctx) =>
    ctx.withWorker('accounting', async (q) => {
      // A payment of the month still in flight (the month of today: payments are dated by the database's clock).
      const tenantId = await tenantWithChart(ctx.db);
      const payment = newPaymentInput(tenantId);
      await insertPaymentRow(ctx.db, payment);
      const handle = await startClose(ctx, q, tenantId, `${new Date().toISOString().slice(0, 7)}-01`);
      await untilCloseStep(handle, 'waiting_for_payments', (s) => s.inFlightPayments === 1);
      await ctx.env.sleep(2 * CLOSE_POLICY.settlePollSeconds * 1000); // two more looks, still in flight
      await withTenant(ctx.db, tenantId, (tx) => tx.query("UPDATE payments SET status = 'failed' WHERE id = $1", [payment.paymentId]));
      await ctx.env.sleep(CLOSE_POLICY.settlePollSeconds * 1000);
      return signedOff(handle, (s) => s.inFlightPayments === 0);
    }),
  ),
  periodClose('escalated', CLOSED, (ctx) =>
    ctx.withWorker('accounting', async (q) => {
      const tenantId = await tenantWithChart(ctx.db);
      const handle = await startClose(ctx, q, tenantId, '2025-02-01');
      await untilCloseStep(handle, 'awaiting_sign_off');
      await ctx.env.sleep(CLOSE_POLICY.signOffDays * DAY_MS + 60_000);
      return signedOff(handle, (s) => s.escalated);
    }),
  ),
  periodClose('year-end', CLOSED, (ctx) =>
    ctx.withWorker('accounting', async (q) => {
      // The default fiscal year is the calendar year: December closes it.
      const tenantId = await tenantWithChart(ctx.db);
      await postEntry(ctx, tenantId, '2024-12-11', [['processing_fees', 2_500, 'EUR'], ['cash', -2_500, 'EUR']]);
      return signedOff(await startClose(ctx, q, tenantId, '2024-12-01'), (s) => s.yearEnd);
    }),
  ),
  periodClose('self-sign-off-refused', CLOSED, (ctx) =>
    ctx.withWorker('accounting', async (q) => {
      const tenantId = await tenantWithChart(ctx.db);
      const handle = await startClose(ctx, q, tenantId, '2025-04-01');
      await untilCloseStep(handle, 'awaiting_sign_off');
      const refusal = await updateRefusal(handle, signOffClose, [{ by: ALICE, role: 'finance' }]);
      if (!/started this close cannot sign it off/.test(refusal.cause?.message ?? '')) throw new Error(`the self sign-off was refused for another reason: ${refusal.cause?.message}`);
      return signedOff(handle);
    }),
  ),
  periodClose('fx-revaluation', CLOSED, (ctx) =>
    ctx.withWorker('accounting', async (q) => {
      // 100.00 USD receivable at 0.90 on 10 March, 0.95 on 31 March: one revaluation line, a 5.00 EUR gain.
      const tenantId = await tenantWithChart(ctx.db);
      await withTenant(ctx.db, tenantId, async (tx) => {
        await tx.query("UPDATE tenants SET reporting_currency = 'EUR' WHERE id = $1", [tenantId]);
        await tx.query(
          `INSERT INTO fx_rates (tenant_id, base, quote, rate_date, rate, entered_by) VALUES ($1, 'USD', 'EUR', '2025-03-10', '0.9', 'recorder'), ($1, 'USD', 'EUR', '2025-03-31', '0.95', 'recorder')`,
          [tenantId],
        );
      });
      await postEntry(ctx, tenantId, '2025-03-10', [['accounts_receivable', 10_000, 'USD'], ['sales_revenue', -10_000, 'USD']]);
      return signedOff(await startClose(ctx, q, tenantId, '2025-03-01'), (s) => s.revaluationLines === 1);
    }),
  ),
];

const fileOf = (branch: Branch) => path.join(REPLAY_DIR, branch.queue, `${branch.name}.json`);

async function main() {
  const args = process.argv.slice(2);
  const force = args.includes('--force');
  const unknown = args.filter((a) => a.startsWith('--') && a !== '--force');
  if (unknown.length) throw new Error(`unknown option ${unknown.join(', ')} (only --force)`);
  const only = args.filter((a) => !a.startsWith('--'));
  const chosen = [...BRANCHES, ...INVOICE_BRANCHES, ...ACCOUNTING_BRANCHES].filter((b) => !only.length || only.some((o) => `${b.queue}/${b.name}`.includes(o)));
  if (!chosen.length) throw new Error(`no branch matches ${only.join(', ')}`);
  const existing = chosen.filter((b) => existsSync(fileOf(b)));
  if (existing.length && !force) {
    throw new Error(
      `refusing to overwrite ${existing.length} recorded ${existing.length === 1 ? 'history' : 'histories'}: ${existing.map((b) => path.relative(ROOT, fileOf(b))).join(', ')}. ` +
        'A committed history guards the executions of its day that may still be running: keep it, and record a changed path under a new name ' +
        `(<branch>@<change>, e.g. ${WAITS}); --force only to retire an old path once none of its executions can still be running (README: Shipping a workflow change).`,
    );
  }
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
    ...(['payments', 'credit', 'platform', 'invoices', 'accounting'] as const).map(async (q) =>
      bundles.set(q, await bundleWorkflowCode({ workflowsPath: TASK_QUEUE_DEFINITIONS[q]!.workflowsPath, failureConverterPath: dataConverter.failureConverterPath, logger: quiet })),
    ),
  ]);
  const db = createPool(cfg.DATABASE_URL, 6);
  const scorer = await CreditScorer.load(defaultModelPath());
  let double: StripeDouble | undefined;
  try {
    const provider = new FaultInjectingProvider(new StripeMockSandboxProvider(stripeClient({ mockUrl: cfg.STRIPE_MOCK_URL }), db));
    double = await startStripeDouble({ webhookSecret: 'whsec_recordHistories' });
    const tenantId = await createTenant(db);
    await withTenant(db, tenantId, (tx) => tx.query('SELECT create_default_chart($1)', [tenantId]));
    const ctx: Ctx = {
      env,
      cfg,
      db,
      tenantId,
      provider,
      double,
      async withWorker(queue, fn, overrides = {}, through = provider) {
        const taskQueue = `${cfg.TEMPORAL_TASK_QUEUE_PREFIX}${queue}-${randomUUID()}`;
        const real = TASK_QUEUE_DEFINITIONS[queue]!.activities({ db, provider: through, risk: RISK, scorer });
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
      const plain = await decoded(asObject, codec);
      const text = JSON.stringify(plain, null, 2);
      if (text.includes(Buffer.from(ENCRYPTED).toString('base64'))) throw new Error(`${branch.name}: an encrypted payload is left in the history`);
      // The name says which path the history guards: the old one's history must not be replaced by the new one's.
      const waits = patchIdsOf(temporal.api.history.v1.History.fromObject(plain as Record<string, unknown>)).includes(WAITS_FOR_CUSTOMER_OR_PROVIDER);
      if (waits !== branch.name.endsWith(WAITS)) {
        throw new Error(`${branch.name} ${waits ? 'records' : 'does not record'} the ${WAITS_FOR_CUSTOMER_OR_PROVIDER} marker: ${waits ? `name it <branch>${WAITS}` : `drop ${WAITS} from its name`}; not recorded`);
      }
      const file = fileOf(branch);
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, `${text}\n`);
      console.log(`[histories] ${path.relative(ROOT, file)}: ${history.events?.length ?? 0} events, ${outcome} (${Date.now() - started} ms)`);
    }
  } finally {
    await env.teardown();
    await double?.close();
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
