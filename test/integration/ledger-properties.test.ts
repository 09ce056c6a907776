/**
 * Property-based: thousands of random entries, valid and invalid, across currencies (two, zero and three decimal
 * places) and months, with periods closing along the way, posted through ledger_post. After every batch the books
 * are checked against the database and against a model kept by the test:
 *   - every entry balances per currency and has at least two postings;
 *   - the trial balance sums to zero per currency;
 *   - every account's balance (platform/ledger `balances`) equals the sum of what the model saw posted to it;
 *   - nothing was posted into a period after it closed, and every refusal was for the reason the model expects.
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import type { Currency } from '../../core/money';
import { createPool, withTenant, type Pool } from '../../platform/db/pool';
import { balances, ensurePeriods, LedgerError, postJournalEntry, setPeriodStatus, type JournalEntryInput } from '../../platform/ledger';
import { createTenant, testConfig } from '../support/env';

const cfg = testConfig();
let app: Pool;

beforeAll(async () => {
  app = createPool(cfg.DATABASE_URL, 4);
});
afterAll(() => app.end());

const CURRENCIES: Currency[] = ['EUR', 'JPY', 'KWD'];
const ACCOUNTS = ['cash', 'provider_clearing', 'accounts_receivable', 'sales_revenue', 'refunds', 'tax_payable', 'processing_fees', 'customer_credit'];
const MONTHS = ['2024-01', '2024-02', '2024-03', '2024-04', '2024-05', '2024-06'];

interface Line { account: string; currency: Currency; amountMinor: number }
type Draft = { kind: 'valid'; month: number; day: number; lines: Line[] } | { kind: 'unbalanced' | 'single' | 'zero'; month: number; day: number; lines: Line[] };

/** A balanced entry: n-1 random lines per currency and one that balances them. */
const balancedLines = fc
  .array(
    fc.record({
      currency: fc.constantFrom(...CURRENCIES),
      legs: fc.array(fc.record({ account: fc.constantFrom(...ACCOUNTS), amountMinor: fc.integer({ min: -5_000_000, max: 5_000_000 }).filter((n) => n !== 0) }), { minLength: 1, maxLength: 3 }),
      closing: fc.constantFrom(...ACCOUNTS),
    }),
    { minLength: 1, maxLength: 2 },
  )
  .map((groups) =>
    groups.flatMap(({ currency, legs, closing }) => {
      const sum = legs.reduce((a, l) => a + l.amountMinor, 0);
      const lines: Line[] = legs.map((l) => ({ ...l, currency }));
      // Offset the legs; if they already sum to zero, a pair of equal and opposite lines keeps it balanced.
      return sum !== 0 ? [...lines, { account: closing, currency, amountMinor: -sum }] : [...lines, { account: closing, currency, amountMinor: 7 }, { account: closing, currency, amountMinor: -7 }];
    }),
  );

const draft: fc.Arbitrary<Draft> = fc.record({ month: fc.integer({ min: 0, max: MONTHS.length - 1 }), day: fc.integer({ min: 1, max: 28 }), lines: balancedLines, kind: fc.constantFrom('valid', 'valid', 'valid', 'valid', 'unbalanced', 'single', 'zero') }).map((d) => {
  if (d.kind === 'unbalanced') {
    const last = d.lines.at(-1)!;
    return { ...d, lines: [...d.lines.slice(0, -1), { ...last, amountMinor: last.amountMinor + (last.amountMinor === -1 ? 2 : 1) }] };
  }
  if (d.kind === 'single') return { ...d, lines: d.lines.slice(0, 1) };
  if (d.kind === 'zero') return { ...d, lines: [...d.lines, { account: 'cash', currency: d.lines[0]!.currency, amountMinor: 0 }] };
  return d;
});

/** A batch: some entries, then maybe close the oldest open month. */
const batch = fc.record({ entries: fc.array(draft, { minLength: 40, maxLength: 80 }), closeNext: fc.boolean() });

