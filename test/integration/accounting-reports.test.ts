/**
 * The financial statements over HTTP, checked figure by figure against the hand calculation in
 * test/fixtures/accounting/worked-example.md (two months, EUR and JPY, a close, manual entries under maker-checker,
 * a refund, a reversal, rates from a PUT and from a CSV). Then the refusals: bad input is a 4xx problem, never a 500.
 */
import { randomUUID } from 'node:crypto';
import { money } from '../../core/money';
import { createPool, withTenant, type Pool } from '../../platform/db/pool';
import { postJournalEntry, setPeriodStatus } from '../../platform/ledger';
import { bearer, registerTenant, startApi, type TestApi } from '../support/api';
import { bookWorkedExample, loadWorkedExample, type BookedExample } from '../support/accounting-worked-example';
import { testConfig } from '../support/env';

const example = loadWorkedExample();
const expected = example.expected;
let api: TestApi;
let app: Pool;
let owner: Pool;
let booked: BookedExample;

beforeAll(async () => {
  const cfg = testConfig();
  api = startApi();
  app = createPool(cfg.DATABASE_URL, 3);
  owner = createPool(cfg.DATABASE_MIGRATION_URL, 2);
  booked = await bookWorkedExample(api, app, owner, example);
}, 180_000);
afterAll(async () => {
  await app?.end();
  await owner?.end();
  await api?.close();
});

const get = (url: string, actor: 'admin' | 'finance' = 'finance') => api.http().get(url).set(bearer(booked.tokens[actor]));
const ok = async (url: string) => {
  const res = await get(url);
  expect(`${url} -> ${res.status} ${res.status === 200 ? '' : JSON.stringify(res.body)}`).toBe(`${url} -> 200 `);
  return res.body;
};

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const section = (view: Json, currency: string): Json => view.currencies.find((c: Json) => c.currency === currency) ?? { missing: currency };
const byCode = <T>(lines: Json[], value: (l: Json) => T) => Object.fromEntries(lines.map((l) => [l.code, value(l)]));
const total = (sections: Json[], subtype: string) => sections.find((s) => s.subtype === subtype)!.totalMinor;

describe('the worked example, booked over HTTP and through the ledger', () => {
  it('refused the maker’s own approval with 403 four-eyes, and posted the rejected draft nowhere', async () => {
    expect(booked.refusals).toEqual([{ step: 'M1', status: 403, body: expect.objectContaining({ type: 'urn:finflow:problem:forbidden', reason: 'four-eyes' }) }]);
    const drafts = (await ok('/api/accounting/drafts?status=rejected')).data;
    expect(drafts).toEqual([expect.objectContaining({ id: booked.draftIds.get('R1'), status: 'rejected', createdBy: booked.principals.finance, decidedBy: booked.principals.admin, entryId: null })]);
  });

  it('refuses a consolidation before any rate exists with 422 naming the currency pair', async () => {
    const { asOf, pair } = expected.missingRate;
    const res = await get(`/api/accounting/reports/trial-balance?asOf=${asOf}`).expect(422);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ type: 'urn:finflow:problem:unprocessable-entity', currencyPair: pair, reason: 'missing-rate' });
    expect(res.body.detail).toContain(pair);
  });
});

