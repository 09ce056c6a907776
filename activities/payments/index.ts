export { createPaymentActivities, type PaymentActivities, type PaymentActivityDeps, type RiskPolicy } from './payment.activities';
export { FaultInjectingProvider } from './provider/fault-injection';
export type { PaymentProvider, ProviderIntent } from './provider/port';
export { StripeMockSandboxProvider } from './provider/sandbox';
export { StripeProvider, stripeClient } from './provider/stripe';
export { createRefundActivities, REFUND_REJECTED, type RefundActivities, type RefundRequest } from './refund.activities';
export { createSagaReconcilerActivities, type SagaReconcilerActivities } from './saga-reconciler.activities';
export { createInvoiceDeliveryActivities, type InvoiceDelivery, type InvoiceDeliveryActivities } from './invoice-delivery.activities';