describe('the ledger under random entries', () => {
  it('keeps every invariant after every batch, whatever is posted or refused', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(batch, { minLength: 4, maxLength: 6 }), async (batches) => {
        const tenantId = await createTenant(app);
        await withTenant(app, tenantId, async (tx) => {
          await tx.query('SELECT create_default_chart($1)', [tenantId]);
          await ensurePeriods(tx, `${MONTHS[0]}-01`, MONTHS.length - 1);
        });
        const model = new Map<string, number>(); // account|currency -> debits minus credits
        let closedThrough = -1; // index of the last closed month
        let posted = 0;
        for (const b of batches) {
          for (const d of b.entries) {
            const entry: JournalEntryInput = {
              id: randomUUID(),
              tenantId,
              effectiveAt: new Date(`${MONTHS[d.month]}-${String(d.day).padStart(2, '0')}T12:00:00Z`),
              description: `random ${d.kind}`,
              source: { type: 'property', id: randomUUID() },
              postings: d.lines.map((l) => ({ account: { systemKey: l.account }, amount: { amountMinor: l.amountMinor, currency: l.currency } })),
            };
            if (d.kind === 'zero') entry.postings.at(-1)!.amount = { amountMinor: 0, currency: d.lines[0]!.currency };
            const outcome = await withTenant(app, tenantId, (tx) => postJournalEntry(tx, entry)).catch((e: unknown) => e);
            const expected = d.kind === 'valid' ? (d.month <= closedThrough ? 'closed-period' : 'posted') : d.kind === 'zero' ? 'invalid-entry' : 'unbalanced';
            expect(outcome instanceof LedgerError ? outcome.code : outcome).toBe(expected);
            if (outcome === 'posted') {
              posted++;
              for (const l of d.lines) model.set(`${l.account}|${l.currency}`, (model.get(`${l.account}|${l.currency}`) ?? 0) + l.amountMinor);
            }
          }
          if (b.closeNext && closedThrough < MONTHS.length - 2) {
            closedThrough++;
            await withTenant(app, tenantId, (tx) => setPeriodStatus(tx, { periodStart: `${MONTHS[closedThrough]}-01`, action: 'close', actor: 'property' }));
          }
          await expectInvariants(tenantId, model, closedThrough);
        }
        expect(posted).toBeGreaterThan(0);
      }),
      { numRuns: 8, seed: Number(process.env.FC_SEED ?? 20261125), endOnFailure: true },
    );
  }, 600_000);
});

async function expectInvariants(tenantId: string, model: Map<string, number>, closedThrough: number) {
  await withTenant(app, tenantId, async (tx) => {
    const unbalanced = await tx.query('SELECT entry_id, currency FROM postings GROUP BY entry_id, currency HAVING sum(amount_minor) <> 0');
    expect(unbalanced.rows).toEqual([]);
    const thin = await tx.query('SELECT e.id FROM journal_entries e LEFT JOIN postings p ON p.entry_id = e.id GROUP BY e.id HAVING count(p.id) < 2');
    expect(thin.rows).toEqual([]);
    const trial = await tx.query<{ currency: string; total: string }>('SELECT currency, sum(amount_minor)::text AS total FROM postings GROUP BY currency');
    for (const r of trial.rows) expect({ currency: r.currency, total: r.total }).toEqual({ currency: r.currency, total: '0' });
    const fromDb = new Map((await balances(tx)).map((b) => [`${b.systemKey}|${b.currency}`, b.debitMinusCredit]));
    const nonZero = (m: Map<string, number>) => new Map([...m].filter(([, v]) => v !== 0));
    expect(nonZero(fromDb)).toEqual(nonZero(model));
    // No entry dated into a month after that month closed.
    if (closedThrough >= 0) {
      const late = await tx.query(
        `SELECT e.id FROM journal_entries e JOIN accounting_periods p ON e.accounting_date BETWEEN p.period_start AND p.period_end
          WHERE p.status = 'closed' AND e.posted_at > p.closed_at`,
      );
      expect(late.rows).toEqual([]);
    }
  });
}
