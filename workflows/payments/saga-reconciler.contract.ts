/**
 * The payment saga reconciler: run by a Temporal Schedule (workers/payment-saga-reconciler.ts), it starts the saga of
 * each payment the API committed but never started (it died in between). Side-effect free: the worker and tests
 * import it.
 */
export const PAYMENT_SAGA_RECONCILER_TYPE = 'PaymentSagaReconciler';

export interface SagaReconcileInput {
  /** A pending payment younger than this may still be having its saga started by the API. */
  graceSeconds: number;
  /** Only payments younger than this (well inside Temporal's retention): any saga that ran for one is still known. */
  windowHours: number;
  /** At most this many payments per run. */
  limit: number;
  /** The saga's clocks, from the worker's config (as the API passes them). */
  reviewTimeoutSeconds: number;
  authorizationTtlSeconds: number;
  /** Absent from schedules created before it existed (the saga then gives the customer an hour). */
  customerActionTimeoutSeconds?: number;
}

export interface SagaReconcileResult {
  /** Payments whose saga this run started: each was pending with none. */
  started: string[];
  /** Pending payments whose saga was already running (or had run): left alone. */
  alreadyStarted: number;
}
