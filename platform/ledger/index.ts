/**
 * The ledger's write and read paths. Every function takes a tenant-scoped transaction (`withTenant`). Entries are
 * written only by the database function `ledger_post(jsonb)` (migrations/*_ledger-v2.sql: one round trip, balance
 * per currency, accounting date in the tenant's time zone, period lock); the application role cannot insert ledger
 * rows itself, so a bug here cannot unbalance the books, only fail to post.
 */
import type { PoolClient } from 'pg';
import type { Currency, Money } from '../../core/money';

export type AccountType = 'asset' | 'liability' | 'equity' | 'revenue' | 'expense';

/** A system account (by its key, e.g. `provider_clearing`) or any account by id. */
export type AccountRef = { systemKey: string } | { accountId: string };

export interface PostingInput {
  account: AccountRef;
  /** Debit positive, credit negative. */
  amount: Money;
}

export type EntryKind = 'standard' | 'adjusting' | 'closing' | 'opening' | 'reversal';

export interface JournalEntryInput {
  /** Deterministic (platform/ids.ts, from the business key and step): the same step can only post once. */
  id: string;
  tenantId: string;
  effectiveAt: Date;
  description: string;
  source: { type: string; id: string };
  postings: PostingInput[];
  kind?: Exclude<EntryKind, 'reversal'>;
  /** Who made it: a user id, an API key id, or `system` (the default) for platform workflows. */
  createdBy?: string;
}

export type LedgerErrorCode =
  | 'unbalanced'
  | 'closed-period'
  | 'unknown-account'
  | 'unknown-entry'
  | 'conflicting-entry'
  | 'already-reversed'
  | 'invalid-entry'
  | 'unknown-period'
  | 'invalid-transition';
const LEDGER_ERROR_CODES = new Set<string>([
  'unbalanced', 'closed-period', 'unknown-account', 'unknown-entry', 'conflicting-entry', 'already-reversed', 'invalid-entry', 'unknown-period', 'invalid-transition',
]);

