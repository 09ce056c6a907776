import { z } from 'zod';
import { CURRENCIES, MAX_AMOUNT_MINOR } from '../../core/money';
import { freeText } from '../schemas';
import { route, type AnyRoute } from '../routing';
import { answerUpdate, UPDATE_NOT_TAKEN } from '../workflow-updates';
import type { PaymentsService } from './service';

const TAG = 'payments';
const amountMinor = z.number().int('must be an integer number of minor units').min(1).max(MAX_AMOUNT_MINOR);
const idempotencyKey = z.string().regex(/^[A-Za-z0-9._:-]{1,255}$/, '1 to 255 characters of [A-Za-z0-9._:-]');

export const createPaymentBody = z
  .object({
    amountMinor,
    currency: z.enum(CURRENCIES),
    customerId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'an opaque id of [A-Za-z0-9_-] (no personal data)'),
    paymentMethod: z.string().regex(/^pm_[A-Za-z0-9_]{1,100}$/, 'a payment method token (pm_...), never card data'),
    captureMethod: z.enum(['automatic', 'manual']).default('automatic'),
    invoiceRef: z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/).optional(),
    metadata: z
      .record(z.string().regex(/^[A-Za-z0-9_.-]{1,40}$/), freeText(500))
      .refine((m) => Object.keys(m).length <= 20, 'at most 20 keys')
      .optional(),
  })
  .strict();

const payment = z.object({
  id: z.string().uuid(),
  status: z.enum(['pending', 'in_review', 'requires_action', 'processing', 'authorized', 'succeeded', 'failed', 'canceled', 'expired', 'needs_attention', 'disputed']),
  amountMinor: z.number().int(),
  currency: z.string(),
  customerId: z.string(),
  captureMethod: z.enum(['automatic', 'manual']),
  failureCode: z.string().nullable(),
  providerRef: z.string().nullable().describe("The provider's id of the payment (a Stripe PaymentIntent, pi_...) once it has one: for finding it in the provider's dashboard; not a secret"),
  amountCapturedMinor: z.number().int(),
  amountRefundedMinor: z.number().int(),
  amountDisputedMinor: z.number().int(),
  disputeStatus: z
    .enum(['inquiry', 'open', 'won', 'lost', 'warning_closed'])
    .nullable()
    .describe(
      "The payment's last dispute: inquiry (the issuer asks; no money moved, the payment stays succeeded), open (amountDisputedMinor held back), won (returned: the payment is succeeded again), warning_closed (an inquiry closed, nothing moved), lost; null if never disputed",
    ),
  invoiceRef: z.string().nullable(),
  metadata: z.record(z.string(), z.string()),
  createdAt: z.string(),
  updatedAt: z.string(),
});
/** One payment, with what the customer must do while it requires action (3-D Secure): for the caller's front end only. */
const paymentDetail = payment.extend({
  nextAction: z
    .object({ type: z.string(), clientSecret: z.string(), redirectUrl: z.string().optional() })
    .nullable()
    .describe('While status is requires_action: hand clientSecret to Stripe.js (handleNextAction), or send the customer to redirectUrl'),
});
const idParams = z.object({ id: z.string().uuid() }).strict();
const pageQuery = z.object({ limit: z.coerce.number().int().min(1).max(100).default(20), cursor: z.string().max(500).optional() }).strict();
const keyHeader = z.object({ 'idempotency-key': idempotencyKey });
const example = { amountMinor: 1099, currency: 'EUR', customerId: 'cus_42', paymentMethod: 'pm_card_visa', captureMethod: 'automatic' };

