// The `payments` task queue's workflows (bundled by the worker from this file).
export { PaymentSaga } from './payment.workflow';
export { RefundWorkflow } from './refund.workflow';
export { PaymentSagaReconciler } from './saga-reconciler.workflow';
