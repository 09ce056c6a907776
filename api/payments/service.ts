/**
 * The payments context's API side: starting sagas idempotently, reading payments, and driving them
 * (capture, cancel, review, refunds) through workflow updates. The Idempotency-Key and a hash of the request
 * are stored with the payment (api/idempotency.ts).
 */
import { randomUUID } from 'node:crypto';
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  type Client,
} from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import type { Pool, PoolClient } from 'pg';
import { can } from '../../core/identity/rbac';
import type { Currency } from '../../core/money';
import type { ApiConfig } from '../../platform/config';
import { withTenant } from '../../platform/db/pool';
import { appendToOutbox, ONCE } from '../../platform/events/outbox';
import { failpoint } from '../../platform/failpoints';
import { deterministicUuid } from '../../platform/ids';
import { taskQueue } from '../../platform/temporal/client';
import { cancelPayment, capturePayment, PAYMENT_WORKFLOW_TYPE, paymentPartitionKey, paymentWorkflowId, reviewPayment, type PaymentInput } from '../../workflows/payments/payment.contract';
import { REFUND_FAILURES, REFUND_WORKFLOW_TYPE, refundWorkflowId, type RefundResult } from '../../workflows/payments/refund.contract';
import { DomainError } from '../errors';
import { createOnce } from '../idempotency';
import { decodeCursor, page } from '../pagination';
import { principalRef, refuseMakerAsChecker } from '../principals';
import { deliverUpdate, readUntilSettled, type UpdateStart } from '../workflow-updates';
import type { Principal } from '../middleware/authenticate';

/** Why a refund request was refused, kept with its key (payment_refund_requests.refusal). */
type RefundRefusal = 'exceeds_refundable' | 'payment_disputed';
function refundRefused(refusal: RefundRefusal, amountMinor: string | null): DomainError {
  if (refusal === 'payment_disputed') {
    return new DomainError('unprocessable-entity', 'The payment is disputed: it cannot be refunded while the cardholder disputes it or after the dispute was lost', { reason: 'payment-disputed' });
  }
  const message = amountMinor === null ? 'Nothing is left to refund on this payment' : 'The refund exceeds what is left to refund on this payment';
  return new DomainError('unprocessable-entity', message, { reason: 'exceeds-refundable' });
}

export interface CreatePaymentBody {
  amountMinor: number;
  currency: Currency;
  customerId: string;
  paymentMethod: string;
  captureMethod: 'automatic' | 'manual';
  invoiceRef?: string;
  metadata?: Record<string, string>;
}

interface PaymentRow {
  id: string;
  request_hash: Buffer;
  status: string;
  customer_id: string;
  amount_minor: string;
  currency: Currency;
  capture_method: 'automatic' | 'manual';
  failure_code: string | null;
  provider_ref: string | null;
  amount_captured_minor: string;
  amount_refunded_minor: string;
  amount_disputed_minor: string;
  dispute_status: 'inquiry' | 'open' | 'won' | 'lost' | 'warning_closed' | null;
  next_action: { type: string; clientSecret: string; redirectUrl?: string } | null;
  invoice_ref: string | null;
  created_by: string | null;
  unresolved_compensations: string[] | null;
  metadata: Record<string, string>;
  created_at: Date;
  updated_at: Date;
}

/**
 * Where a payment rests until someone acts (ops, the client, the customer authenticating, the provider settling):
 * no need to keep the caller waiting.
 */
const FINAL = new Set(['succeeded', 'failed', 'canceled', 'expired', 'needs_attention', 'disputed']);
const RESTING = new Set(['in_review', 'requires_action', 'processing']);
const settled = (p: { status: string; captureMethod: string }) =>
  FINAL.has(p.status) || RESTING.has(p.status) || (p.status === 'authorized' && p.captureMethod === 'manual');

