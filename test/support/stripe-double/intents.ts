/**
 * The double's PaymentIntents, with Stripe's state machine where stripe-mock (stateless, canned answers) has none:
 * created -> confirmed -> requires_action / processing / requires_capture / succeeded, or declined back to
 * requires_payment_method; capture and cancel only from the statuses Stripe allows (else
 * payment_intent_unexpected_state); refunds within what was captured. Outcomes come from the test payment method:
 *   pm_card_visa, pm_card_mastercard                  authorised (charged at once with automatic capture)
 *   pm_card_threeDSecure2Required                     requires_action (3-D Secure) until the test completes it
 *   pm_card_chargeDeclined(InsufficientFunds...)      declined (402 card_error)
 *   pm_double_processing                              processing until the test settles it
 * Every change a webhook would announce is emitted as Stripe's event.
 */
import { stripeId, type WebhookSender } from './webhooks';

export type Status = 'requires_payment_method' | 'requires_confirmation' | 'requires_action' | 'processing' | 'requires_capture' | 'canceled' | 'succeeded';

export interface Intent {
  id: string;
  object: 'payment_intent';
  amount: number;
  amount_capturable: number;
  amount_received: number;
  currency: string;
  status: Status | string;
  capture_method: 'automatic' | 'manual';
  payment_method: string | null;
  client_secret: string;
  metadata: Record<string, string>;
  next_action: Record<string, unknown> | null;
  last_payment_error: Record<string, unknown> | null;
  latest_charge: string | null;
  created: number;
  livemode: false;
}

export interface Charge {
  id: string;
  object: 'charge';
  amount: number;
  amount_captured: number;
  amount_refunded: number;
  refunded: boolean;
  currency: string;
  payment_intent: string;
  disputed: boolean;
}

/** A refusal in Stripe's shape: HTTP status and the `error` object. */
export class StripeFailure extends Error {
  constructor(
    readonly status: number,
    readonly error: Record<string, unknown>,
  ) {
    super(String(error.message));
  }
}

const DECLINES: Record<string, string> = {
  pm_card_chargeDeclined: 'generic_decline',
  pm_card_chargeDeclinedInsufficientFunds: 'insufficient_funds',
  pm_card_chargeDeclinedExpiredCard: 'expired_card',
};
const THREE_D_SECURE = new Set(['pm_card_threeDSecure2Required', 'pm_card_authenticationRequired']);
const PROCESSING = 'pm_double_processing';
const CANCELABLE = new Set(['requires_payment_method', 'requires_confirmation', 'requires_action', 'requires_capture']);

export const unexpectedState = (intent: Intent, action: string) =>
  new StripeFailure(400, {
    type: 'invalid_request_error',
    code: 'payment_intent_unexpected_state',
    message: `You cannot ${action} this PaymentIntent because it has a status of ${intent.status}.`,
  });

export class IntentBook {
  readonly intents = new Map<string, Intent>();
  readonly charges = new Map<string, Charge>();
  readonly disputes = new Map<string, Record<string, unknown>>();

  constructor(private readonly webhooks: WebhookSender) {}

  get(id: string): Intent {
    const intent = this.intents.get(id);
    if (!intent) throw new StripeFailure(404, { type: 'invalid_request_error', code: 'resource_missing', message: `No such payment_intent: '${id}'`, param: 'intent' });
    return intent;
  }

  create(p: { amount: number; currency: string; payment_method?: string; capture_method?: string; metadata: Record<string, string>; confirm: boolean }): Intent {
    if (!Number.isSafeInteger(p.amount) || p.amount < 1) throw new StripeFailure(400, { type: 'invalid_request_error', code: 'parameter_invalid_integer', param: 'amount', message: 'Invalid integer' });
    const id = stripeId('pi');
    const intent: Intent = {
      id,
      object: 'payment_intent',
      amount: p.amount,
      amount_capturable: 0,
      amount_received: 0,
      currency: p.currency,
      status: p.payment_method ? 'requires_confirmation' : 'requires_payment_method',
      capture_method: p.capture_method === 'manual' ? 'manual' : 'automatic',
      payment_method: p.payment_method ?? null,
      client_secret: `${id}_secret_${stripeId('cs').slice(3)}`,
      metadata: p.metadata,
      next_action: null,
      last_payment_error: null,
      latest_charge: null,
      created: Math.floor(Date.now() / 1000),
      livemode: false,
    };
    this.intents.set(id, intent);
    return p.confirm ? this.confirm(id) : intent;
  }