describe.each(Object.keys(expected.trialBalance))('the trial balance as of %s', (asOf) => {
  const want = expected.trialBalance[asOf];

  it.each(['EUR', 'JPY'])('in %s: every account, debits equal credits', async (currency) => {
    const tb = section(await ok(`/api/accounting/reports/trial-balance?asOf=${asOf}`), currency);
    expect(byCode(tb.lines, (l) => l.debitMinor - l.creditMinor)).toEqual(want[currency].lines);
    expect(tb.totals).toEqual({ debitMinor: want[currency].debit, creditMinor: want[currency].credit });
    expect(tb.balanced).toBe(true);
  });

  it('consolidated in EUR (the tenant’s reporting currency): converted, rounded half to even, balanced by the rounding line', async () => {
    const view = await ok(`/api/accounting/reports/trial-balance?asOf=${asOf}`);
    const c = view.consolidated;
    expect(c.currency).toBe('EUR');
    expect(c.rates).toEqual([expected.rates[asOf]]);
    expect(byCode(c.lines, (l) => l.debitMinor - l.creditMinor)).toEqual(want.consolidated.lines);
    expect(c.roundingMinor).toBe(want.consolidated.rounding);
    expect(c.totals).toEqual({ debitMinor: want.consolidated.debit, creditMinor: want.consolidated.credit });
    expect(c.balanced).toBe(true);
    // Asked for explicitly, the same figures.
    expect((await ok(`/api/accounting/reports/trial-balance?asOf=${asOf}&reportingCurrency=EUR`)).consolidated).toEqual(c);
  });
});

describe.each(Object.keys(expected.balanceSheet))('the balance sheet as of %s', (asOf) => {
  const want = expected.balanceSheet[asOf];
  const figures = (bs: Json) => ({
    currentAssets: total(bs.assets.sections, 'current_asset'),
    nonCurrentAssets: total(bs.assets.sections, 'non_current_asset'),
    contraAssets: total(bs.assets.sections, 'contra_asset'),
    assets: bs.assets.totalMinor,
    currentLiabilities: total(bs.liabilities.sections, 'current_liability'),
    nonCurrentLiabilities: total(bs.liabilities.sections, 'non_current_liability'),
    liabilities: bs.liabilities.totalMinor,
    equity: bs.equity.totalMinor,
    currentEarnings: bs.currentEarningsMinor,
    liabilitiesAndEquity: bs.totalLiabilitiesAndEquityMinor,
    ...(bs.roundingMinor !== undefined ? { rounding: bs.roundingMinor } : {}),
  });

  it.each(['EUR', 'JPY', 'consolidated'])('in %s: assets = liabilities + equity + current earnings', async (which) => {
    const view = await ok(`/api/accounting/reports/balance-sheet?asOf=${asOf}`);
    const bs = which === 'consolidated' ? view.consolidated : section(view, which);
    expect(figures(bs)).toEqual(want[which]);
    expect(bs.balanced).toBe(true);
    if (which === 'consolidated') expect(bs.rates).toEqual([expected.rates[asOf]]);
  });
});

describe.each(Object.keys(expected.incomeStatement))('the income statement for %s', (range) => {
  const [from, to] = range.split('..');
  const want = expected.incomeStatement[range];
  const figures = (is: Json) => ({
    revenue: is.revenue.totalMinor,
    contraRevenue: is.contraRevenue.totalMinor,
    netRevenue: is.netRevenueMinor,
    costOfSales: is.costOfSales.totalMinor,
    grossProfit: is.grossProfitMinor,
    expenses: is.expenses.totalMinor,
    operatingIncome: is.operatingIncomeMinor,
    otherIncome: is.otherIncome.totalMinor,
    otherExpense: is.otherExpense.totalMinor,
    netIncome: is.netIncomeMinor,
  });

  it.each(['EUR', 'JPY', 'consolidated'])('in %s (closing entries left out)', async (which) => {
    const view = await ok(`/api/accounting/reports/income-statement?from=${from}&to=${to}`);
    expect(figures(which === 'consolidated' ? view.consolidated : section(view, which))).toEqual(want[which]);
    if (which === 'consolidated') expect(view.consolidated.rates).toEqual([expected.rates[to!]]);
  });
});