export function paymentRoutes(payments: PaymentsService): AnyRoute[] {
  return [
    route({
      method: 'post',
      path: '/api/payments',
      summary: 'Start a payment. Answers with the outcome when the saga decides within a few seconds, else 202.',
      tag: TAG,
      access: { permission: 'payments:create' },
      headers: keyHeader,
      body: createPaymentBody,
      example: { body: example },
      responses: {
        201: { description: 'Decided (succeeded, failed, authorised, in review), or waiting for the customer (requires_action, with nextAction) or the provider (processing)', schema: paymentDetail },
        202: { description: 'Still being processed: poll the Location', schema: paymentDetail },
        422: { description: 'The Idempotency-Key was used with a different request', schema: null },
      },
      async handler(ctx, { headers, body, principal }) {
        const { payment: p, settled } = await payments.create(principal!, headers['idempotency-key'], body);
        ctx.status = settled ? 201 : 202;
        ctx.set('Location', `/api/payments/${p.id}`);
        ctx.body = p;
      },
    }),
    route({
      method: 'get',
      path: '/api/payments',
      summary: 'List payments, newest first, with cursor pagination: those you created (an API key: also those of the person who made it), or all of the tenant with payments:read-all',
      tag: TAG,
      access: { permission: 'payments:read' },
      query: z
        .object({
          status: payment.shape.status.optional(),
          customerId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).optional(),
          limit: z.coerce.number().int().min(1).max(100).default(20),
          cursor: z.string().max(500).optional(),
        })
        .strict(),
      responses: { 200: { description: 'A page of payments', schema: z.object({ data: z.array(payment), nextCursor: z.string().nullable() }) } },
      async handler(ctx, { query, principal }) {
        ctx.body = await payments.list(principal!, query);
      },
    }),
    route({
      method: 'get',
      path: '/api/ops/payments/needs-attention',
      summary: 'ops: payments whose compensation did not complete (money may still be held or charged), with what is left undone',
      tag: TAG,
      access: { permission: 'payments:review' },
      query: pageQuery,
      responses: {
        200: {
          description: 'A page of payments needing attention, newest first',
          schema: z.object({ data: z.array(payment.extend({ unresolvedCompensations: z.array(z.string()) })), nextCursor: z.string().nullable() }),
        },
      },
      async handler(ctx, { query, principal }) {
        ctx.body = await payments.listNeedingAttention(principal!, query);
      },
    }),
    route({
      method: 'get',
      path: '/api/payments/:id',
      summary: 'A payment',
      tag: TAG,
      access: { permission: 'payments:read' },
      params: idParams,
      responses: { 200: { description: 'The payment', schema: paymentDetail }, 404: { description: 'No such payment in this tenant', schema: null } },
      async handler(ctx, { params, principal }) {
        ctx.body = await payments.get(principal!, params.id);
      },
    }),
    route({
      method: 'post',
      path: '/api/payments/:id/capture',
      summary: 'Capture an authorised manual-capture payment',
      tag: TAG,
      access: { permission: 'payments:create' },
      params: idParams,
      responses: {
        200: { description: 'The payment after capture', schema: paymentDetail },
        202: { description: 'A worker took the capture; it is still under way (read the payment for its outcome)', schema: paymentDetail },
        409: { description: 'Not capturable now', schema: null },
        503: { description: UPDATE_NOT_TAKEN, schema: null },
      },
      async handler(ctx, { params, principal }) {
        const { payment, applied } = await payments.capture(principal!, params.id);
        answerUpdate(ctx, payment, applied);
      },
    }),
    route({
      method: 'post',
      path: '/api/payments/:id/cancel',
      summary: 'Cancel an authorised, in-review or action-requiring payment (the authorisation is released, the intent cancelled)',
      tag: TAG,
      access: { permission: 'payments:create' },
      params: idParams,
      responses: {
        200: { description: 'The cancelled payment', schema: paymentDetail },
        202: { description: 'A worker took the cancellation; it is still under way (read the payment for its outcome)', schema: paymentDetail },
        409: { description: 'Not cancellable now', schema: null },
        503: { description: UPDATE_NOT_TAKEN, schema: null },
      },
      async handler(ctx, { params, principal }) {
        const { payment, applied } = await payments.cancel(principal!, params.id);
        answerUpdate(ctx, payment, applied);
      },
    }),
    route({
      method: 'post',
      path: '/api/payments/:id/review',
      summary: 'Approve or reject a payment held for risk review (never one you created: 403, reason four-eyes)',
      tag: TAG,
      access: { permission: 'payments:review' },
      params: idParams,
      body: z.object({ decision: z.enum(['approve', 'reject']) }).strict(),
      example: { body: { decision: 'approve' } },
      responses: {
        200: { description: 'The payment after the decision', schema: paymentDetail },
        202: { description: 'A worker took the decision; it is still being recorded (read the payment for its outcome)', schema: paymentDetail },
        409: { description: 'Not in review', schema: null },
        503: { description: UPDATE_NOT_TAKEN, schema: null },
      },
      async handler(ctx, { params, body, principal }) {
        const { payment, applied } = await payments.review(principal!, params.id, body.decision);
        answerUpdate(ctx, payment, applied);
      },
    }),
    route({
      method: 'post',
      path: '/api/payments/:id/refunds',
      summary: 'Refund a payment, fully (no amount) or partly; never more than captured in total',
      tag: TAG,
      access: { permission: 'payments:refund' },
      params: idParams,
      headers: keyHeader,
      body: z.object({ amountMinor: amountMinor.optional(), reason: freeText(200).optional() }).strict(),
      example: { body: { amountMinor: 500, reason: 'requested_by_customer' } },
      responses: {
        201: { description: 'Refunded', schema: z.object({ refundId: z.string().uuid(), amountMinor: z.number().int(), status: z.string() }) },
        202: { description: 'Refund in progress', schema: z.object({ refundId: z.string().uuid(), amountMinor: z.number().int(), status: z.string() }) },
        409: { description: 'The payment has not taken money (pending, authorised, failed...): nothing is kept, a repeat is decided anew', schema: null },
        422: {
          description:
            'More than is left to refund (reason exceeds-refundable), the payment disputed (reason payment-disputed), or the key used with another request. A refusal is kept with the key: its repeat is refused the same, for good',
          schema: null,
        },
      },
      async handler(ctx, { params, headers, body, principal }) {
        const { settled, ...refund } = await payments.refund(principal!, params.id, headers['idempotency-key'], body);
        ctx.status = settled ? 201 : 202;
        ctx.body = refund;
      },
    }),
  ];
}
