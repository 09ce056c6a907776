/**
 * Manual journal entries under maker-checker (journal_entry_drafts + ledger_decide_draft): a draft names its
 * accounting date, and is posted only when a principal other than its maker approves it (the database refuses a
 * self-approval, hint `four-eyes`).
 */
import type { Currency } from '../../core/money';
import { AccountingError } from '../../core/accounting';
import { resolveAccounts } from './chart';
import { translatePg, type PoolClient } from './db';

export interface DraftPostingInput {
  accountId?: string;
  accountCode?: string;
  currency: Currency;
  amountMinor: number;
}

export interface NewDraft {
  id: string;
  kind: 'standard' | 'adjusting';
  accountingDate: string;
  description: string;
  postings: DraftPostingInput[];
  createdBy: string;
}

export interface DraftView {
  id: string;
  kind: 'standard' | 'adjusting';
  accountingDate: string;
  description: string;
  postings: { accountId: string; currency: Currency; amountMinor: number }[];
  status: 'draft' | 'posted' | 'rejected';
  createdBy: string;
  createdAt: string;
  decidedBy: string | null;
  decidedAt: string | null;
  reason: string | null;
  entryId: string | null;
}

interface DraftRow {
  id: string;
  kind: DraftView['kind'];
  accounting_date: string;
  description: string;
  postings: DraftView['postings'];
  status: DraftView['status'];
  created_by: string;
  created_at: Date;
  decided_by: string | null;
  decided_at: Date | null;
  reason: string | null;
  entry_id: string | null;
}

// A draft keeps the accounting date its maker wrote; ledger_decide_draft posts it at noon of that day in the books'
// zone as it is when approved (a draft from before that column: the day of its moment in the zone as it is now).
const SELECT = `SELECT d.id, d.kind, to_char(coalesce(d.accounting_date, (d.effective_at AT TIME ZONE t.time_zone)::date), 'YYYY-MM-DD') AS accounting_date, d.description, d.postings,
                       d.status, d.created_by, d.created_at, d.decided_by, d.decided_at, d.reason, d.entry_id
                  FROM journal_entry_drafts d JOIN tenants t ON t.id = d.tenant_id`;

const view = (r: DraftRow): DraftView => ({
  id: r.id,
  kind: r.kind,
  accountingDate: r.accounting_date,
  description: r.description,
  postings: r.postings,
  status: r.status,
  createdBy: r.created_by,
  createdAt: r.created_at.toISOString(),
  decidedBy: r.decided_by,
  decidedAt: r.decided_at?.toISOString() ?? null,
  reason: r.reason,
  entryId: r.entry_id,
});

export async function insertDraft(tx: PoolClient, tenantId: string, d: NewDraft): Promise<DraftView> {
  const ids = await resolveAccounts(tx, d.postings);
  const unknown = d.postings.filter((_, i) => !ids[i]).map((p) => p.accountId ?? p.accountCode);
  if (unknown.length) throw new AccountingError('invalid', `No ledger account ${unknown.join(', ')} in this tenant`, { accounts: unknown });
  const postings = d.postings.map((p, i) => ({ accountId: ids[i]!, currency: p.currency, amountMinor: p.amountMinor }));
  await tx
    .query(
      `INSERT INTO journal_entry_drafts (id, tenant_id, kind, accounting_date, effective_at, description, postings, created_by)
       SELECT $1, $2, $3, $4::date, ($4::date + time '12:00') AT TIME ZONE t.time_zone, $5, $6, $7 FROM tenants t WHERE t.id = $2`,
      [d.id, tenantId, d.kind, d.accountingDate, d.description, JSON.stringify(postings), d.createdBy],
    )
    .catch(translatePg);
  return (await draftById(tx, d.id))!;
}

export async function draftById(tx: PoolClient, id: string): Promise<DraftView | undefined> {
  const { rows } = await tx.query<DraftRow>(`${SELECT} WHERE d.id = $1`, [id]);
  return rows[0] && view(rows[0]);
}

export async function listDrafts(tx: PoolClient, status: DraftView['status'] | undefined, limit: number): Promise<DraftView[]> {
  const { rows } = await tx.query<DraftRow>(`${SELECT} WHERE ($1::text IS NULL OR d.status = $1) ORDER BY d.created_at DESC, d.id DESC LIMIT $2`, [status ?? null, limit]);
  return rows.map(view);
}

/** Approve (posts the entry, with the draft's id) or reject; the checker is never the maker. */
export async function decideDraft(tx: PoolClient, id: string, decision: 'approve' | 'reject', actor: string, reason?: string): Promise<DraftView> {
  await tx.query('SELECT ledger_decide_draft($1, $2, $3, $4)', [id, decision, actor, reason ?? null]).catch(translatePg);
  return (await draftById(tx, id))!;
}