export class LedgerError extends Error {
  constructor(
    readonly code: LedgerErrorCode,
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

export type PostResult = 'posted' | 'already-posted';

/** What `ledger_post(jsonb)` takes (migrations/*_ledger-v2.sql). */
interface LedgerPostBody {
  id: string;
  effectiveAt: string;
  description: string;
  source: { type: string; id: string };
  kind: EntryKind;
  createdBy?: string;
  reverses?: string;
  postings?: Record<string, unknown>[];
}

async function ledgerPost(tx: PoolClient, body: LedgerPostBody): Promise<PostResult> {
  const { rows } = await tx.query<{ r: { status: PostResult } }>('SELECT ledger_post($1::jsonb) AS r', [JSON.stringify(body)]).catch(translate);
  return rows[0]!.r.status;
}

/**
 * Posts an entry through `ledger_post`. Returns `already-posted` when an entry with this id and the same content
 * exists (a retried step); the same id with other content is a `conflicting-entry`.
 */
export async function postJournalEntry(tx: PoolClient, entry: JournalEntryInput): Promise<PostResult> {
  return ledgerPost(tx, entryBody(entry));
}

function entryBody(entry: JournalEntryInput): LedgerPostBody {
  return {
    id: entry.id,
    effectiveAt: entry.effectiveAt.toISOString(),
    description: entry.description,
    source: entry.source,
    kind: entry.kind ?? 'standard',
    createdBy: entry.createdBy,
    postings: entry.postings.map((p) => ({
      ...('systemKey' in p.account ? { systemKey: p.account.systemKey } : { accountId: p.account.accountId }),
      currency: p.amount.currency,
      amountMinor: p.amount.amountMinor,
    })),
  };
}

const MOVED_SAVEPOINT = 'ledger_post_into_open_period';

/**
 * Posts an entry for money that has already moved (a charge captured, a refund paid out, a compensation): the books
 * must say so whatever the periods say. If the entry's accounting date lies in a closed (or locked) period, it is
 * posted at the start of the first open period after it instead, its own date kept in the description; it never
 * fails for the period, and never waits forever for a reopening.
 *
 * Deterministic under retries: the entry's id and date come from the workflow, and a moved date is decided once, by
 * the attempt that posts it. A retry (the worker died after the commit) finds that entry under its id and posts it
 * again exactly as it stands, "already posted", even if more periods closed meanwhile.
 */
export async function postIntoOpenPeriod(tx: PoolClient, entry: JournalEntryInput): Promise<PostResult> {
  return postMovingOutOfClosedPeriods(tx, entryBody(entry));
}

/** reverseJournalEntry for a compensation: into the first open period when the reversal's own date is closed. */
export async function reverseIntoOpenPeriod(tx: PoolClient, input: ReversalInput): Promise<PostResult> {
  return postMovingOutOfClosedPeriods(tx, reversalBody(input));
}

async function postMovingOutOfClosedPeriods(tx: PoolClient, body: LedgerPostBody): Promise<PostResult> {
  const { rows } = await tx.query<{ day: string; open_day: string | null; open_at: Date | null }>(
    `WITH d AS (SELECT ($1::timestamptz AT TIME ZONE tn.time_zone)::date AS day, tn.time_zone FROM tenants tn WHERE tn.id = current_tenant_id()),
          t AS (SELECT d.*, coalesce(
                  (SELECT min(period_start) FROM accounting_periods WHERE status = 'open' AND period_start > d.day),
                  (SELECT max(period_end) + 1 FROM accounting_periods WHERE status <> 'open')) AS open_day FROM d)
     SELECT to_char(day, 'YYYY-MM-DD') AS day, to_char(open_day, 'YYYY-MM-DD') AS open_day, open_day::timestamp AT TIME ZONE time_zone AS open_at FROM t`,
    [body.effectiveAt],
  );
  const at = rows[0];
  if (!at) throw new LedgerError('invalid-entry', 'no tenant in scope');
  const moved = { ...body, description: `${body.description} (dated ${at.day}: that period is closed)` };
  const prior = await tx.query<{ effective_at: Date; description: string }>('SELECT effective_at, description FROM journal_entries WHERE id = $1', [body.id]);
  if (prior.rows[0]?.description === moved.description) return ledgerPost(tx, { ...moved, effectiveAt: prior.rows[0].effective_at.toISOString() });
  await tx.query(`SAVEPOINT ${MOVED_SAVEPOINT}`);
  try {
    const result = await ledgerPost(tx, body);
    await tx.query(`RELEASE SAVEPOINT ${MOVED_SAVEPOINT}`);
    return result;
  } catch (err) {
    if (!(err instanceof LedgerError && err.code === 'closed-period') || !at.open_at) throw err;
    await tx.query(`ROLLBACK TO SAVEPOINT ${MOVED_SAVEPOINT}`);
  }
  return ledgerPost(tx, { ...moved, effectiveAt: at.open_at.toISOString() });
}

/** Posts the exact mirror of an entry (built by the database). Idempotent by `id`; an entry is reversed only once. */
export async function reverseJournalEntry(tx: PoolClient, input: ReversalInput): Promise<PostResult> {
  return ledgerPost(tx, reversalBody(input));
}

export interface ReversalInput {
  id: string;
  tenantId: string;
  entryId: string;
  effectiveAt: Date;
  description: string;
  source: { type: string; id: string };
  createdBy?: string;
}

function reversalBody(input: ReversalInput): LedgerPostBody {
  return {
    id: input.id,
    effectiveAt: input.effectiveAt.toISOString(),
    description: input.description,
    source: input.source,
    kind: 'reversal',
    reverses: input.entryId,
    createdBy: input.createdBy,
  };
}

export type PeriodStatus = 'open' | 'locked' | 'closed';
export interface Period {
  periodStart: string;
  periodEnd: string;
  status: PeriodStatus;
}

/** Creates the calendar-month periods from `from`'s month through `months` months ahead (existing ones kept). */
export async function ensurePeriods(tx: PoolClient, from: string, months: number): Promise<void> {
  await tx.query('SELECT ledger_ensure_periods($1::date, $2)', [from, months]).catch(translate);
}

/**
 * Moves a period: `lock` (only adjusting entries from then on), `close` (nothing more), `reopen` (a closed period,
 * with a reason; admin only at the API). Waits for postings in flight into the period; audited in
 * accounting_period_events.
 */
export async function setPeriodStatus(
  tx: PoolClient,
  input: { periodStart: string; action: 'lock' | 'close' | 'reopen'; actor: string; reason?: string },
): Promise<Period> {
  const { rows } = await tx
    .query<{ period_start: string; period_end: string; status: PeriodStatus }>(
      "SELECT to_char(period_start, 'YYYY-MM-DD') AS period_start, to_char(period_end, 'YYYY-MM-DD') AS period_end, status FROM ledger_set_period_status($1::date, $2, $3, $4)",
      [input.periodStart, input.action, input.actor, input.reason ?? null],
    )
    .catch(translate);
  const r = rows[0]!;
  return { periodStart: r.period_start, periodEnd: r.period_end, status: r.status };
}

export interface Balance {
  accountId: string;
  code: string;
  systemKey: string | null;
  type: AccountType;
  currency: Currency;
  /** Debits minus credits. */
  debitMinusCredit: number;
  /** In the account's normal direction (ledger_accounts.normal_balance): debit-normal accounts (assets, expenses,
   * contra revenue) positive when debits exceed credits; credit-normal ones (liabilities, equity, revenue, contra
   * assets) positive when credits exceed debits. */
  balanceMinor: number;
}

/** Balances per account and currency, now or as of a moment (entries effective at or before it). */
export async function balances(tx: PoolClient, asOf?: Date): Promise<Balance[]> {
  const { rows } = await tx.query<{ account_id: string; code: string; system_key: string | null; type: AccountType; normal_balance: 'debit' | 'credit'; currency: Currency; total: string }>(
    `SELECT a.id AS account_id, a.code, a.system_key, a.type, a.normal_balance, p.currency, sum(p.amount_minor)::text AS total
       FROM postings p
       JOIN journal_entries e ON e.id = p.entry_id
       JOIN ledger_accounts a ON a.id = p.account_id
      WHERE ($1::timestamptz IS NULL OR e.effective_at <= $1)
      GROUP BY a.id, a.code, a.system_key, a.type, a.normal_balance, p.currency
      ORDER BY a.code, p.currency`,
    [asOf ?? null],
  );
  return rows.map((r) => {
    const dmc = minorFromSum(r.total);
    return {
      accountId: r.account_id,
      code: r.code,
      systemKey: r.system_key,
      type: r.type,
      currency: r.currency,
      debitMinusCredit: dmc,
      balanceMinor: r.normal_balance === 'credit' ? -dmc : dmc,
    };
  });
}

export async function accountBalance(tx: PoolClient, systemKey: string, currency: Currency, asOf?: Date): Promise<number> {
  const { rows } = await tx.query<{ normal_balance: 'debit' | 'credit'; total: string | null }>(
    `SELECT a.normal_balance, sum(p.amount_minor)::text AS total
       FROM ledger_accounts a
       LEFT JOIN postings p ON p.account_id = a.id AND p.currency = $2
       LEFT JOIN journal_entries e ON e.id = p.entry_id
      WHERE a.system_key = $1 AND ($3::timestamptz IS NULL OR e.effective_at IS NULL OR e.effective_at <= $3)
      GROUP BY a.normal_balance`,
    [systemKey, currency, asOf ?? null],
  );
  const row = rows[0];
  if (!row?.total) return 0;
  const dmc = minorFromSum(row.total);
  return row.normal_balance === 'credit' ? -dmc : dmc;
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
  return posted - minorFromSum(rows[0]?.held ?? '0');
}

/**
 * A sum from PostgreSQL (numeric or bigint, as text) as minor units. Sums can exceed 2^53 where single amounts
 * cannot; such a sum is refused rather than silently rounded (reports that need it read the text as bigint).
 */
export function minorFromSum(total: string): number {
  const n = BigInt(total);
  if (n > BigInt(Number.MAX_SAFE_INTEGER) || n < -BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`ledger sum ${total} exceeds 2^53 - 1 minor units`);
  return Number(n);
}

/** ledger_post and the period functions name each refusal in the error's HINT. */
function translate(err: unknown): never {
  const e = err as { hint?: string; message?: string };
  if (e.hint && LEDGER_ERROR_CODES.has(e.hint)) throw new LedgerError(e.hint as LedgerErrorCode, e.message ?? e.hint);
  throw err;
}
