/**
 * The period closes (period_closes): claimed by a PeriodClose run, its statements snapshot, sign-off and close;
 * and the ledger reads and writes the close needs (foreign balances, its own entries through ledger_post_close).
 */
import type { Currency } from '../../core/money';
import type { CloseLine, ForeignBalance, PeriodRef } from '../../core/accounting';
import { appendToOutbox } from '../../platform/events/outbox';
import type { PoolClient } from './db';

export type CloseTrigger = 'schedule' | 'manual' | 'reopen';
export type CloseStatus = 'running' | 'awaiting_sign_off' | 'closed';

export interface CloseSettings {
  timeZone: string;
  fiscalYearStartMonth: number;
  reportingCurrency: Currency | null;
}

export interface CloseView {
  periodStart: string;
  periodEnd: string;
  run: number;
  workflowId: string;
  trigger: CloseTrigger;
  startedBy: string;
  status: CloseStatus;
  escalatedAt: string | null;
  signedOffBy: string | null;
  signedOffAt: string | null;
  yearEnd: boolean;
  startedAt: string;
  closedAt: string | null;
}

export interface CloseSnapshot extends CloseView {
  fxRevaluation: unknown;
  trialBalance: unknown;
  statements: unknown;
}

export async function closeSettings(tx: PoolClient): Promise<CloseSettings> {
  const { rows } = await tx.query<{ time_zone: string; fiscal_year_start_month: number; reporting_currency: string | null }>(
    'SELECT time_zone, fiscal_year_start_month, reporting_currency FROM tenants',
  );
  const r = rows[0]!;
  return { timeZone: r.time_zone, fiscalYearStartMonth: r.fiscal_year_start_month, reportingCurrency: (r.reporting_currency?.trim() as Currency) ?? null };
}

export type ClaimOutcome = { outcome: 'claimed'; run: number } | { outcome: 'already-closed' | 'already-running'; run: number };

/**
 * Claims the period for one run: its row in period_closes. The same workflow claiming again (a retried activity)
 * gets its run back; another close of a period still being closed, or of a closed period (unless it reopens it),
 * gets nothing to do.
 */
