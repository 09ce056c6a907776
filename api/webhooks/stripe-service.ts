/**
 * Stripe's webhooks, received: the signature is checked against the endpoint's secret over the raw body (a
 * timestamp older than 5 minutes is refused, so a captured request cannot be replayed later), the event is matched
 * to a payment by the intent id stored on the payment row, and handled once per event id:
 *   payment_intent.*        signalled to the running saga (providerEvent), which asks Stripe where the intent stands;
 *                           a saga that has ended has nothing to wait for (recorded `saga_ended`)
 *   charge.dispute.created  an inquiry (`warning_*`): kept, nothing booked (Stripe takes no money for one); a
 *                           chargeback: booked after the saga ended: the payment `disputed`, the ledger,
 *                           `payment.disputed`
 *   charge.dispute.updated  an inquiry turned into a chargeback: booked then (a closing status: as closed)
 *   charge.dispute.funds_withdrawn   Stripe took the funds: booked, if neither event above booked it already
 *   charge.dispute.closed   won / warning_closed: the booking reversed (an inquiry had none), the payment
 *                           `succeeded` again; lost: kept; `payment.dispute_closed` either way
 *   charge.dispute.funds_reinstated  Stripe returned the funds: closed won, if the close did not arrive first
 *   charge.refunded         FinFlow's own refund, or one made elsewhere (recorded `needs_review` for ops)
 * An event for no known intent is recorded `unmatched`. The payload is never logged or stored.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import Stripe from 'stripe';
import { z } from 'zod';
import type { Pool } from 'pg';
import {
  bookDispute,
  closeDispute,
  DISPUTE_OUTCOMES,
  eventSeen,
  isInquiry,
  PaymentNotSettled,
  paymentOfIntent,
  recordEvent,
  recordInquiry,
  recordRefund,
  scoped,
  type ProviderEventOutcome,
} from '../../modules/payments';
import type { Logger } from '../../platform/logger';
import { fromStripeAmount } from '../../activities/payments/provider/stripe';
import { INTENT_EVENTS, paymentWorkflowId, providerEvent } from '../../workflows/payments/payment.contract';
import { DomainError } from '../errors';

export const SIGNATURE_TOLERANCE_SECONDS = 300;
const PROVIDER = 'stripe';

const id = (prefix: string) => z.string().regex(new RegExp(`^${prefix}_[A-Za-z0-9_]{1,200}$`));
const envelope = z.object({ id: id('evt'), type: z.string().max(100), data: z.object({ object: z.record(z.string(), z.unknown()) }) });
const intentObject = z.object({ id: id('pi') });
const currency = z.string().regex(/^[a-zA-Z]{3}$/);
const chargeObject = z.object({ payment_intent: id('pi').nullable(), amount_refunded: z.number().int().min(0), currency: currency.optional() });
const disputeObject = z.object({
  id: id('dp'),
  payment_intent: id('pi').nullable(),
  amount: z.number().int().min(1),
  currency,
  reason: z.string().regex(/^[a-z_]{1,50}$/),
  // Unix seconds, within what a Date holds (year 9999): past it the dispute's date would be no date at all.
  created: z.number().int().min(0).max(253_402_300_799),
  status: z.string().regex(/^[a-z_]{1,50}$/),
});

/** What each dispute event is about: its creation, a change of status, the money taken or returned, its close. */
type DisputeStep = 'created' | 'updated' | 'withdrawn' | 'reinstated' | 'closed';
const DISPUTE_EVENTS = new Map<string, DisputeStep>([
  ['charge.dispute.created', 'created'],
  ['charge.dispute.updated', 'updated'],
  ['charge.dispute.funds_withdrawn', 'withdrawn'],
  ['charge.dispute.funds_reinstated', 'reinstated'],
  ['charge.dispute.closed', 'closed'],
]);

export type WebhookAnswer = { received: true; outcome: ProviderEventOutcome | 'duplicate' | 'ignored' };

export class StripeWebhooks {
  constructor(private readonly deps: { db: Pool; temporal: Client; secret: string; log: Logger }) {}

  async receive(rawBody: string | undefined, signature: string): Promise<WebhookAnswer> {
    const event = this.verified(rawBody, signature);
    const object = event.data.object;
    if ((INTENT_EVENTS as readonly string[]).includes(event.type)) return this.toSaga(event, parse(intentObject, object).id);
    if (event.type === 'charge.refunded') {
      const charge = parse(chargeObject, object);
      return this.refund(event, charge.payment_intent, charge.currency ? inMinorUnits(charge.amount_refunded, charge.currency, 'amount_refunded') : charge.amount_refunded);
    }
    const step = DISPUTE_EVENTS.get(event.type);
    if (step) return this.dispute(event, parse(disputeObject, object), step);
    return { received: true, outcome: 'ignored' }; // an event this endpoint does not act on: acknowledged, not kept
  }

  private verified(rawBody: string | undefined, signature: string): z.output<typeof envelope> {
    let event: unknown;
    try {
      event = Stripe.webhooks.constructEvent(rawBody ?? '', signature, this.deps.secret, SIGNATURE_TOLERANCE_SECONDS);
    } catch {
      throw new DomainError('validation-error', 'The Stripe-Signature does not sign this body with the endpoint secret, or its timestamp is too old', {
        errors: [{ path: 'headers.stripe-signature', message: 'not a valid signature of this body within 300 seconds' }],
      });
    }
    return parse(envelope, event, 'body');
  }

