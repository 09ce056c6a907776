/**
 * The ledger's write and read paths. Every function takes a tenant-scoped transaction (`withTenant`); the
 * invariants themselves are enforced by PostgreSQL (migrations/*_ledger.sql), so a bug here cannot unbalance
 * the books, only fail to post.
 */
import type { PoolClient } from 'pg';
import { negate, type Currency, type Money } from '../../core/money';

export type AccountType = 'asset' | 'liability' | 'equity' | 'revenue' | 'expense';

/** A system account (by its key, e.g. `provider_clearing`) or any account by id. */
export type AccountRef = { systemKey: string } | { accountId: string };

export interface PostingInput {
  account: AccountRef;
  /** Debit positive, credit negative. */
  amount: Money;
}

export interface JournalEntryInput {
  /** Deterministic (platform/ids.ts, from the business key and step): the same step can only post once. */
  id: string;
  tenantId: string;
  effectiveAt: Date;
  description: string;
  source: { type: string; id: string };
  postings: PostingInput[];
}

export class LedgerError extends Error {
  constructor(
    readonly code: 'unbalanced' | 'closed-period' | 'unknown-account' | 'conflicting-entry',
    message: string,
  ) {
    super(message);
    this.name = 'LedgerError';
  }
}

async function resolveAccount(tx: PoolClient, ref: AccountRef): Promise<string> {
  const { rows } =
    'systemKey' in ref
      ? await tx.query<{ id: string }>('SELECT id FROM ledger_accounts WHERE system_key = $1', [ref.systemKey])
      : await tx.query<{ id: string }>('SELECT id FROM ledger_accounts WHERE id = $1', [ref.accountId]);
  if (!rows[0]) throw new LedgerError('unknown-account', `no ledger account ${JSON.stringify(ref)}`);
  return rows[0].id;
}

/**
 * Posts an entry. Returns `already-posted` when an entry with this id exists for the same source (a retried
 * step); a different source under the same id is a conflict. Balance is checked by the database at commit.
 */
export async function postJournalEntry(tx: PoolClient, entry: JournalEntryInput, reverses?: string): Promise<'posted' | 'already-posted'> {
  const inserted = await tx.query(
    `INSERT INTO journal_entries (id, tenant_id, effective_at, description, source_type, source_id, reverses)
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING`,
    [entry.id, entry.tenantId, entry.effectiveAt, entry.description, entry.source.type, entry.source.id, reverses ?? null],
  ).catch(translate);
  if (inserted.rowCount === 0) {
    const { rows } = await tx.query<{ source_type: string; source_id: string }>('SELECT source_type, source_id FROM journal_entries WHERE id = $1', [entry.id]);
    if (rows[0]?.source_type === entry.source.type && rows[0]?.source_id === entry.source.id) return 'already-posted';
    throw new LedgerError('conflicting-entry', `journal entry ${entry.id} exists for another source`);
  }
  for (const p of entry.postings) {
    const accountId = await resolveAccount(tx, p.account);
    await tx.query('INSERT INTO postings (tenant_id, entry_id, account_id, currency, amount_minor) VALUES ($1, $2, $3, $4, $5)', [
      entry.tenantId,
      entry.id,
      accountId,
      p.amount.currency,
      p.amount.amountMinor,
    ]);
  }
  // Check balance now rather than at COMMIT, so the caller gets a LedgerError, not a failed commit.
  await tx.query('SET CONSTRAINTS journal_entry_balances IMMEDIATE').catch(translate);
  await tx.query('SET CONSTRAINTS journal_entry_balances DEFERRED');
  return 'posted';
}

/** Posts the mirror image of an entry. Idempotent by `id`; an entry can be reversed only once. */
export async function reverseJournalEntry(
  tx: PoolClient,
  input: { id: string; tenantId: string; entryId: string; effectiveAt: Date; description: string; source: { type: string; id: string } },
): Promise<'posted' | 'already-posted'> {
  const { rows } = await tx.query<{ account_id: string; currency: Currency; amount_minor: string }>(
    'SELECT account_id, currency, amount_minor FROM postings WHERE entry_id = $1 ORDER BY id',
    [input.entryId],
  );
  if (rows.length === 0) throw new LedgerError('unknown-account', `no journal entry ${input.entryId} to reverse`);
  return postJournalEntry(
    tx,
    {
      ...input,
      postings: rows.map((r) => ({ account: { accountId: r.account_id }, amount: negate({ amountMinor: Number(r.amount_minor), currency: r.currency }) })),
    },
    input.entryId,
  );
}

export interface Balance {
  accountId: string;
  code: string;
  systemKey: string | null;
  type: AccountType;
  currency: Currency;
  /** Debits minus credits. */
  debitMinusCredit: number;
  /** In the account's normal direction: positive assets and expenses, positive liabilities, equity and revenue. */
  balanceMinor: number;
}

