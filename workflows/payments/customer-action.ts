/**
 * PaymentSaga's wait after an authorisation the provider could not finish at once. Workflow-safe.
 *
 *   requires_action  the customer must authenticate (3-D Secure): wait for the provider's event, until the deadline;
 *                    then the payment expires (the saga cancels the intent) unless the provider says otherwise
 *   processing       the provider settles later (asynchronous methods, days at most): wait for its event, asking
 *                    again every few hours in case a webhook was lost; no deadline of ours
 *
 * A provider event only wakes the wait: what counts is the intent as the provider holds it, asked for by its id
 * (`checkAuthorization`), so a forged, lost, repeated or out-of-order webhook cannot move the payment on its own.
 */
import { ApplicationFailure, condition, patched } from '@temporalio/workflow';
import type { IntentOutcome } from '../../activities/payments/payment-provider.activities';
import { PAYMENT_FAILURES } from './payment.contract';

/** The patch id of the wait: histories recorded before it replay without it. */
export const WAITS_FOR_CUSTOMER_OR_PROVIDER = 'payment-waits-for-customer-or-provider';
/**
 * The patch id of counting provider events from the read of the intent, not from the start of the wait: an event
 * that came while the intent was being read (or the authorisation's answer was on its way) wakes the wait at once.
 * Before it, such an event was slept through until the deadline (an hour) or the next ask (six hours).
 */
export const WAIT_COUNTS_EVENTS_SINCE_READ = 'payment-wait-counts-events-since-read';
export const DEFAULT_CUSTOMER_ACTION_TIMEOUT_SECONDS = 3600;
const PROCESSING_RECHECK_MS = 6 * 3600 * 1000;

export interface WaitDeps {
  customerActionTimeoutSeconds: number;
  /** How many provider events the saga has received so far. */
  providerEvents(): number;
  /** How many it had received when it began the read that answered `first` (the authorisation). */
  providerEventsBeforeFirstRead: number;
  cancelRequested(): boolean;
  showStatus(status: 'requires_action' | 'processing'): void;
  check(): Promise<IntentOutcome>;
}

export type WaitOutcome = { intent: IntentOutcome } | { stopped: 'canceled' | 'expired' };

export async function waitForCustomerOrProvider(first: IntentOutcome, deps: WaitDeps): Promise<WaitOutcome> {
  const deadline = Date.now() + deps.customerActionTimeoutSeconds * 1000;
  let intent = first;
  // An event counts if it came after the read of the intent began: the read may have missed what it announces.
  // (Asked only of a payment that waits: the others' histories stay as they were.)
  const waits = (s: string) => s === 'requires_action' || s === 'processing';
  const sinceRead = waits(first.status) && patched(WAIT_COUNTS_EVENTS_SINCE_READ);
  let beforeRead = deps.providerEventsBeforeFirstRead;
  while (waits(intent.status)) {
    deps.showStatus(intent.status);
    const seen = sinceRead ? beforeRead : deps.providerEvents();
    const wait = intent.status === 'requires_action' ? Math.max(deadline - Date.now(), 0) : PROCESSING_RECHECK_MS;
    await condition(() => deps.providerEvents() > seen || deps.cancelRequested(), wait);
    if (deps.cancelRequested()) return { stopped: 'canceled' };
    beforeRead = deps.providerEvents();
    intent = await deps.check();
    if (intent.status === 'requires_action' && Date.now() >= deadline) return { stopped: 'expired' };
  }
  switch (intent.status) {
    case 'requires_capture':
    case 'succeeded':
      return { intent };
    case 'requires_payment_method':
      throw ApplicationFailure.nonRetryable(`the provider refused the payment after the wait (${intent.lastFailureCode ?? 'payment_failed'})`, PAYMENT_FAILURES.declined);
    case 'canceled':
      throw ApplicationFailure.nonRetryable('the intent was cancelled at the provider', PAYMENT_FAILURES.declined);
    default:
      throw ApplicationFailure.nonRetryable(`the intent is ${intent.status} after the wait`, 'ProviderUnexpectedAnswer');
  }
}
