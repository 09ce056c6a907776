/**
 * PaymentSagaReconciler: one run per tick of its schedule. A single activity finds pending payments that have no
 * saga and starts theirs (the saga's own workflow id, REJECT_DUPLICATE: a saga that ran is never run again).
 */
import { proxyActivities } from '@temporalio/workflow';
import type { SagaReconcilerActivities } from '../../activities/payments/saga-reconciler.activities';
import type { SagaReconcileInput, SagaReconcileResult } from './saga-reconciler.contract';

const reconcile = proxyActivities<SagaReconcilerActivities>({ startToCloseTimeout: '2 minutes', retry: { maximumInterval: '10 seconds', maximumAttempts: 3 } });

export async function PaymentSagaReconciler(input: SagaReconcileInput): Promise<SagaReconcileResult> {
  return reconcile.startOrphanedPaymentSagas(input);
}
