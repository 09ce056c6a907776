/**
 * The invoices module: the only code that reads and writes the invoice tables (invoices, invoice_lines, payments,
 * credit notes, customer credit balances, series counters, dunning policies) and writes invoice events to the
 * outbox. Both api/invoices and activities/invoices call it; every function takes the caller's tenant transaction.
 */
export { applyCustomerCredit, creditInvoice, customerCredit, entryIdFor, issueInvoice, markOverdue, recordPayment, remindInvoice, voidInvoice, writeOffInvoice } from './books';
export { renderInvoiceHtml } from './document';
export { createDraft, IdempotencyKeyReused, InvoiceNotDraft, saveDraft, type DraftContent } from './drafts';
export { dunningPolicy, getInvoice, invoiceDocument, listInvoices, receivablesAgeing, sellerName, setDunningPolicy, type InvoiceFilter } from './reads';
export { INVOICE_STATUSES, invoiceNumber, OPEN_STATUSES, PAYMENT_METHODS, type InvoicePaymentMethod, type InvoiceRow, type InvoiceStatus, type InvoiceView } from './rows';
