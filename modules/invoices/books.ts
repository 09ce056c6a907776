/**
 * What each step of an invoice's life writes, each in the caller's one tenant transaction: the invoice row, the
 * ledger entry (through ledger_post) and the outbox event together, so a step is all done or not at all. Every
 * step is idempotent: ledger entry ids come from the invoice id and the step (platform/ids.ts), payments and credit
 * notes are rows keyed by their own ids, events by their occurrence; a retried step finds its work done.
 */
import type { PoolClient } from 'pg';
import type { CreditSplit } from '../../core/invoices';
import { appendToOutbox, ONCE } from '../../platform/events/outbox';
import type { EventType } from '../../platform/events/cloudevent';
import { deterministicUuid } from '../../platform/ids';
import { postIntoOpenPeriod, postJournalEntry, reverseJournalEntry, type PostingInput } from '../../platform/ledger';
import { renderInvoiceHtml } from './document';
import { invoiceNumber, invoiceRow, invoiceView, linesOf, type InvoicePaymentMethod, type InvoiceRow, type InvoiceStatus } from './rows';

export const entryIdFor = (invoiceId: string, step: string) => deterministicUuid('invoice', invoiceId, step);
/** Row ids of a payment, credit note or credit movement: from the invoice and the caller's key. */
const rowIdFor = (invoiceId: string, kind: string, key: string) => deterministicUuid('invoice-row', invoiceId, kind, key);

async function emit(tx: PoolClient, inv: InvoiceRow, type: EventType, occurrence: string | number, extra: Record<string, unknown> = {}) {
  // Ids, states and amounts only: the customer is an opaque id.
  await appendToOutbox(tx, {
    occurrence,
    type,
    tenantId: inv.tenant_id,
    aggregateType: 'invoice',
    aggregateId: inv.id,
    partitionKey: inv.id,
    data: { invoiceId: inv.id, number: invoiceNumber(inv.series, inv.number), customerId: inv.customer_id, currency: inv.currency, ...extra },
  });
}

async function mustGet(tx: PoolClient, invoiceId: string): Promise<InvoiceRow> {
  const row = await invoiceRow(tx, invoiceId, true);
  if (!row) throw new Error(`no invoice ${invoiceId}`);
  return row;
}

const amount = (amountMinor: number, row: InvoiceRow) => ({ amountMinor, currency: row.currency });

/** Number (from the database), ledger entry, printable HTML and invoice.created, in one transaction. */
export async function issueInvoice(tx: PoolClient, input: { invoiceId: string; issueDate: string; dueDate: string; effectiveAt: string }): Promise<{ number: string; entryId: string }> {
  const { rows } = await tx.query<{ n: number }>('SELECT invoice_issue($1, $2::date, $3::date) AS n', [input.invoiceId, input.issueDate, input.dueDate]);
  const row = await mustGet(tx, input.invoiceId);
  const entryId = entryIdFor(row.id, 'issue');
  const number = invoiceNumber(row.series, rows[0]!.n)!;
  if (row.issue_entry_id) return { number, entryId };
  const postings: PostingInput[] = [
    { account: { systemKey: 'accounts_receivable' }, amount: amount(Number(row.total_minor), row) },
    { account: { systemKey: 'sales_revenue' }, amount: amount(-Number(row.subtotal_minor), row) },
  ];
  if (Number(row.tax_minor) > 0) postings.push({ account: { systemKey: 'tax_payable' }, amount: amount(-Number(row.tax_minor), row) });
  await postJournalEntry(tx, { id: entryId, tenantId: row.tenant_id, effectiveAt: new Date(input.effectiveAt), description: `Invoice ${number} issued`, source: { type: 'invoice', id: row.id }, postings });
  const lines = (await linesOf(tx, [row.id])).get(row.id) ?? [];
  const seller = await tx.query<{ name: string }>('SELECT name FROM tenants WHERE id = $1', [row.tenant_id]);
  const html = renderInvoiceHtml(invoiceView(row, lines), { name: seller.rows[0]?.name ?? '' });
  await tx.query('UPDATE invoices SET issue_entry_id = $2, document_html = $3, updated_at = now() WHERE id = $1', [row.id, entryId, html]);
  await emit(tx, row, 'invoice.created', ONCE, { totalMinor: Number(row.total_minor), taxMinor: Number(row.tax_minor), issueDate: input.issueDate, dueDate: input.dueDate });
  return { number, entryId };
}