describe.each(Object.keys(expected.cashSummary))('the cash summary for %s', (range) => {
  const [from, to] = range.split('..');
  const want = expected.cashSummary[range];
  const flows = (a: Json) => ({ opening: a.openingMinor, inflows: a.inflowsMinor, outflows: a.outflowsMinor, closing: a.closingMinor, ...(a.roundingMinor !== undefined ? { rounding: a.roundingMinor } : {}) });

  it('per currency: opening, money in, money out, closing of each cash account', async () => {
    const view = await ok(`/api/accounting/reports/cash-summary?from=${from}&to=${to}`);
    for (const currency of ['EUR', 'JPY']) expect(byCode(section(view, currency).accounts, flows)).toEqual(want[currency]);
  });

  it('consolidated in EUR, each figure converted and the line still adding up', async () => {
    const c = (await ok(`/api/accounting/reports/cash-summary?from=${from}&to=${to}`)).consolidated;
    expect(byCode(c.accounts, flows)).toEqual(want.consolidated.accounts);
    expect(flows(c.totals)).toEqual(want.consolidated.totals);
  });
});

describe.each(Object.keys(expected.accountLedger))('the account ledger of %s', (key) => {
  const [code, range] = key.split(' ');
  const [from, to] = range!.split('..');
  const want = expected.accountLedger[key];

  it('starts from the opening balance and runs to the closing one, posting by posting', async () => {
    const view = await ok(`/api/accounting/reports/accounts/${booked.accountIds.get(code!)}/ledger?from=${from}&to=${to}`);
    const got = Object.fromEntries(view.currencies.map((c: Json) => [c.currency, { opening: c.openingMinor, balances: c.lines.map((l: Json) => l.balanceMinor), closing: c.closingMinor }]));
    expect(got).toEqual(want);
  });
});