  confirm(id: string): Intent {
    const intent = this.get(id);
    if (intent.status !== 'requires_confirmation' && intent.status !== 'requires_payment_method') throw unexpectedState(intent, 'confirm');
    const pm = intent.payment_method ?? '';
    if (DECLINES[pm]) {
      this.fail(intent, { type: 'card_error', code: 'card_declined', decline_code: DECLINES[pm], message: 'Your card was declined.' });
      throw new StripeFailure(402, { ...intent.last_payment_error!, payment_intent: { ...intent } });
    }
    if (THREE_D_SECURE.has(pm)) {
      this.move(intent, 'requires_action', 'payment_intent.requires_action');
      intent.next_action = { type: 'use_stripe_sdk', use_stripe_sdk: { type: 'three_d_secure_redirect', stripe_js: `https://hooks.stripe.com/3d_secure_2/hosted?payment_intent=${id}` } };
      return intent;
    }
    if (pm === PROCESSING) return this.move(intent, 'processing', 'payment_intent.processing');
    return this.authorise(intent);
  }

  capture(id: string): Intent {
    const intent = this.get(id);
    if (intent.status !== 'requires_capture') throw unexpectedState(intent, 'capture');
    intent.amount_capturable = 0;
    intent.amount_received = intent.amount;
    this.charge(intent).amount_captured = intent.amount;
    return this.move(intent, 'succeeded', 'payment_intent.succeeded');
  }

  cancel(id: string): Intent {
    const intent = this.get(id);
    if (!CANCELABLE.has(intent.status)) throw unexpectedState(intent, 'cancel');
    intent.amount_capturable = 0;
    return this.move(intent, 'canceled', 'payment_intent.canceled');
  }

  refund(p: { payment_intent: string; amount?: number; metadata: Record<string, string> }): Record<string, unknown> {
    const intent = this.get(p.payment_intent);
    const charge = intent.latest_charge ? this.charges.get(intent.latest_charge) : undefined;
    if (intent.status !== 'succeeded' || !charge) throw new StripeFailure(400, { type: 'invalid_request_error', code: 'charge_not_captured', message: 'This PaymentIntent has no captured charge to refund.' });
    const amount = p.amount ?? charge.amount_captured - charge.amount_refunded;
    if (amount < 1 || charge.amount_refunded + amount > charge.amount_captured) {
      throw new StripeFailure(400, { type: 'invalid_request_error', code: 'amount_too_large', param: 'amount', message: 'Refund amount is greater than unrefunded amount on charge.' });
    }
    charge.amount_refunded += amount;
    charge.refunded = charge.amount_refunded === charge.amount_captured;
    this.webhooks.emit('charge.refunded', { ...charge });
    return { id: stripeId('re'), object: 'refund', amount, currency: charge.currency, charge: charge.id, payment_intent: intent.id, status: 'succeeded', metadata: p.metadata };
  }

  /** The customer finished (or failed) 3-D Secure in the browser. */
  completeAuthentication(id: string, outcome: 'succeeds' | 'fails'): Intent {
    const intent = this.get(id);
    if (intent.status !== 'requires_action') throw unexpectedState(intent, 'authenticate');
    intent.next_action = null;
    if (outcome === 'succeeds') return this.authorise(intent);
    return this.fail(intent, { type: 'card_error', code: 'payment_intent_authentication_failure', message: 'The customer did not authenticate.' });
  }

  /** An asynchronous payment settles, days later on Stripe. */
  settleProcessing(id: string, outcome: 'succeeds' | 'fails'): Intent {
    const intent = this.get(id);
    if (intent.status !== 'processing') throw unexpectedState(intent, 'settle');
    if (outcome === 'succeeds') return this.authorise(intent);
    return this.fail(intent, { type: 'card_error', code: 'payment_method_provider_decline', decline_code: 'insufficient_funds', message: 'The payment failed.' });
  }

  /**
   * The cardholder disputes the charge (`charge.dispute.created`). With a `warning_*` status it is an inquiry: the
   * issuer asks before it charges back, and no money moves. A chargeback (`needs_response`) takes the funds, which
   * Stripe announces separately (`charge.dispute.funds_withdrawn`): the test sends that with withdrawFunds(), so it
   * chooses the order the two events arrive in, as Stripe does not order them.
   */
  dispute(id: string, amount?: number, status: 'needs_response' | 'warning_needs_response' = 'needs_response'): Record<string, unknown> {
    const intent = this.get(id);
    const charge = intent.latest_charge ? this.charges.get(intent.latest_charge) : undefined;
    if (!charge || charge.amount_captured === 0) throw unexpectedState(intent, 'dispute');
    charge.disputed = true;
    const dispute = {
      id: stripeId('dp'),
      object: 'dispute',
      amount: amount ?? charge.amount_captured,
      currency: charge.currency,
      charge: charge.id,
      payment_intent: intent.id,
      reason: 'fraudulent',
      status,
      is_charge_refundable: status.startsWith('warning_'),
      balance_transactions: [] as Record<string, unknown>[],
      created: Math.floor(Date.now() / 1000),
    };
    this.disputes.set(dispute.id, dispute);
    this.webhooks.emit('charge.dispute.created', dispute);
    return dispute;
  }

