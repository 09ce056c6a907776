/**
 * Accounting periods: listing them with their history, moving them (lock, close, reopen) through the database's
 * audited ledger_set_period_status, and the tenant settings the books follow (time zone, reporting currency).
 */
import { setPeriodStatus, type Period } from '../../platform/ledger';
import type { Currency } from '../../core/money';
import { AccountingError } from '../../core/accounting';
import { translatePg, type PoolClient } from './db';

export interface PeriodEvent {
  action: 'lock' | 'close' | 'reopen';
  fromStatus: string;
  actor: string;
  reason: string | null;
  at: string;
}
export interface PeriodView extends Period {
  closedAt: string | null;
  events: PeriodEvent[];
}

export async function listPeriods(tx: PoolClient, q: { from?: string; to?: string }): Promise<PeriodView[]> {
  const { rows } = await tx.query<{ start: string; end: string; status: Period['status']; closed_at: Date | null; events: PeriodEvent[] }>(
    `SELECT to_char(p.period_start, 'YYYY-MM-DD') AS start, to_char(p.period_end, 'YYYY-MM-DD') AS end, p.status, p.closed_at,
            coalesce((SELECT jsonb_agg(jsonb_build_object('action', e.action, 'fromStatus', e.from_status, 'actor', e.actor, 'reason', e.reason,
                                                          'at', to_char(e.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')) ORDER BY e.id)
                        FROM accounting_period_events e WHERE e.period_start = p.period_start), '[]'::jsonb) AS events
       FROM accounting_periods p
      WHERE ($1::date IS NULL OR p.period_end >= $1::date) AND ($2::date IS NULL OR p.period_start <= $2::date)
      ORDER BY p.period_start`,
    [q.from ?? null, q.to ?? null],
  );
  return rows.map((r) => ({ periodStart: r.start, periodEnd: r.end, status: r.status, closedAt: r.closed_at?.toISOString() ?? null, events: r.events }));
}

export async function movePeriod(tx: PoolClient, input: { periodStart: string; action: 'lock' | 'close' | 'reopen'; actor: string; reason?: string }): Promise<PeriodView> {
  await setPeriodStatus(tx, input).catch(translatePg);
  return (await listPeriods(tx, { from: input.periodStart, to: input.periodStart }))[0]!;
}

export interface AccountingSettings {
  timeZone: string;
  reportingCurrency: Currency | null;
}

export async function readSettings(tx: PoolClient): Promise<AccountingSettings> {
  const { rows } = await tx.query<{ time_zone: string; reporting_currency: Currency | null }>('SELECT time_zone, reporting_currency FROM tenants');
  return { timeZone: rows[0]!.time_zone, reportingCurrency: rows[0]!.reporting_currency };
}

export async function updateSettings(tx: PoolClient, tenantId: string, change: Partial<AccountingSettings>): Promise<AccountingSettings> {
  await tx
    .query('UPDATE tenants SET time_zone = coalesce($2, time_zone), reporting_currency = coalesce($3, reporting_currency) WHERE id = $1', [
      tenantId,
      change.timeZone ?? null,
      change.reportingCurrency ?? null,
    ])
    .catch((err: unknown) => {
      // The API checks the name against Node's zones, the database against its own (case-sensitive) list.
      if ((err as { constraint?: string }).constraint === 'tenants_time_zone_check') {
        throw new AccountingError('invalid', `${JSON.stringify(change.timeZone)} is not a time zone PostgreSQL knows (names are case-sensitive, e.g. Europe/Berlin)`, {
          errors: [{ path: 'body.timeZone', message: 'a time zone PostgreSQL knows' }],
        });
      }
      return translatePg(err);
    });
  return readSettings(tx);
}