export async function claimClose(
  tx: PoolClient,
  tenantId: string,
  c: { workflowId: string; period: PeriodRef; trigger: CloseTrigger; startedBy: string },
): Promise<ClaimOutcome> {
  const mine = await tx.query<{ run: number }>('SELECT run FROM period_closes WHERE workflow_id = $1', [c.workflowId]);
  if (mine.rows[0]) return { outcome: 'claimed', run: mine.rows[0].run };
  await tx.query('SELECT ledger_ensure_periods($1::date, 0)', [c.period.periodStart]);
  // Two closes claiming the same run collide on the primary key; the loser's retry finds the winner's row.
  const period = await tx.query<{ status: string }>('SELECT status FROM accounting_periods WHERE period_start = $1', [c.period.periodStart]);
  const last = await tx.query<{ run: number; status: CloseStatus }>('SELECT run, status FROM period_closes WHERE period_start = $1 ORDER BY run DESC LIMIT 1', [c.period.periodStart]);
  const lastRun = last.rows[0]?.run ?? 0;
  if (last.rows[0] && last.rows[0].status !== 'closed') return { outcome: 'already-running', run: lastRun };
  if (period.rows[0]?.status === 'closed' && c.trigger !== 'reopen') return { outcome: 'already-closed', run: lastRun };
  await tx.query(
    `INSERT INTO period_closes (tenant_id, period_start, run, period_end, workflow_id, trigger, started_by) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [tenantId, c.period.periodStart, lastRun + 1, c.period.periodEnd, c.workflowId, c.trigger, c.startedBy],
  );
  return { outcome: 'claimed', run: lastRun + 1 };
}

/**
 * Balances of asset and liability accounts in currencies other than `reporting`: opening before the period, and
 * the period's movements by day.
 */
export async function foreignBalances(tx: PoolClient, period: PeriodRef, reporting: Currency): Promise<ForeignBalance[]> {
  const { rows } = await tx.query<{ account_id: string; currency: string; opening: string; movements: { date: string; dmc: string }[] }>(
    `WITH monetary AS (SELECT id FROM ledger_accounts WHERE type IN ('asset', 'liability')),
          lines AS (SELECT p.account_id, p.currency, p.accounting_date, p.amount_minor FROM postings p
                     WHERE p.account_id IN (SELECT id FROM monetary) AND p.currency <> $3 AND p.accounting_date <= $2::date)
     SELECT account_id, currency,
            coalesce(sum(amount_minor) FILTER (WHERE accounting_date < $1::date), 0)::text AS opening,
            coalesce((SELECT jsonb_agg(jsonb_build_object('date', to_char(d, 'YYYY-MM-DD'), 'dmc', s::text) ORDER BY d)
                        FROM (SELECT l2.accounting_date AS d, sum(l2.amount_minor) AS s FROM lines l2
                               WHERE l2.account_id = l.account_id AND l2.currency = l.currency AND l2.accounting_date >= $1::date
                               GROUP BY l2.accounting_date) m), '[]'::jsonb) AS movements
       FROM lines l GROUP BY account_id, currency ORDER BY account_id, currency`,
    [period.periodStart, period.periodEnd, reporting],
  );
  return rows.map((r) => ({
    accountId: r.account_id,
    currency: r.currency.trim() as Currency,
    openingDmc: BigInt(r.opening),
    movements: r.movements.map((m) => ({ date: m.date, dmc: BigInt(m.dmc) })),
  }));
}

export async function systemAccountId(tx: PoolClient, systemKey: string): Promise<string> {
  const { rows } = await tx.query<{ id: string }>('SELECT id FROM ledger_accounts WHERE system_key = $1', [systemKey]);
  return rows[0]!.id;
}

/**
 * One of the close's own entries, through ledger_post_close, dated at noon of `accountingDate` in the books' zone.
 * Its id comes from the workflow: a retried step finds it `already-posted`.
 */
export async function postCloseEntry(
  tx: PoolClient,
  e: { id: string; accountingDate: string; description: string; workflowId: string; kind: 'adjusting' | 'closing'; lines: CloseLine[] },
): Promise<'posted' | 'already-posted'> {
  const body = {
    id: e.id,
    description: e.description,
    source: { type: 'period_close', id: e.workflowId },
    kind: e.kind,
    createdBy: 'system',
    postings: e.lines.map((l) => ({ accountId: l.accountId, currency: l.currency, amountMinor: Number(l.amountMinor) })),
  };
  const { rows } = await tx.query<{ r: { status: 'posted' | 'already-posted' } }>(
    `SELECT ledger_post_close($1::jsonb || jsonb_build_object('effectiveAt', (($2::date + time '12:00') AT TIME ZONE t.time_zone))) AS r FROM tenants t`,
    [JSON.stringify(body), e.accountingDate],
  );
  return rows[0]!.r.status;
}

export async function recordSnapshot(tx: PoolClient, workflowId: string, s: { yearEnd: boolean; fxRevaluation: unknown; trialBalance: unknown; statements: unknown }): Promise<void> {
  await tx.query(
    `UPDATE period_closes SET status = 'awaiting_sign_off', year_end = $2, fx_revaluation = $3, trial_balance = $4, statements = $5
      WHERE workflow_id = $1 AND status = 'running'`,
    [workflowId, s.yearEnd, JSON.stringify(s.fxRevaluation), JSON.stringify(s.trialBalance), JSON.stringify(s.statements)],
  );
}

/** The sign-off is overdue: marked once, and `period_close.escalated` written to the outbox in the same transaction. */
export async function recordEscalation(tx: PoolClient, tenantId: string, workflowId: string, at: Date): Promise<boolean> {
  const { rows } = await tx.query<{ period_start: string; run: number }>(
    `UPDATE period_closes SET escalated_at = $2 WHERE workflow_id = $1 AND escalated_at IS NULL
     RETURNING to_char(period_start, 'YYYY-MM-DD') AS period_start, run`,
    [workflowId, at],
  );
  const r = rows[0];
  if (!r) return false;
  await appendToOutbox(tx, {
    type: 'period_close.escalated',
    tenantId,
    aggregateType: 'period_close',
    aggregateId: workflowId,
    occurrence: 'once',
    data: { periodStart: r.period_start, run: r.run, workflowId, reason: 'sign-off overdue' },
  });
  return true;
}

export async function recordClosed(tx: PoolClient, workflowId: string, signedOffBy: string, signedOffAt: Date): Promise<void> {
  await tx.query(
    `UPDATE period_closes SET status = 'closed', signed_off_by = $2, signed_off_at = $3, closed_at = now() WHERE workflow_id = $1 AND status <> 'closed'`,
    [workflowId, signedOffBy, signedOffAt],
  );
}

const VIEW_COLUMNS = `to_char(period_start, 'YYYY-MM-DD') AS "periodStart", to_char(period_end, 'YYYY-MM-DD') AS "periodEnd", run,
  workflow_id AS "workflowId", trigger, started_by AS "startedBy", status, escalated_at AS "escalatedAt", signed_off_by AS "signedOffBy",
  signed_off_at AS "signedOffAt", year_end AS "yearEnd", started_at AS "startedAt", closed_at AS "closedAt"`;

const iso = <T extends object>(r: T): T =>
  Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v instanceof Date ? v.toISOString() : v])) as T;

export async function listCloses(tx: PoolClient, q: { from?: string; to?: string; limit: number }): Promise<CloseView[]> {
  const { rows } = await tx.query<CloseView>(
    `SELECT ${VIEW_COLUMNS} FROM period_closes
      WHERE ($1::date IS NULL OR period_start >= $1::date) AND ($2::date IS NULL OR period_start <= $2::date)
      ORDER BY period_start DESC, run DESC LIMIT $3`,
    [q.from ?? null, q.to ?? null, q.limit],
  );
  return rows.map(iso);
}

/** A period's close: the given run, or the latest. */
export async function closeOf(tx: PoolClient, periodStart: string, run?: number): Promise<CloseSnapshot | undefined> {
  const { rows } = await tx.query<CloseSnapshot>(
    `SELECT ${VIEW_COLUMNS}, fx_revaluation AS "fxRevaluation", trial_balance AS "trialBalance", statements FROM period_closes
      WHERE period_start = $1::date AND ($2::int IS NULL OR run = $2::int) ORDER BY run DESC LIMIT 1`,
    [periodStart, run ?? null],
  );
  return rows[0] && iso(rows[0]);
}