const CASH_ACCOUNT: Record<InvoicePaymentMethod, string | null> = {
  bank_transfer: 'cash',
  cash: 'cash',
  // A card payment is the payment saga's: its own entry already moved receivable to provider clearing.
  card: null,
  customer_credit: 'customer_credit',
};

/**
 * A payment against the invoice, once per payment id: receivable -> cash (or the customer's credit balance), the
 * new status, invoice.payment_received and, when nothing is left, invoice.paid. Money has moved: an entry dated into
 * a closed period goes into the first open one.
 */
export async function recordPayment(
  tx: PoolClient,
  p: { invoiceId: string; paymentId: string; amountMinor: number; method: InvoicePaymentMethod; reference?: string; receivedOn: string; effectiveAt: string; status: InvoiceStatus; recordedBy?: string },
): Promise<'recorded' | 'already-recorded'> {
  const row = await mustGet(tx, p.invoiceId);
  const debit = CASH_ACCOUNT[p.method];
  const entryId = debit ? entryIdFor(row.id, `payment:${p.paymentId}`) : null;
  const inserted = await tx.query(
    `INSERT INTO invoice_payments (id, tenant_id, invoice_id, amount_minor, method, reference, received_on, ledger_entry_id, recorded_by, payment_key)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (id) DO NOTHING`,
    [rowIdFor(row.id, 'payment', p.paymentId), row.tenant_id, row.id, p.amountMinor, p.method, p.reference ?? null, p.receivedOn, entryId, p.recordedBy ?? null, p.paymentId],
  );
  if (inserted.rowCount === 0) return 'already-recorded';
  if (debit && entryId) {
    await postIntoOpenPeriod(tx, {
      id: entryId,
      tenantId: row.tenant_id,
      effectiveAt: new Date(p.effectiveAt),
      description: `Payment for invoice ${invoiceNumber(row.series, row.number)} (${p.method.replace('_', ' ')})`,
      source: { type: 'invoice', id: row.id },
      postings: [
        { account: { systemKey: debit }, amount: amount(p.amountMinor, row) },
        { account: { systemKey: 'accounts_receivable' }, amount: amount(-p.amountMinor, row) },
      ],
    });
  }
  const { rows } = await tx.query<{ outstanding_minor: string }>(
    'UPDATE invoices SET paid_minor = paid_minor + $2, status = $3, updated_at = now() WHERE id = $1 RETURNING outstanding_minor',
    [row.id, p.amountMinor, p.status],
  );
  const outstandingMinor = Number(rows[0]!.outstanding_minor);
  await emit(tx, row, 'invoice.payment_received', p.paymentId, { paymentId: p.paymentId, amountMinor: p.amountMinor, method: p.method, outstandingMinor });
  if (outstandingMinor === 0) await emit(tx, row, 'invoice.paid', ONCE, { totalMinor: Number(row.total_minor), paidMinor: Number(row.paid_minor) + p.amountMinor });
  return 'recorded';
}

/**
 * A credit note: revenue and tax reversed pro rata (the split comes from core/invoices), what was owed reduced,
 * and any excess (the invoice was paid) credited to the customer's balance in the invoice's currency, or, the part
 * `refundedMinor` already refunded to the card by RefundWorkflow, against the refunds account: the refund's own entry
 * (refunds / provider clearing) then nets it to zero, so revenue is reversed once and the money leaves clearing once.
 * With money refunded the entry cannot be refused by a closed period: it goes into the first open one.
 */