export function paymentView(r: PaymentRow) {
  return {
    id: r.id,
    status: r.status,
    amountMinor: Number(r.amount_minor),
    currency: r.currency,
    customerId: r.customer_id,
    captureMethod: r.capture_method,
    failureCode: r.failure_code,
    providerRef: r.provider_ref,
    amountCapturedMinor: Number(r.amount_captured_minor),
    amountRefundedMinor: Number(r.amount_refunded_minor),
    amountDisputedMinor: Number(r.amount_disputed_minor),
    disputeStatus: r.dispute_status,
    invoiceRef: r.invoice_ref,
    metadata: r.metadata,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}
/** One payment, with the next action while it requires one (the database clears it once the status moves on). */
export function paymentDetail(r: PaymentRow) {
  return { ...paymentView(r), nextAction: r.next_action };
}
export type PaymentView = ReturnType<typeof paymentDetail>;

/**
 * Which payments a caller sees, as SQL over its two parameters (visibleTo): every payment of the tenant with
 * payments:read-all, else those it created, and for an API key also those of the person who made the key.
 */
const VISIBLE = (all: string, ref: string) =>
  `(${all}::boolean OR created_by = ${ref} OR created_by = (SELECT 'user:' || k.created_by FROM api_keys k WHERE 'api_key:' || k.id = ${ref}))`;
const visibleTo = (p: Principal) => [can(p.role, 'payments:read-all'), principalRef(p)];

export class PaymentsService {
  constructor(private readonly deps: { db: Pool; temporal: Client; config: ApiConfig }) {}

  async create(principal: Principal, idempotencyKey: string, body: CreatePaymentBody): Promise<{ payment: PaymentView; settled: boolean }> {
    const tenantId = principal.tenantId;
    const id = randomUUID();
    const paymentId = await createOnce(this.deps.db, tenantId, 'payments', principalRef(principal), idempotencyKey, body, async (tx, hash) => {
      await tx.query(
        `INSERT INTO payments (id, tenant_id, idempotency_key, request_hash, customer_id, amount_minor, currency, capture_method, invoice_ref, metadata, payment_method, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
        [id, tenantId, idempotencyKey, hash, body.customerId, body.amountMinor, body.currency, body.captureMethod, body.invoiceRef ?? null, body.metadata ?? {}, body.paymentMethod, principalRef(principal)],
      );
      await appendToOutbox(tx, {
        occurrence: ONCE,
        type: 'payment.created',
        tenantId,
        aggregateType: 'payment',
        aggregateId: id,
        partitionKey: paymentPartitionKey({ paymentId: id, invoiceRef: body.invoiceRef }),
        data: { paymentId: id, customerId: body.customerId, amountMinor: body.amountMinor, currency: body.currency, status: 'pending' },
      });
      return id;
    });
    // The row is committed, its saga not yet started: a crash here leaves a pending payment with no saga, which the
    // saga reconciler (or this request repeated) starts.
    if (paymentId === id) failpoint('after-payment-insert', paymentId);
    // The row is the truth, not Temporal's memory of the saga: a saga is started (or joined) only for a payment that
    // has not moved yet, and only while Temporal still remembers any saga that ran for it (well inside the
    // namespace's retention), so REJECT_DUPLICATE refuses to run a closed saga again. A final payment is answered as it is.
    const row = await withTenant(this.deps.db, tenantId, async (tx) =>
      (
        await tx.query<{ status: string; startable: boolean }>(
          'SELECT status, created_at > now() - make_interval(hours => $2) AS startable FROM payments WHERE id = $1',
          [paymentId, this.deps.config.PAYMENT_SAGA_START_WINDOW_HOURS],
        )
      ).rows[0]!,
    );
    if (row.status === 'pending' && row.startable) await this.ensureStarted(tenantId, paymentId, body);
    const { value: payment, settled: done } = await readUntilSettled(() => this.get(principal, paymentId), settled, this.deps.config.PAYMENT_SYNC_WAIT_MS);
    return { payment, settled: done };
  }

  async get(principal: Principal, paymentId: string): Promise<PaymentView> {
    return paymentDetail(await withTenant(this.deps.db, principal.tenantId, (tx) => this.visibleRow(tx, principal, paymentId)));
  }

  /** The payment, if the caller may see it: another caller's payment is as absent as one that does not exist. */
  private async visibleRow(tx: PoolClient, principal: Principal, paymentId: string): Promise<PaymentRow> {
    const row = (await tx.query<PaymentRow>(`SELECT * FROM payments WHERE id = $1 AND ${VISIBLE('$2', '$3')}`, [paymentId, ...visibleTo(principal)])).rows[0];
    if (!row) throw new DomainError('not-found', `No payment ${paymentId}`);
    return row;
  }

  async list(principal: Principal, q: { status?: string; customerId?: string; limit: number; cursor?: string }) {
    const after = decodeCursor(q.cursor);
    const rows = await withTenant(this.deps.db, principal.tenantId, async (tx) =>
      (
        await tx.query<PaymentRow>(
          `SELECT * FROM payments
            WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR customer_id = $2)
              AND ($3::timestamptz IS NULL OR (created_at, id) < ($3::timestamptz, $4::uuid)) AND ${VISIBLE('$6', '$7')}
            ORDER BY created_at DESC, id DESC LIMIT $5`,
          [q.status ?? null, q.customerId ?? null, after?.t ?? null, after?.id ?? null, q.limit + 1, ...visibleTo(principal)],
        )
      ).rows,
    );
    return page(rows, q.limit, paymentView);
  }

  /** ops: payments whose compensation did not complete, with what is left undone, newest first. */
  async listNeedingAttention(principal: Principal, q: { limit: number; cursor?: string }) {
    const after = decodeCursor(q.cursor);
    const rows = await withTenant(this.deps.db, principal.tenantId, async (tx) =>
      (
        await tx.query<PaymentRow>(
          `SELECT * FROM payments
            WHERE status = 'needs_attention' AND ($1::timestamptz IS NULL OR (created_at, id) < ($1::timestamptz, $2::uuid))
            ORDER BY created_at DESC, id DESC LIMIT $3`,
          [after?.t ?? null, after?.id ?? null, q.limit + 1],
        )
      ).rows,
    );
    return page(rows, q.limit, (r) => ({ ...paymentView(r), unresolvedCompensations: r.unresolved_compensations ?? [] }));
  }

  /** `applied` false: a worker accepted the capture and it is still under way (the route answers 202). */
  async capture(principal: Principal, paymentId: string): Promise<{ payment: PaymentView; applied: boolean }> {
    await this.get(principal, paymentId);
    const delivered = await this.update(principal.tenantId, paymentId, (h, o) => h.startUpdate(capturePayment, o));
    return { payment: await this.get(principal, paymentId), applied: delivered.applied };
  }

  async cancel(principal: Principal, paymentId: string): Promise<{ payment: PaymentView; applied: boolean }> {
    await this.get(principal, paymentId);
    const delivered = await this.update(principal.tenantId, paymentId, (h, o) => h.startUpdate(cancelPayment, o));
    return { payment: await this.get(principal, paymentId), applied: delivered.applied };
  }

  async review(principal: Principal, paymentId: string, decision: 'approve' | 'reject'): Promise<{ payment: PaymentView; applied: boolean }> {
    // Nobody checks a payment they made (themselves or through a key of theirs).
    await withTenant(this.deps.db, principal.tenantId, async (tx) =>
      refuseMakerAsChecker(tx, (await this.visibleRow(tx, principal, paymentId)).created_by, principal, 'payment'),
    );
    const reviewerId = principal.kind === 'user' ? principal.userId : principal.apiKeyId;
    const delivered = await this.update(principal.tenantId, paymentId, (h, o) => h.startUpdate(reviewPayment, { ...o, args: [{ decision, reviewerId }] }));
    if (!delivered.applied) return { payment: await this.get(principal, paymentId), applied: false };
    // The update records the decision; the saga then moves the payment on (rejected, or on to authorise): answer
    // with where it went, waiting as a create does (PAYMENT_SYNC_WAIT_MS), not with the in_review it just left.
    const moved = (p: PaymentView) => p.status !== 'in_review' && settled(p);
    return { payment: (await readUntilSettled(() => this.get(principal, paymentId), moved, this.deps.config.PAYMENT_SYNC_WAIT_MS)).value, applied: true };
  }

  async refund(principal: Principal, paymentId: string, idempotencyKey: string, body: { amountMinor?: number; reason?: string }) {
    const payment = await this.get(principal, paymentId);
    const owner = principalRef(principal);
    // The key is the caller's own, claimed with the request and the amount it resolves to before anything starts: a
    // repeat finds the same refund (even once nothing is left) or the same refusal, another request under the key is
    // refused, and another caller's same key is another request. A refusal about this payment's money (more than is
    // left, the payment disputed) is kept with the key, so the key never succeeds later.
    const refundId = await createOnce(this.deps.db, principal.tenantId, 'payment_refund_requests', owner, idempotencyKey, { paymentId, ...body }, async (tx, hash) => {
      const p = (
        await tx.query<{ status: string; amount_captured_minor: string; amount_refunded_minor: string }>(
          'SELECT status, amount_captured_minor, amount_refunded_minor FROM payments WHERE id = $1',
          [paymentId],
        )
      ).rows[0]!;
      // A payment that has not taken money: nothing about a refund is decided, nothing is kept.
      if (p.status !== 'succeeded' && p.status !== 'disputed') throw new DomainError('conflict', `A ${p.status} payment cannot be refunded`);
      const amount = body.amountMinor ?? Number(p.amount_captured_minor) - Number(p.amount_refunded_minor);
      const refusal: RefundRefusal | null = p.status === 'disputed' ? 'payment_disputed' : amount <= 0 ? 'exceeds_refundable' : null;
      const id = deterministicUuid(principal.tenantId, paymentId, 'refund', owner, idempotencyKey);
      await tx.query(
        'INSERT INTO payment_refund_requests (id, tenant_id, idempotency_key, request_hash, payment_id, amount_minor, requested_by, refusal) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
        [id, principal.tenantId, idempotencyKey, hash, paymentId, amount > 0 ? amount : null, owner, refusal],
      );
      return id;
    });
    const claimed = await this.refundRequest(principal.tenantId, refundId);
    if (claimed.refusal) throw refundRefused(claimed.refusal, claimed.amount_minor);
    const amountMinor = Number(claimed.amount_minor);
    // Done already, paid out or not: answer from the books, never run the refund again (provider keys do not live
    // forever, nor does the workflow's history: REJECT_DUPLICATE cannot refuse a run Temporal has forgotten).
    if (claimed.status === 'succeeded' || claimed.status === 'failed') return { refundId, amountMinor, status: claimed.status, settled: true };
    const handle = await this.deps.temporal.workflow
      .start(REFUND_WORKFLOW_TYPE, {
        workflowId: refundWorkflowId(principal.tenantId, refundId),
        taskQueue: taskQueue(this.deps.config, 'payments'),
        args: [{ refundId, tenantId: principal.tenantId, paymentId, amountMinor, idempotencyKey, reason: body.reason }],
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        staticSummary: `Refund ${amountMinor} ${payment.currency} of payment ${paymentId}`,
      })
      .catch(async (err: unknown) => {
        if (err instanceof WorkflowExecutionAlreadyStartedError) return this.deps.temporal.workflow.getHandle(refundWorkflowId(principal.tenantId, refundId));
        throw err;
      });
    try {
      let waited: NodeJS.Timeout | undefined;
      const result = await Promise.race([
        handle.result() as Promise<RefundResult>,
        new Promise<undefined>((r) => (waited = setTimeout(() => r(undefined), this.deps.config.PAYMENT_SYNC_WAIT_MS))),
      ]).finally(() => clearTimeout(waited));
      if (result?.status === 'rejected' && result.failure?.reason === REFUND_FAILURES.rejected) {
        // The reservation kept why it refused: answered as every repeat of the key will be.
        const refused = await this.refundRequest(principal.tenantId, refundId);
        throw refundRefused(refused.refusal ?? 'exceeds_refundable', refused.amount_minor);
      }
      return { refundId, amountMinor, status: result ? result.status : 'pending', settled: Boolean(result) };
    } catch (err) {
      // Cancelled from Temporal, or a defect: the refund did not happen (the workflow released its reservation).
      if (err instanceof WorkflowFailedError) return { refundId, amountMinor, status: err.cause instanceof CancelledFailure ? 'canceled' : 'failed', settled: true };
      throw err;
    }
  }

  private refundRequest(tenantId: string, refundId: string) {
    return withTenant(this.deps.db, tenantId, async (tx) =>
      (
        await tx.query<{ amount_minor: string | null; refusal: RefundRefusal | null; status: string | null }>(
          'SELECT r.amount_minor, r.refusal, f.status FROM payment_refund_requests r LEFT JOIN payment_refunds f ON f.id = r.id WHERE r.id = $1',
          [refundId],
        )
      ).rows[0]!,
    );
  }

  private async ensureStarted(tenantId: string, paymentId: string, body: CreatePaymentBody) {
    const input: PaymentInput = {
      paymentId,
      tenantId,
      customerId: body.customerId,
      amountMinor: body.amountMinor,
      currency: body.currency,
      paymentMethod: body.paymentMethod,
      captureMethod: body.captureMethod,
      ...(body.invoiceRef ? { invoiceRef: body.invoiceRef } : {}),
      reviewTimeoutSeconds: this.deps.config.PAYMENT_REVIEW_TIMEOUT_SECONDS,
      customerActionTimeoutSeconds: this.deps.config.PAYMENT_CUSTOMER_ACTION_TIMEOUT_SECONDS,
      authorizationTtlSeconds: this.deps.config.PAYMENT_AUTHORIZATION_TTL_SECONDS,
    };
    try {
      await this.deps.temporal.workflow.start(PAYMENT_WORKFLOW_TYPE, {
        workflowId: paymentWorkflowId(tenantId, paymentId),
        taskQueue: taskQueue(this.deps.config, 'payments'),
        args: [input],
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        staticSummary: `Payment of ${body.amountMinor} ${body.currency} (${body.captureMethod} capture)`,
      });
    } catch (err) {
      // A closed saga for this payment (a repeat after it finished): nothing to start.
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
  }

  private update(tenantId: string, paymentId: string, start: UpdateStart<unknown>) {
    const handle = this.deps.temporal.workflow.getHandle(paymentWorkflowId(tenantId, paymentId));
    return deliverUpdate('payment', this.deps.temporal, handle, start, this.deps.config.WORKFLOW_UPDATE_WAIT_MS);
  }
}
