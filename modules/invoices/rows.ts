/** The invoice tables' row types and reads: declared once, here (modules/invoices owns the tables). */
import type { PoolClient } from 'pg';
import type { InvoiceLine } from '../../core/invoices';
import type { Currency } from '../../core/money';

export const INVOICE_STATUSES = ['draft', 'issued', 'partially_paid', 'paid', 'overdue', 'credited', 'void', 'written_off'] as const;
export type InvoiceStatus = (typeof INVOICE_STATUSES)[number];
export const OPEN_STATUSES: readonly InvoiceStatus[] = ['issued', 'partially_paid', 'overdue'];
export const PAYMENT_METHODS = ['bank_transfer', 'cash', 'card', 'customer_credit'] as const;
export type InvoicePaymentMethod = (typeof PAYMENT_METHODS)[number];

export interface InvoiceRow {
  id: string;
  tenant_id: string;
  idempotency_key: string;
  series: string;
  number: number | null;
  customer_id: string;
  currency: Currency;
  status: InvoiceStatus;
  terms: string | null;
  requested_due_date: string | null;
  issue_date: string | null;
  due_date: string | null;
  note: string | null;
  subtotal_minor: string;
  tax_minor: string;
  total_minor: string;
  paid_minor: string;
  credited_minor: string;
  credited_to_balance_minor: string;
  written_off_minor: string;
  outstanding_minor: string;
  issue_entry_id: string | null;
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
}

/** An invoice as the API and the events show it: numbers as numbers, dates as YYYY-MM-DD. */
export interface InvoiceView {
  id: string;
  number: string | null;
  series: string;
  status: InvoiceStatus;
  customerId: string;
  currency: Currency;
  terms: string | null;
  issueDate: string | null;
  dueDate: string | null;
  note: string | null;
  lines: (InvoiceLine & { netMinor: number })[];
  subtotalMinor: number;
  taxMinor: number;
  totalMinor: number;
  paidMinor: number;
  creditedMinor: number;
  creditedToBalanceMinor: number;
  writtenOffMinor: number;
  outstandingMinor: number;
  createdAt: string;
  updatedAt: string;
}

/** INV-000042: the series and its gapless number. */
export const invoiceNumber = (series: string, number: number | null) => (number === null ? null : `${series}-${String(number).padStart(6, '0')}`);

export const INVOICE_COLUMNS = `id, tenant_id, idempotency_key, series, number, customer_id, currency, status, terms,
  to_char(requested_due_date, 'YYYY-MM-DD') AS requested_due_date, to_char(issue_date, 'YYYY-MM-DD') AS issue_date,
  to_char(due_date, 'YYYY-MM-DD') AS due_date, note, subtotal_minor, tax_minor, total_minor, paid_minor, credited_minor,
  credited_to_balance_minor, written_off_minor, outstanding_minor, issue_entry_id, created_by, created_at, updated_at`;

interface LineRow {
  invoice_id: string;
  description: string;
  quantity: number;
  unit_price_minor: string;
  tax_rate_bp: number;
  net_minor: string;
}

export async function linesOf(tx: PoolClient, invoiceIds: string[]): Promise<Map<string, InvoiceView['lines']>> {
  const { rows } = await tx.query<LineRow>(
    'SELECT invoice_id, description, quantity, unit_price_minor, tax_rate_bp, net_minor FROM invoice_lines WHERE invoice_id = ANY($1::uuid[]) ORDER BY invoice_id, position',
    [invoiceIds],
  );
  const by = new Map<string, InvoiceView['lines']>();
  for (const r of rows) {
    const list = by.get(r.invoice_id) ?? [];
    list.push({ description: r.description, quantity: r.quantity, unitPriceMinor: Number(r.unit_price_minor), taxRateBp: r.tax_rate_bp, netMinor: Number(r.net_minor) });
    by.set(r.invoice_id, list);
  }
  return by;
}

export function invoiceView(r: InvoiceRow, lines: InvoiceView['lines']): InvoiceView {
  return {
    id: r.id,
    number: invoiceNumber(r.series, r.number),
    series: r.series,
    status: r.status,
    customerId: r.customer_id,
    currency: r.currency,
    terms: r.terms,
    issueDate: r.issue_date,
    dueDate: r.due_date ?? r.requested_due_date,
    note: r.note,
    lines,
    subtotalMinor: Number(r.subtotal_minor),
    taxMinor: Number(r.tax_minor),
    totalMinor: Number(r.total_minor),
    paidMinor: Number(r.paid_minor),
    creditedMinor: Number(r.credited_minor),
    creditedToBalanceMinor: Number(r.credited_to_balance_minor),
    writtenOffMinor: Number(r.written_off_minor),
    outstandingMinor: Number(r.outstanding_minor),
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}

export async function invoiceRow(tx: PoolClient, invoiceId: string, forUpdate = false): Promise<InvoiceRow | undefined> {
  const { rows } = await tx.query<InvoiceRow>(`SELECT ${INVOICE_COLUMNS} FROM invoices WHERE id = $1${forUpdate ? ' FOR UPDATE' : ''}`, [invoiceId]);
  return rows[0];
}
