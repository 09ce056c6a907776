/** Reading invoices for the API: one, a filtered page, the printable document, the open ones for ageing. */
import type { PoolClient } from 'pg';
import { ageReceivables, DEFAULT_DUNNING_POLICY, type AgeingReport, type DunningPolicy } from '../../core/invoices';
import { INVOICE_COLUMNS, invoiceView, linesOf, type InvoiceRow, type InvoiceStatus, type InvoiceView } from './rows';

export async function getInvoice(tx: PoolClient, invoiceId: string): Promise<InvoiceView | undefined> {
  const { rows } = await tx.query<InvoiceRow>(`SELECT ${INVOICE_COLUMNS} FROM invoices WHERE id = $1`, [invoiceId]);
  if (!rows[0]) return undefined;
  return invoiceView(rows[0], (await linesOf(tx, [invoiceId])).get(invoiceId) ?? []);
}

export async function invoiceDocument(tx: PoolClient, invoiceId: string): Promise<string | null | undefined> {
  const { rows } = await tx.query<{ document_html: string | null }>('SELECT document_html FROM invoices WHERE id = $1', [invoiceId]);
  return rows[0] ? rows[0].document_html : undefined;
}

export interface InvoiceFilter {
  status?: InvoiceStatus;
  customerId?: string;
  dueBefore?: string;
  dueAfter?: string;
  /** Keyset position: rows strictly after it (created_at DESC, id DESC). */
  after?: { t: string; id: string };
  limit: number;
}

/** Newest first; `limit + 1` rows so the caller knows whether another page follows. */
export async function listInvoices(tx: PoolClient, f: InvoiceFilter): Promise<(InvoiceRow & { view: InvoiceView })[]> {
  const { rows } = await tx.query<InvoiceRow>(
    `SELECT ${INVOICE_COLUMNS} FROM invoices
      WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR customer_id = $2)
        AND ($3::date IS NULL OR coalesce(due_date, requested_due_date) < $3) AND ($4::date IS NULL OR coalesce(due_date, requested_due_date) > $4)
        AND ($5::timestamptz IS NULL OR (created_at, id) < ($5, $6::uuid))
      ORDER BY created_at DESC, id DESC LIMIT $7`,
    [f.status ?? null, f.customerId ?? null, f.dueBefore ?? null, f.dueAfter ?? null, f.after?.t ?? null, f.after?.id ?? null, f.limit + 1],
  );
  const lines = await linesOf(tx, rows.map((r) => r.id));
  return rows.map((r) => ({ ...r, view: invoiceView(r, lines.get(r.id) ?? []) }));
}

/** The tenant's name, for the documents' heading. */
export async function sellerName(tx: PoolClient): Promise<string> {
  const { rows } = await tx.query<{ name: string }>('SELECT name FROM tenants WHERE id = current_tenant_id()');
  return rows[0]?.name ?? '';
}

/** Receivables by age on `asOf`: every open invoice's outstanding amount by days past due. */
export async function receivablesAgeing(tx: PoolClient, asOf: string): Promise<AgeingReport> {
  const { rows } = await tx.query<{ customer_id: string; currency: string; due_date: string; outstanding_minor: string }>(
    `SELECT customer_id, currency, to_char(due_date, 'YYYY-MM-DD') AS due_date, outstanding_minor FROM invoices
      WHERE status IN ('issued', 'partially_paid', 'overdue') AND outstanding_minor > 0 AND issue_date <= $1::date`,
    [asOf],
  );
  return ageReceivables(rows.map((r) => ({ customerId: r.customer_id, currency: r.currency, dueDate: r.due_date, outstandingMinor: Number(r.outstanding_minor) })), asOf);
}

export async function dunningPolicy(tx: PoolClient): Promise<DunningPolicy> {
  const { rows } = await tx.query<{ offsets_days: number[] }>('SELECT offsets_days FROM invoice_dunning_policies');
  return rows[0] ? { offsetsDays: rows[0].offsets_days } : DEFAULT_DUNNING_POLICY;
}

export async function setDunningPolicy(tx: PoolClient, tenantId: string, policy: DunningPolicy): Promise<void> {
  await tx.query(
    'INSERT INTO invoice_dunning_policies (tenant_id, offsets_days) VALUES ($1, $2) ON CONFLICT (tenant_id) DO UPDATE SET offsets_days = EXCLUDED.offsets_days, updated_at = now()',
    [tenantId, policy.offsetsDays],
  );
}
