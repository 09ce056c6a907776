/** Drafts: created once per Idempotency-Key, edited as a whole while they are drafts. */
import type { PoolClient } from 'pg';
import { invoiceTotals, type InvoiceLine } from '../../core/invoices';
import type { Currency } from '../../core/money';
import { INVOICE_COLUMNS, type InvoiceRow } from './rows';

export interface DraftContent {
  customerId: string;
  currency: Currency;
  lines: InvoiceLine[];
  terms?: string;
  dueDate?: string;
  note?: string;
}

/** The Idempotency-Key already created a draft from another request. */
export class IdempotencyKeyReused extends Error {
  constructor() {
    super('This Idempotency-Key was used with a different request');
    this.name = 'IdempotencyKeyReused';
  }
}

export class InvoiceNotDraft extends Error {
  constructor(readonly status: string) {
    super(`the invoice is ${status}, not a draft`);
    this.name = 'InvoiceNotDraft';
  }
}

async function writeLines(tx: PoolClient, tenantId: string, invoiceId: string, lines: InvoiceLine[]) {
  await tx.query('SELECT invoice_clear_draft_lines($1)', [invoiceId]);
  const nets = invoiceTotals(lines).lineNetMinor;
  for (const [i, l] of lines.entries()) {
    await tx.query(
      'INSERT INTO invoice_lines (tenant_id, invoice_id, position, description, quantity, unit_price_minor, tax_rate_bp, net_minor) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
      [tenantId, invoiceId, i + 1, l.description, l.quantity, l.unitPriceMinor, l.taxRateBp, nets[i]],
    );
  }
}

/** Creates the draft, or finds the one this key already created (`created` false). */
export async function createDraft(
  tx: PoolClient,
  d: DraftContent & { id: string; tenantId: string; idempotencyKey: string; series: string; createdBy: string; requestHash?: Buffer },
): Promise<{ row: InvoiceRow; created: boolean }> {
  const t = invoiceTotals(d.lines);
  const inserted = await tx.query<InvoiceRow>(
    `INSERT INTO invoices (id, tenant_id, idempotency_key, series, customer_id, currency, terms, requested_due_date, note, subtotal_minor, tax_minor, total_minor, created_by, request_hash)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) ON CONFLICT (tenant_id, idempotency_key) DO NOTHING RETURNING ${INVOICE_COLUMNS}`,
    [d.id, d.tenantId, d.idempotencyKey, d.series, d.customerId, d.currency, d.terms ?? null, d.dueDate ?? null, d.note ?? null, t.subtotalMinor, t.taxMinor, t.totalMinor, d.createdBy, d.requestHash ?? null],
  );
  if (inserted.rows[0]) {
    await writeLines(tx, d.tenantId, d.id, d.lines);
    return { row: inserted.rows[0], created: true };
  }
  const { rows } = await tx.query<InvoiceRow & { request_hash: Buffer | null }>(`SELECT ${INVOICE_COLUMNS}, request_hash FROM invoices WHERE idempotency_key = $1`, [d.idempotencyKey]);
  const prior = rows[0]!;
  if (d.requestHash && prior.request_hash && !prior.request_hash.equals(d.requestHash)) throw new IdempotencyKeyReused();
  return { row: prior, created: false };
}

/** Replaces a draft's content (the workflow's state after a validated update). */
export async function saveDraft(tx: PoolClient, tenantId: string, invoiceId: string, d: DraftContent): Promise<void> {
  const t = invoiceTotals(d.lines);
  const { rows } = await tx.query<{ status: string }>('SELECT status FROM invoices WHERE id = $1 FOR UPDATE', [invoiceId]);
  if (!rows[0]) throw new Error(`no invoice ${invoiceId}`);
  if (rows[0].status !== 'draft') throw new InvoiceNotDraft(rows[0].status);
  await tx.query(
    `UPDATE invoices SET customer_id = $2, currency = $3, terms = $4, requested_due_date = $5, note = $6, subtotal_minor = $7, tax_minor = $8, total_minor = $9, updated_at = now() WHERE id = $1`,
    [invoiceId, d.customerId, d.currency, d.terms ?? null, d.dueDate ?? null, d.note ?? null, t.subtotalMinor, t.taxMinor, t.totalMinor],
  );
  await writeLines(tx, tenantId, invoiceId, d.lines);
}
