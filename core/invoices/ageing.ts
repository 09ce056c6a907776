/**
 * Accounts-receivable ageing: each open invoice's outstanding amount in a bucket by days past its due date, per
 * customer and in total, per currency (amounts in different currencies are never added). Pure.
 */
import { daysBetween } from './dates';

export const AGEING_BUCKETS = ['current', '1-30', '31-60', '61-90', '90+'] as const;
export type AgeingBucket = (typeof AGEING_BUCKETS)[number];

export function ageingBucket(dueDate: string, asOf: string): AgeingBucket {
  const late = daysBetween(dueDate, asOf);
  if (late <= 0) return 'current';
  if (late <= 30) return '1-30';
  if (late <= 60) return '31-60';
  if (late <= 90) return '61-90';
  return '90+';
}

export type BucketAmounts = Record<AgeingBucket, number> & { totalMinor: number };

export interface AgeingReport {
  asOf: string;
  currencies: { currency: string; customers: ({ customerId: string } & BucketAmounts)[]; total: BucketAmounts }[];
}

const empty = (): BucketAmounts => ({ current: 0, '1-30': 0, '31-60': 0, '61-90': 0, '90+': 0, totalMinor: 0 });

export function ageReceivables(openInvoices: readonly { customerId: string; currency: string; dueDate: string; outstandingMinor: number }[], asOf: string): AgeingReport {
  const byCurrency = new Map<string, Map<string, BucketAmounts>>();
  for (const inv of openInvoices) {
    if (inv.outstandingMinor <= 0) continue;
    const customers = byCurrency.get(inv.currency) ?? new Map<string, BucketAmounts>();
    byCurrency.set(inv.currency, customers);
    const row = customers.get(inv.customerId) ?? empty();
    customers.set(inv.customerId, row);
    row[ageingBucket(inv.dueDate, asOf)] += inv.outstandingMinor;
    row.totalMinor += inv.outstandingMinor;
  }
  const currencies = [...byCurrency.keys()].sort().map((currency) => {
    const customers = [...byCurrency.get(currency)!.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([customerId, b]) => ({ customerId, ...b }));
    const total = empty();
    for (const c of customers) for (const k of [...AGEING_BUCKETS, 'totalMinor'] as const) total[k] += c[k];
    return { currency, customers, total };
  });
  return { asOf, currencies };
}
