export { createInvoiceActivities, type InvoiceActivities, type InvoiceActivityDeps } from './invoice.activities';
