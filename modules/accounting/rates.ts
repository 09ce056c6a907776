/** Exchange rates entered by finance (one at a time, or a file): 1 base = rate quote, per date. */
import type { Currency } from '../../core/money';
import type { FxRate } from '../../core/accounting';
import { trimDecimal } from './books';
import { translatePg, type PoolClient } from './db';

export interface RateView extends FxRate {
  source: string;
  enteredBy: string;
  enteredAt: string;
}

/** Sets the rate of a pair on a date (replacing an earlier entry of that pair and date); true when it is new. */
export async function upsertRate(tx: PoolClient, tenantId: string, r: FxRate & { source?: string }, actor: string): Promise<boolean> {
  const { rows } = await tx
    .query<{ created: boolean }>(
      `INSERT INTO fx_rates (tenant_id, base, quote, rate_date, rate, source, entered_by) VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (tenant_id, base, quote, rate_date)
       DO UPDATE SET rate = EXCLUDED.rate, source = EXCLUDED.source, entered_by = EXCLUDED.entered_by, entered_at = now()
       RETURNING (xmax = 0) AS created`,
      [tenantId, r.base, r.quote, r.rateDate, r.rate, r.source ?? 'manual', actor],
    )
    .catch(translatePg);
  return rows[0]!.created;
}

export async function listRates(tx: PoolClient, q: { base?: Currency; quote?: Currency; from?: string; to?: string; limit: number }): Promise<RateView[]> {
  const { rows } = await tx.query<{ base: Currency; quote: Currency; rate_date: string; rate: string; source: string; entered_by: string; entered_at: Date }>(
    `SELECT base, quote, to_char(rate_date, 'YYYY-MM-DD') AS rate_date, rate::text AS rate, source, entered_by, entered_at FROM fx_rates
      WHERE ($1::text IS NULL OR base = $1) AND ($2::text IS NULL OR quote = $2) AND ($3::date IS NULL OR rate_date >= $3) AND ($4::date IS NULL OR rate_date <= $4)
      ORDER BY rate_date DESC, base, quote LIMIT $5`,
    [q.base ?? null, q.quote ?? null, q.from ?? null, q.to ?? null, q.limit],
  );
  return rows.map((r) => ({ base: r.base, quote: r.quote, rateDate: r.rate_date, rate: trimDecimal(r.rate), source: r.source, enteredBy: r.entered_by, enteredAt: r.entered_at.toISOString() }));
}