  private async toSaga(event: z.output<typeof envelope>, intentId: string): Promise<WebhookAnswer> {
    const payment = await paymentOfIntent(this.deps.db, intentId);
    if (!payment) return this.unmatched(event, intentId);
    if (await eventSeen(this.deps.db, payment.tenantId, event.id)) return { received: true, outcome: 'duplicate' };
    let outcome: ProviderEventOutcome = 'delivered';
    try {
      // A repeat signal is harmless: the saga only asks the provider again.
      await this.deps.temporal.workflow.getHandle(paymentWorkflowId(payment.tenantId, payment.paymentId)).signal(providerEvent, { eventId: event.id, type: event.type });
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
      outcome = 'saga_ended';
    }
    const record = { eventId: event.id, provider: PROVIDER, type: event.type, providerRef: intentId, tenantId: payment.tenantId, paymentId: payment.paymentId, outcome };
    await scoped(this.deps.db, payment.tenantId, (tx) => recordEvent(tx, record));
    return { received: true, outcome };
  }

  private async refund(event: z.output<typeof envelope>, intentId: string | null, refundedMinor: number): Promise<WebhookAnswer> {
    const payment = intentId ? await paymentOfIntent(this.deps.db, intentId) : undefined;
    if (!payment) return this.unmatched(event, intentId);
    const base = { eventId: event.id, provider: PROVIDER, type: event.type, providerRef: intentId, tenantId: payment.tenantId, paymentId: payment.paymentId };
    const outcome = await recordRefund(this.deps.db, { ...base, refundedMinor });
    if (outcome === 'needs_review') this.deps.log.warn({ paymentId: payment.paymentId, eventId: event.id }, 'a refund made outside FinFlow: recorded for review');
    return { received: true, outcome };
  }

  private async dispute(event: z.output<typeof envelope>, d: z.output<typeof disputeObject>, step: DisputeStep): Promise<WebhookAnswer> {
    const payment = d.payment_intent ? await paymentOfIntent(this.deps.db, d.payment_intent) : undefined;
    if (!payment) return this.unmatched(event, d.payment_intent);
    const notice = {
      event: { eventId: event.id, provider: PROVIDER, type: event.type, providerRef: d.payment_intent },
      tenantId: payment.tenantId,
      paymentId: payment.paymentId,
      disputeId: d.id,
      amountMinor: inMinorUnits(d.amount, d.currency, 'amount'),
      currency: d.currency,
      reason: d.reason,
      openedAt: new Date(d.created * 1000),
    };
    const book = () => {
      // The money moved: Stripe took it, or gave it back (a win), whatever the dispute's status says.
      if (step === 'withdrawn') return bookDispute(this.deps.db, notice);
      if (step === 'reinstated') return closeDispute(this.deps.db, { ...notice, outcome: 'won' });
      const outcome = DISPUTE_OUTCOMES.find((o) => o === d.status);
      // An update to a closing status says what the close will (each dispute closes once).
      if (step === 'closed' || (step === 'updated' && outcome)) {
        if (outcome) return closeDispute(this.deps.db, { ...notice, outcome });
      } else if (isInquiry(d.status)) {
        return recordInquiry(this.deps.db, notice);
      } else if (step === 'created' || d.status === 'needs_response' || d.status === 'under_review') {
        return bookDispute(this.deps.db, notice);
      }
      // A status Stripe adds later: nothing is decided about the money without someone looking.
      const record = { ...notice.event, tenantId: payment.tenantId, paymentId: payment.paymentId, outcome: 'needs_review' as const, detail: `a dispute ${step} ${d.status}` };
      return scoped(this.deps.db, payment.tenantId, async (tx) => ((await recordEvent(tx, record)) ? ('needs_review' as const) : ('duplicate' as const)));
    };
    const outcome = await book().catch((err: unknown) => {
      if (err instanceof PaymentNotSettled) throw new DomainError('conflict', 'The payment is still being processed; send the event again later');
      throw err;
    });
    if (outcome === 'needs_review') this.deps.log.warn({ paymentId: payment.paymentId, eventId: event.id, outcome }, 'a dispute needs review (not booked, or booked only in part): recorded for ops');
    return { received: true, outcome };
  }

  private async unmatched(event: z.output<typeof envelope>, intentId: string | null): Promise<WebhookAnswer> {
    const record = { eventId: event.id, provider: PROVIDER, type: event.type, providerRef: intentId, tenantId: null, paymentId: null, outcome: 'unmatched' as const };
    const fresh = await scoped(this.deps.db, null, (tx) => recordEvent(tx, record));
    return { received: true, outcome: fresh ? 'unmatched' : 'duplicate' };
  }
}

/** An amount in Stripe's units (ISK: hundredths of a króna), in FinFlow's minor units; not a whole number of them: a 400. */
function inMinorUnits(amount: number, currency: string, field: string): number {
  try {
    return fromStripeAmount(amount, currency);
  } catch {
    throw new DomainError('validation-error', 'The event is not in the shape this endpoint expects', {
      errors: [{ path: `body.data.object.${field}`, message: `not a whole number of ${currency.toUpperCase()} minor units` }],
    });
  }
}

/** A signed event in a shape this endpoint does not expect: a 400 naming the field, nothing done. */
/** Validates the event's object (at body.data.object) or, with `at` 'body', the event itself; errors name the path. */
function parse<T extends z.ZodType>(schema: T, value: unknown, at = 'body.data.object'): z.output<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new DomainError('validation-error', 'The event is not in the shape this endpoint expects', {
    errors: parsed.error.issues.map((i) => ({ path: [at, ...i.path].join('.'), message: i.message })),
  });
}
