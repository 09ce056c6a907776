/** Ledger fixtures for tests: a tenant with its chart, and a balanced two-posting entry. */
import { randomUUID } from 'node:crypto';
import { money, type Currency } from '../../core/money';
import { withTenant, type Pool } from '../../platform/db/pool';
import type { JournalEntryInput } from '../../platform/ledger';
import { createTenant } from './env';

/** A new tenant with the default chart; a time zone other than UTC is set through the schema owner's pool. */
export async function tenantWithChart(app: Pool, opts: { timeZone?: string; owner?: Pool } = {}): Promise<string> {
  const tenantId = await createTenant(app);
  await withTenant(app, tenantId, (tx) => tx.query('SELECT create_default_chart($1)', [tenantId]));
  if (opts.timeZone && opts.timeZone !== 'UTC') {
    if (!opts.owner) throw new Error('tenantWithChart: a time zone needs the owner pool');
    await withTenant(opts.owner, tenantId, (tx) => tx.query('UPDATE tenants SET time_zone = $2 WHERE id = $1', [tenantId, opts.timeZone]));
  }
  return tenantId;
}

/** A sale: `debit` (provider clearing unless said) against sales revenue, for `amountMinor` in `currency`. */
export function saleEntry(
  tenantId: string,
  amountMinor: number,
  opts: { effectiveAt?: Date; currency?: Currency; debit?: string } = {},
): JournalEntryInput {
  const currency = opts.currency ?? 'EUR';
  return {
    id: randomUUID(),
    tenantId,
    effectiveAt: opts.effectiveAt ?? new Date(),
    description: 'card payment captured',
    source: { type: 'payment', id: randomUUID() },
    postings: [
      { account: { systemKey: opts.debit ?? 'provider_clearing' }, amount: money(amountMinor, currency) },
      { account: { systemKey: 'sales_revenue' }, amount: money(-amountMinor, currency) },
    ],
  };
}
