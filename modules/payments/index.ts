/**
 * The payments module: what the payments context records outside its sagas, so far the provider's events (webhooks):
 * which payment an intent belongs to, each event once, and the disputes booked after a saga ended. The sagas' own
 * writes stay in activities/payments for now (STYLE: contexts move here when they are next touched).
 */
export { bookDispute, closeDispute, DISPUTE_OUTCOMES, isInquiry, PaymentNotSettled, recordInquiry, type DisputeNotice, type DisputeOutcome } from './disputes';
export { eventSeen, paymentOfIntent, recordEvent, recordRefund, scoped, type PaymentOfIntent, type ProviderEventOutcome, type ProviderEventRecord } from './provider-events';
export { countInFlightPayments, IN_FLIGHT_PAYMENT_STATUSES } from './in-flight';