export async function creditInvoice(
  tx: PoolClient,
  c: { invoiceId: string; creditNoteId: string; amountMinor: number; split: CreditSplit; refundedMinor?: number; reason?: string; effectiveAt: string; status: InvoiceStatus; createdBy?: string },
): Promise<'credited' | 'already-credited'> {
  const row = await mustGet(tx, c.invoiceId);
  const entryId = entryIdFor(row.id, `credit-note:${c.creditNoteId}`);
  const s = c.split;
  const refundedMinor = c.refundedMinor ?? 0;
  if (!Number.isSafeInteger(refundedMinor) || refundedMinor < 0 || refundedMinor > s.toCustomerCreditMinor) throw new Error('a credit note refunds at most what it credits beyond what was owed');
  const toBalanceMinor = s.toCustomerCreditMinor - refundedMinor;
  const inserted = await tx.query(
    `INSERT INTO invoice_credit_notes (id, tenant_id, invoice_id, amount_minor, net_minor, tax_minor, against_outstanding_minor, to_customer_credit_minor, reason, ledger_entry_id, created_by, credit_note_key)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (id) DO NOTHING`,
    [rowIdFor(row.id, 'credit-note', c.creditNoteId), row.tenant_id, row.id, c.amountMinor, s.netMinor, s.taxMinor, s.againstOutstandingMinor, s.toCustomerCreditMinor, c.reason ?? null, entryId, c.createdBy ?? null, c.creditNoteId],
  );
  if (inserted.rowCount === 0) return 'already-credited';
  const postings: PostingInput[] = [];
  if (s.netMinor) postings.push({ account: { systemKey: 'sales_revenue' }, amount: amount(s.netMinor, row) });
  if (s.taxMinor) postings.push({ account: { systemKey: 'tax_payable' }, amount: amount(s.taxMinor, row) });
  if (s.againstOutstandingMinor) postings.push({ account: { systemKey: 'accounts_receivable' }, amount: amount(-s.againstOutstandingMinor, row) });
  if (refundedMinor) postings.push({ account: { systemKey: 'refunds' }, amount: amount(-refundedMinor, row) });
  if (toBalanceMinor) postings.push({ account: { systemKey: 'customer_credit' }, amount: amount(-toBalanceMinor, row) });
  const number = invoiceNumber(row.series, row.number);
  const entry = { id: entryId, tenantId: row.tenant_id, effectiveAt: new Date(c.effectiveAt), description: `Credit note on invoice ${number}`, source: { type: 'invoice', id: row.id }, postings };
  await (refundedMinor ? postIntoOpenPeriod(tx, entry) : postJournalEntry(tx, entry));
  await tx.query(
    'UPDATE invoices SET credited_minor = credited_minor + $2, credited_to_balance_minor = credited_to_balance_minor + $3, status = $4, updated_at = now() WHERE id = $1',
    [row.id, s.againstOutstandingMinor, s.toCustomerCreditMinor, c.status],
  );
  if (toBalanceMinor) {
    await tx.query(
      `INSERT INTO customer_credit_balances (tenant_id, customer_id, currency, balance_minor) VALUES ($1, $2, $3, $4)
       ON CONFLICT (tenant_id, customer_id, currency) DO UPDATE SET balance_minor = customer_credit_balances.balance_minor + EXCLUDED.balance_minor`,
      [row.tenant_id, row.customer_id, row.currency, toBalanceMinor],
    );
    await tx.query("INSERT INTO customer_credit_movements (id, tenant_id, customer_id, currency, amount_minor, kind, invoice_id) VALUES ($1, $2, $3, $4, $5, 'credit_note', $6)", [
      rowIdFor(row.id, 'credit-note', c.creditNoteId), row.tenant_id, row.customer_id, row.currency, toBalanceMinor, row.id,
    ]);
  }
  await emit(tx, row, 'invoice.credited', c.creditNoteId, {
    creditNoteId: c.creditNoteId,
    amountMinor: c.amountMinor,
    netMinor: s.netMinor,
    taxMinor: s.taxMinor,
    toCustomerCreditMinor: toBalanceMinor,
    refundedMinor,
  });
  return 'credited';
}

/** The customer's credit balance in a currency (locked when `forUpdate`). */
export async function customerCredit(tx: PoolClient, customerId: string, currency: string, forUpdate = false): Promise<number> {
  const { rows } = await tx.query<{ balance_minor: string }>(
    `SELECT balance_minor FROM customer_credit_balances WHERE customer_id = $1 AND currency = $2${forUpdate ? ' FOR UPDATE' : ''}`,
    [customerId, currency],
  );
  return Number(rows[0]?.balance_minor ?? 0);
}

/**
 * Applies the customer's credit balance to this invoice, up to `maxMinor` (what it still owes): the balance row is
 * locked, so two invoices can never spend the same credit. Recorded as a payment by customer credit (customer
 * credit -> receivable) under `applicationId`; a retry answers what the first attempt applied.
 */