  /** An inquiry the issuer turns into a chargeback: `needs_response`, announced as `charge.dispute.updated`. */
  escalate(id: string): Record<string, unknown> {
    const dispute = this.disputeOf(id);
    if (!String(dispute.status).startsWith('warning_') || dispute.status === 'warning_closed') throw new StripeFailure(400, { type: 'invalid_request_error', message: `The dispute is ${String(dispute.status)}, not an open inquiry.` });
    dispute.status = 'needs_response';
    dispute.is_charge_refundable = false;
    this.webhooks.emit('charge.dispute.updated', dispute);
    return dispute;
  }

  /** Stripe debits the disputed amount from the balance (`charge.dispute.funds_withdrawn`); never for an inquiry. */
  withdrawFunds(id: string): Record<string, unknown> {
    const dispute = this.disputeOf(id);
    if (String(dispute.status).startsWith('warning_')) throw new StripeFailure(400, { type: 'invalid_request_error', message: 'An inquiry takes no funds.' });
    this.balanceTransaction(dispute, -Number(dispute.amount), 'Chargeback withdrawal');
    this.webhooks.emit('charge.dispute.funds_withdrawn', dispute);
    return dispute;
  }

  /** Stripe credits the disputed amount back once the dispute is won (`charge.dispute.funds_reinstated`). */
  reinstateFunds(id: string): Record<string, unknown> {
    const dispute = this.disputeOf(id);
    if (dispute.status !== 'won') throw new StripeFailure(400, { type: 'invalid_request_error', message: `The dispute is ${String(dispute.status)}: no funds to reinstate.` });
    this.balanceTransaction(dispute, Number(dispute.amount), 'Chargeback reversal');
    this.webhooks.emit('charge.dispute.funds_reinstated', dispute);
    return dispute;
  }

  /**
   * The dispute is decided, announced as `charge.dispute.closed`: a chargeback is `won` (the funds come back: see
   * reinstateFunds) or `lost` (they stay with the cardholder); an inquiry closes `warning_closed` (it never became a
   * chargeback, and never took anything).
   */
  closeDispute(id: string, status: 'won' | 'lost' | 'warning_closed'): Record<string, unknown> {
    const dispute = this.disputeOf(id);
    if (['won', 'lost', 'warning_closed'].includes(dispute.status as string)) throw new StripeFailure(400, { type: 'invalid_request_error', message: `The dispute is already ${String(dispute.status)}.` });
    if (String(dispute.status).startsWith('warning_') !== (status === 'warning_closed')) {
      throw new StripeFailure(400, { type: 'invalid_request_error', message: `A dispute that is ${String(dispute.status)} cannot close ${status}.` });
    }
    dispute.status = status;
    this.webhooks.emit('charge.dispute.closed', dispute);
    return dispute;
  }

  private disputeOf(id: string): Record<string, unknown> {
    const dispute = this.disputes.get(id);
    if (!dispute) throw new StripeFailure(404, { type: 'invalid_request_error', code: 'resource_missing', message: `No such dispute: '${id}'`, param: 'dispute' });
    return dispute;
  }

  private balanceTransaction(dispute: Record<string, unknown>, amount: number, description: string) {
    (dispute.balance_transactions as Record<string, unknown>[]).push({ id: stripeId('txn'), object: 'balance_transaction', amount, currency: dispute.currency, description, source: dispute.id, type: 'adjustment' });
  }

  expanded(intent: Intent, expand: string[]): Record<string, unknown> {
    const out: Record<string, unknown> = { ...intent };
    if (expand.includes('latest_charge') && intent.latest_charge) out.latest_charge = { ...this.charges.get(intent.latest_charge)! };
    return out;
  }

  private authorise(intent: Intent): Intent {
    if (intent.capture_method === 'manual') {
      intent.amount_capturable = intent.amount;
      this.charge(intent);
      return this.move(intent, 'requires_capture', 'payment_intent.amount_capturable_updated');
    }
    intent.amount_received = intent.amount;
    this.charge(intent).amount_captured = intent.amount;
    return this.move(intent, 'succeeded', 'payment_intent.succeeded');
  }

  private fail(intent: Intent, error: Record<string, unknown>): Intent {
    intent.last_payment_error = error;
    intent.next_action = null;
    return this.move(intent, 'requires_payment_method', 'payment_intent.payment_failed');
  }

  private charge(intent: Intent): Charge {
    if (!intent.latest_charge) {
      const charge: Charge = { id: stripeId('ch'), object: 'charge', amount: intent.amount, amount_captured: 0, amount_refunded: 0, refunded: false, currency: intent.currency, payment_intent: intent.id, disputed: false };
      this.charges.set(charge.id, charge);
      intent.latest_charge = charge.id;
    }
    return this.charges.get(intent.latest_charge)!;
  }

  private move(intent: Intent, status: Status, event: string): Intent {
    intent.status = status;
    this.webhooks.emit(event, { ...intent });
    return intent;
  }
}
