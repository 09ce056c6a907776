/** The journal: entries of a date range in accounting-date order with their postings, read a page at a time. */
import type { Currency } from '../../core/money';
import type { PoolClient } from './db';

/** Where a page ends: the last entry's (accounting date, posted at to the microsecond, id). */
export interface JournalPosition {
  accountingDate: string;
  postedAt: string;
  id: string;
}

export interface JournalEntryView {
  id: string;
  accountingDate: string;
  postedAt: string;
  kind: string;
  description: string;
  source: { type: string; id: string };
  createdBy: string;
  approvedBy: string | null;
  reverses: string | null;
  postings: { accountId: string; code: string; name: string; currency: Currency; amountMinor: number }[];
}

export async function journalPage(
  tx: PoolClient,
  tenantId: string,
  q: { from: string; to: string; after?: JournalPosition; limit: number },
): Promise<{ entries: JournalEntryView[]; last: JournalPosition | null; more: boolean }> {
  const { rows } = await tx.query<{
    id: string;
    accounting_date: string;
    posted_at: string;
    kind: string;
    description: string;
    source_type: string;
    source_id: string;
    created_by: string;
    approved_by: string | null;
    reverses: string | null;
  }>(
    `SELECT e.id, to_char(e.accounting_date, 'YYYY-MM-DD') AS accounting_date,
            to_char(e.posted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS posted_at,
            e.kind, e.description, e.source_type, e.source_id, e.created_by, e.approved_by, e.reverses
       FROM journal_entries e
      WHERE e.tenant_id = $1 AND e.accounting_date BETWEEN $2::date AND $3::date
        AND ($4::date IS NULL OR (e.accounting_date, e.posted_at, e.id) > ($4::date, $5::timestamptz, $6::uuid))
      ORDER BY e.accounting_date, e.posted_at, e.id
      LIMIT $7`,
    [tenantId, q.from, q.to, q.after?.accountingDate ?? null, q.after?.postedAt ?? null, q.after?.id ?? null, q.limit + 1],
  );
  const shown = rows.slice(0, q.limit);
  const postings = await tx.query<{ entry_id: string; account_id: string; code: string; name: string; currency: string; amount: string }>(
    `SELECT p.entry_id, p.account_id, a.code, a.name, p.currency, p.amount_minor::text AS amount
       FROM postings p JOIN ledger_accounts a ON a.id = p.account_id
      WHERE p.tenant_id = $1 AND p.entry_id = ANY($2::uuid[])
      ORDER BY p.id`,
    [tenantId, shown.map((r) => r.id)],
  );
  const byEntry = new Map<string, JournalEntryView['postings']>();
  for (const p of postings.rows) {
    const list = byEntry.get(p.entry_id) ?? [];
    // A single posting is at most 2^53 - 1 (ledger_post), so it is exact as a number.
    list.push({ accountId: p.account_id, code: p.code, name: p.name, currency: p.currency.trim() as Currency, amountMinor: Number(p.amount) });
    byEntry.set(p.entry_id, list);
  }
  const entries = shown.map((r) => ({
    id: r.id,
    accountingDate: r.accounting_date,
    postedAt: r.posted_at,
    kind: r.kind,
    description: r.description,
    source: { type: r.source_type, id: r.source_id },
    createdBy: r.created_by,
    approvedBy: r.approved_by,
    reverses: r.reverses,
    postings: byEntry.get(r.id) ?? [],
  }));
  const lastRow = shown[shown.length - 1];
  return { entries, last: lastRow ? { accountingDate: lastRow.accounting_date, postedAt: lastRow.posted_at, id: lastRow.id } : null, more: rows.length > q.limit };
}