export async function applyCustomerCredit(
  tx: PoolClient,
  a: { invoiceId: string; applicationId: string; maxMinor: number; receivedOn: string; effectiveAt: string; statusWhenPaid: InvoiceStatus; statusOtherwise: InvoiceStatus; recordedBy?: string },
): Promise<number> {
  const row = await mustGet(tx, a.invoiceId);
  const prior = await tx.query<{ amount_minor: string }>('SELECT amount_minor FROM invoice_payments WHERE id = $1', [rowIdFor(row.id, 'payment', a.applicationId)]);
  if (prior.rows[0]) return Number(prior.rows[0].amount_minor);
  const balance = await customerCredit(tx, row.customer_id, row.currency, true);
  const applied = Math.min(balance, a.maxMinor, Number(row.outstanding_minor));
  if (applied <= 0) return 0;
  await tx.query('UPDATE customer_credit_balances SET balance_minor = balance_minor - $3 WHERE customer_id = $1 AND currency = $2', [row.customer_id, row.currency, applied]);
  await tx.query("INSERT INTO customer_credit_movements (id, tenant_id, customer_id, currency, amount_minor, kind, invoice_id) VALUES ($1, $2, $3, $4, $5, 'applied', $6)", [
    rowIdFor(row.id, 'credit-applied', a.applicationId), row.tenant_id, row.customer_id, row.currency, -applied, row.id,
  ]);
  await recordPayment(tx, {
    invoiceId: row.id,
    paymentId: a.applicationId,
    amountMinor: applied,
    method: 'customer_credit',
    receivedOn: a.receivedOn,
    effectiveAt: a.effectiveAt,
    status: applied === Number(row.outstanding_minor) ? a.statusWhenPaid : a.statusOtherwise,
    recordedBy: a.recordedBy,
  });
  return applied;
}

/** Voids an invoice nothing was paid on: the issue entry reversed (if it was issued), invoice.voided. */
export async function voidInvoice(tx: PoolClient, v: { invoiceId: string; effectiveAt: string; reason?: string }): Promise<void> {
  const row = await mustGet(tx, v.invoiceId);
  if (row.status === 'void') return;
  if (Number(row.paid_minor) > 0) throw new Error('an invoice with payments cannot be voided');
  if (row.issue_entry_id) {
    await reverseJournalEntry(tx, {
      id: entryIdFor(row.id, 'void'),
      tenantId: row.tenant_id,
      entryId: row.issue_entry_id,
      effectiveAt: new Date(v.effectiveAt),
      description: `Invoice ${invoiceNumber(row.series, row.number)} voided`,
      source: { type: 'invoice', id: row.id },
    });
  }
  await tx.query("UPDATE invoices SET status = 'void', updated_at = now() WHERE id = $1", [row.id]);
  if (row.number !== null) await emit(tx, row, 'invoice.voided', ONCE, { reason: v.reason ?? null });
}

/** Writes what is still owed off to bad-debt expense: invoice.written_off. */
export async function writeOffInvoice(tx: PoolClient, w: { invoiceId: string; amountMinor: number; effectiveAt: string; reason?: string }): Promise<void> {
  const row = await mustGet(tx, w.invoiceId);
  if (row.status === 'written_off') return;
  await postJournalEntry(tx, {
    id: entryIdFor(row.id, 'write-off'),
    tenantId: row.tenant_id,
    effectiveAt: new Date(w.effectiveAt),
    description: `Invoice ${invoiceNumber(row.series, row.number)} written off`,
    source: { type: 'invoice', id: row.id },
    postings: [
      { account: { systemKey: 'bad_debt_expense' }, amount: amount(w.amountMinor, row) },
      { account: { systemKey: 'accounts_receivable' }, amount: amount(-w.amountMinor, row) },
    ],
  });
  await tx.query("UPDATE invoices SET written_off_minor = written_off_minor + $2, status = 'written_off', updated_at = now() WHERE id = $1", [row.id, w.amountMinor]);
  await emit(tx, row, 'invoice.written_off', ONCE, { amountMinor: w.amountMinor, reason: w.reason ?? null });
}

export async function markOverdue(tx: PoolClient, invoiceId: string): Promise<void> {
  const row = await mustGet(tx, invoiceId);
  const { rowCount } = await tx.query("UPDATE invoices SET status = 'overdue', updated_at = now() WHERE id = $1 AND status IN ('issued', 'partially_paid')", [invoiceId]);
  if (rowCount) await emit(tx, row, 'invoice.overdue', ONCE, { dueDate: row.due_date, outstandingMinor: Number(row.outstanding_minor) });
}

/** invoice.reminder_due, once per reminder number: the notification consumer turns it into a message. */
export async function remindInvoice(tx: PoolClient, r: { invoiceId: string; reminderNumber: number; offsetDays: number }): Promise<void> {
  const row = await mustGet(tx, r.invoiceId);
  await emit(tx, row, 'invoice.reminder_due', r.reminderNumber, {
    reminderNumber: r.reminderNumber,
    offsetDays: r.offsetDays,
    dueDate: row.due_date,
    outstandingMinor: Number(row.outstanding_minor),
  });
}