const CREDIT_NORMAL = new Set<AccountType>(['liability', 'equity', 'revenue']);

/** Balances per account and currency, now or as of a moment (entries effective at or before it). */
export async function balances(tx: PoolClient, asOf?: Date): Promise<Balance[]> {
  const { rows } = await tx.query<{ account_id: string; code: string; system_key: string | null; type: AccountType; currency: Currency; total: string }>(
    `SELECT a.id AS account_id, a.code, a.system_key, a.type, p.currency, sum(p.amount_minor)::text AS total
       FROM postings p
       JOIN journal_entries e ON e.id = p.entry_id
       JOIN ledger_accounts a ON a.id = p.account_id
      WHERE ($1::timestamptz IS NULL OR e.effective_at <= $1)
      GROUP BY a.id, a.code, a.system_key, a.type, p.currency
      ORDER BY a.code, p.currency`,
    [asOf ?? null],
  );
  return rows.map((r) => {
    const dmc = Number(r.total);
    return {
      accountId: r.account_id,
      code: r.code,
      systemKey: r.system_key,
      type: r.type,
      currency: r.currency,
      debitMinusCredit: dmc,
      balanceMinor: CREDIT_NORMAL.has(r.type) ? -dmc : dmc,
    };
  });
}

export async function accountBalance(tx: PoolClient, systemKey: string, currency: Currency, asOf?: Date): Promise<number> {
  const { rows } = await tx.query<{ type: AccountType; total: string | null }>(
    `SELECT a.type, sum(p.amount_minor)::text AS total
       FROM ledger_accounts a
       LEFT JOIN postings p ON p.account_id = a.id AND p.currency = $2
       LEFT JOIN journal_entries e ON e.id = p.entry_id
      WHERE a.system_key = $1 AND ($3::timestamptz IS NULL OR e.effective_at IS NULL OR e.effective_at <= $3)
      GROUP BY a.type`,
    [systemKey, currency, asOf ?? null],
  );
  const row = rows[0];
  if (!row?.total) return 0;
  const dmc = Number(row.total);
  return CREDIT_NORMAL.has(row.type) ? -dmc : dmc;
}

/** Places a hold (idempotent by id): authorised money that is not yet posted. */
export async function placeHold(
  tx: PoolClient,
  hold: { id: string; tenantId: string; account: AccountRef; amount: Money; expiresAt: Date; source: { type: string; id: string } },
): Promise<void> {
  if (hold.amount.amountMinor <= 0) throw new RangeError('a hold is a positive amount');
  const accountId = await resolveAccount(tx, hold.account);
  await tx.query(
    `INSERT INTO ledger_holds (id, tenant_id, account_id, currency, amount_minor, source_type, source_id, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING`,
    [hold.id, hold.tenantId, accountId, hold.amount.currency, hold.amount.amountMinor, hold.source.type, hold.source.id, hold.expiresAt],
  );
}

/** Settles an active hold; settling it again with the same outcome is a no-op, with another one an error. */
export async function settleHold(tx: PoolClient, id: string, outcome: 'captured' | 'released' | 'expired'): Promise<void> {
  const { rows } = await tx.query<{ status: string }>('SELECT status FROM ledger_holds WHERE id = $1', [id]);
  if (rows[0]?.status === outcome) return;
  await tx.query("UPDATE ledger_holds SET status = $2, settled_at = now() WHERE id = $1 AND status = 'active'", [id, outcome]).catch(translate);
  const after = await tx.query<{ status: string }>('SELECT status FROM ledger_holds WHERE id = $1', [id]);
  if (after.rows[0]?.status !== outcome) throw new LedgerError('conflicting-entry', `hold ${id} is ${after.rows[0]?.status ?? 'unknown'}, not ${outcome}`);
}

/** Posted balance minus active holds, for one account and currency. */
export async function availableBalance(tx: PoolClient, systemKey: string, currency: Currency): Promise<number> {
  const posted = await accountBalance(tx, systemKey, currency);
  const { rows } = await tx.query<{ held: string | null }>(
    `SELECT sum(h.amount_minor)::text AS held FROM ledger_holds h JOIN ledger_accounts a ON a.id = h.account_id
      WHERE a.system_key = $1 AND h.currency = $2 AND h.status = 'active'`,
    [systemKey, currency],
  );
  return posted - Number(rows[0]?.held ?? 0);
}

function translate(err: unknown): never {
  const e = err as { code?: string; message?: string };
  if (e.code === '23514' && /does not balance|needs at least two/.test(e.message ?? '')) throw new LedgerError('unbalanced', e.message!);
  if (e.code === '23514' && /period .* is closed/.test(e.message ?? '')) throw new LedgerError('closed-period', e.message!);
  throw err;
}
