// The `invoices` task queue's workflows (bundled by the worker from this file).
export { InvoiceLifecycle } from './invoice-lifecycle.workflow';