describe.each(Object.keys(expected.journal))('the journal for %s', (range) => {
  const [from, to] = range.split('..');
  const want = expected.journal[range];
  const readAll = async (limit: number) => {
    const pages: Json[][] = [];
    let cursor: string | null = null;
    do {
      const page: Json = await ok(`/api/accounting/reports/journal?from=${from}&to=${to}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
      pages.push(page.data);
      cursor = page.nextCursor;
    } while (cursor && pages.length < 50);
    return pages;
  };

  it('lists every entry once, in accounting-date order, with its postings, maker and checker', async () => {
    const pages = await readAll(8);
    const entries = pages.flat();
    if (want.pagesOf8) expect(pages.map((p) => p.length)).toEqual(want.pagesOf8);
    expect(entries).toHaveLength(want.entries);
    expect(new Set(entries.map((e) => e.id)).size).toBe(want.entries);
    expect(entries.map((e) => e.accountingDate)).toEqual([...entries.map((e) => e.accountingDate)].sort());
    expect(entries.reduce((n, e) => n + e.postings.length, 0)).toBe(want.postings);
    if (want.kinds) {
      const kinds: Record<string, number> = {};
      for (const e of entries) kinds[e.kind] = (kinds[e.kind] ?? 0) + 1;
      expect(kinds).toEqual(want.kinds);
    }
    const byId = new Map(entries.map((e) => [e.id, e]));
    for (const step of example.steps) {
      if (!('draft' in step) || !step.checker) continue;
      const entry = byId.get(booked.entryIds.get(step.draft)!);
      if (entry) expect(entry).toMatchObject({ kind: step.kind, createdBy: booked.principals[step.maker], approvedBy: booked.principals[step.checker], source: { type: 'manual' } });
    }
    expect(entries.some((e) => e.id === booked.draftIds.get('R1'))).toBe(false);
    const e18 = byId.get(booked.entryIds.get('E18')!);
    if (e18) expect(e18).toMatchObject({ kind: 'reversal', reverses: booked.entryIds.get('E17') });
  });

  it('exports one CSV line per posting, summing to zero per currency', async () => {
    const res = await get(`/api/accounting/reports/journal.csv?from=${from}&to=${to}`).expect(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    const [header, ...lines] = res.text.trimEnd().split('\r\n');
    expect(header!.split(',')).toContain('amount_minor');
    expect(lines).toHaveLength(want.postings);
    const sums: Record<string, number> = {};
    for (const line of lines) {
      const cells = line.split(',');
      sums[cells[cells.length - 2]!] = (sums[cells[cells.length - 2]!] ?? 0) + Number(cells[cells.length - 1]);
    }
    expect(sums).toEqual({ EUR: 0, JPY: 0 });
  });
});

describe('bad input', () => {
  const problem = async (url: string, status: number, field?: string) => {
    const res = await get(url);
    expect(`${url} -> ${res.status}`).toBe(`${url} -> ${status}`);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    if (field) expect(res.body.errors.map((e: Json) => e.path)).toContain(field);
    return res.body;
  };

  it('answers a date that does not exist, a range backwards and an unknown currency with 400 naming the field', async () => {
    await problem('/api/accounting/reports/trial-balance?asOf=2025-02-30', 400, 'query.asOf');
    await problem('/api/accounting/reports/balance-sheet?asOf=28.02.2025', 400, 'query.asOf');
    await problem('/api/accounting/reports/income-statement?from=2025-03-01&to=2025-02-01', 400, 'query.from');
    await problem('/api/accounting/reports/cash-summary?from=2025-02-01&to=2025-02-28&reportingCurrency=XYZ', 400, 'query.reportingCurrency');
    await problem('/api/accounting/reports/journal?from=2025-02-01&to=2025-02-28&cursor=bm9wZQ', 400, 'query.cursor');
  });

  it('answers an account that is not the tenant’s with 404, and a draft naming one with 422', async () => {
    await problem(`/api/accounting/reports/accounts/${randomUUID()}/ledger?from=2025-01-01&to=2025-01-31`, 404);
    // Another tenant's account is as unknown as a made-up one.
    const other = await registerTenant(api);
    const theirs = (await api.http().get('/api/accounting/accounts').set(bearer(other.admin.accessToken)).expect(200)).body.data[0].id;
    await problem(`/api/accounting/reports/accounts/${theirs}/ledger?from=2025-01-01&to=2025-01-31`, 404);
    const res = await api
      .http()
      .post('/api/accounting/drafts')
      .set(bearer(booked.tokens.finance))
      .send({ accountingDate: '2025-02-28', description: 'x', postings: [{ accountId: theirs, currency: 'EUR', amountMinor: 5 }, { accountCode: '4000', currency: 'EUR', amountMinor: -5 }] });
    expect(res.status).toBe(422);
    expect(res.body.detail).toContain(theirs);
  });

  it('refuses an unbalanced draft, a duplicate account code and a subtype outside its type', async () => {
    const post = (url: string, body: unknown) => api.http().post(url).set(bearer(booked.tokens.finance)).send(body as object);
    const unbalanced = await post('/api/accounting/drafts', { accountingDate: '2025-02-28', description: 'x', postings: [{ accountCode: '1000', currency: 'EUR', amountMinor: 5 }, { accountCode: '4000', currency: 'EUR', amountMinor: -4 }] });
    expect(unbalanced.status).toBe(400);
    expect(unbalanced.body.errors).toContainEqual({ path: 'body.postings', message: 'the postings must balance in each currency: in EUR debits minus credits = 1' });
    expect((await post('/api/accounting/accounts', { code: '6200-RENT', name: 'again', type: 'expense', subtype: 'expense' })).status).toBe(409);
    const wrong = await post('/api/accounting/accounts', { code: '6400-X', name: 'x', type: 'expense', subtype: 'current_asset' });
    expect(wrong.status).toBe(400);
    expect(wrong.body.errors.map((e: Json) => e.path)).toContain('body.subtype');
  });

  it('imports nothing from a rates file with a bad line, and names the line', async () => {
    const res = await api
      .http()
      .post('/api/accounting/fx-rates/import')
      .set(bearer(booked.tokens.finance))
      .send({ csv: 'base,quote,date,rate\nGBP,EUR,2025-03-31,1.19\nGBP,EUR,2025-04-31,1.2\nEUR,EUR,2025-03-31,1\n' });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      { path: 'body.csv.line3', message: 'not a date (YYYY-MM-DD): "2025-04-31"' },
      { path: 'body.csv.line4', message: 'base and quote must differ' },
    ]);
    expect((await ok('/api/accounting/fx-rates?base=GBP')).data).toEqual([]);
  });
});

describe('balances as of a date', () => {
  it('start from the closing snapshot and add only the postings since (the snapshot is what is read)', async () => {
    const t = await registerTenant(api);
    const post = (amount: number, at: string) =>
      withTenant(app, t.tenantId, (tx) =>
        postJournalEntry(tx, {
          id: randomUUID(),
          tenantId: t.tenantId,
          effectiveAt: new Date(at),
          description: 'sale',
          source: { type: 'test', id: randomUUID() },
          postings: [
            { account: { systemKey: 'cash' }, amount: money(amount, 'EUR') },
            { account: { systemKey: 'sales_revenue' }, amount: money(-amount, 'EUR') },
          ],
        }),
      );
    await post(1000, '2025-01-10T10:00:00Z');
    await withTenant(app, t.tenantId, (tx) => setPeriodStatus(tx, { periodStart: '2025-01-01', action: 'close', actor: 'test' }));
    await post(250, '2025-02-10T10:00:00Z');
    const cash = async (asOf: string) => {
      const res = await api.http().get(`/api/accounting/reports/trial-balance?asOf=${asOf}`).set(bearer(t.admin.accessToken)).expect(200);
      expect(res.body.currencies[0].balanced).toBe(true);
      return { snapshotAsOf: res.body.snapshotAsOf, cash: res.body.currencies[0].lines.find((l: Json) => l.code === '1000').debitMinor };
    };
    expect(await cash('2025-02-28')).toEqual({ snapshotAsOf: '2025-01-31', cash: 1250 });
    // Shift the snapshot (as only the owner can): a report that summed the whole history would not notice.
    await withTenant(owner, t.tenantId, (tx) =>
      tx.query(
        `UPDATE ledger_balance_snapshots s SET debit_minus_credit = debit_minus_credit + CASE a.system_key WHEN 'cash' THEN 7 ELSE -7 END
           FROM ledger_accounts a WHERE a.id = s.account_id AND s.as_of = '2025-01-31'`,
      ),
    );
    expect(await cash('2025-02-28')).toEqual({ snapshotAsOf: '2025-01-31', cash: 1257 });
    expect(await cash('2025-01-31')).toEqual({ snapshotAsOf: '2025-01-31', cash: 1007 });
    // Before the snapshot, the postings themselves.
    expect(await cash('2025-01-30')).toEqual({ snapshotAsOf: null, cash: 1000 });
  });

  it('refuse a figure beyond 2^53 - 1 minor units with 422 rather than round it', async () => {
    const t = await registerTenant(api);
    for (let i = 0; i < 2; i++) {
      await withTenant(app, t.tenantId, (tx) =>
        postJournalEntry(tx, {
          id: randomUUID(),
          tenantId: t.tenantId,
          effectiveAt: new Date('2025-03-01T10:00:00Z'),
          description: 'huge',
          source: { type: 'test', id: randomUUID() },
          postings: [
            { account: { systemKey: 'cash' }, amount: money(Number.MAX_SAFE_INTEGER, 'EUR') },
            { account: { systemKey: 'sales_revenue' }, amount: money(-Number.MAX_SAFE_INTEGER, 'EUR') },
          ],
        }),
      );
    }
    const res = await api.http().get('/api/accounting/reports/trial-balance?asOf=2025-03-31').set(bearer(t.admin.accessToken));
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ reason: 'too-large' });
    expect(res.body.detail).toContain('18014398509481982');
  });
});
