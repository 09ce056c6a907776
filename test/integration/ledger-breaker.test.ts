/**
 * Attacks on the ledger and the accounting routes that got through, each written as the attack and now refused:
 * a month opened inside the closed history, postings and closes from a transaction whose snapshot predates the
 * other (a posting in a closed month, a stale balance snapshot), four eyes defeated by the maker's own API key, a
 * forged manual-entry mark, a draft moved to another day by a time zone change, and inputs that gave a 500 or an
 * unclear answer.
 */
import { randomUUID } from 'node:crypto';
import { createPool, scopeToTenant, withTenant, type Pool, type PoolClient } from '../../platform/db/pool';
import { ensurePeriods, postJournalEntry, setPeriodStatus } from '../../platform/ledger';
import { apiKeyWithRole, bearer, registerTenant, startApi, userWithRole, type TestApi } from '../support/api';
import { testConfig } from '../support/env';
import { saleEntry, tenantWithChart } from '../support/ledger';

const cfg = testConfig();
let app: Pool;
let api: TestApi;

beforeAll(async () => {
  app = createPool(cfg.DATABASE_URL, 6);
  api = startApi();
});
afterAll(async () => {
  await app.end();
  await api.close();
});

const sale = (tenantId: string, amountMinor: number, at: string) => saleEntry(tenantId, amountMinor, { effectiveAt: new Date(at), debit: 'cash' });
const post = (tenantId: string, amountMinor: number, at: string) => withTenant(app, tenantId, (tx) => postJournalEntry(tx, sale(tenantId, amountMinor, at)));
const close = (tenantId: string, periodStart: string) => withTenant(app, tenantId, (tx) => setPeriodStatus(tx, { periodStart, action: 'close', actor: 'test' }));

/** Each snapshot against the postings it claims to hold (everything dated up to its day): the mismatches. */
async function staleSnapshots(tenantId: string): Promise<unknown[]> {
  const { rows } = await withTenant(app, tenantId, (tx) =>
    tx.query(
      `SELECT s.as_of, s.account_id, s.debit_minus_credit::text AS snapshot,
              (SELECT coalesce(sum(p.amount_minor), 0) FROM postings p WHERE p.account_id = s.account_id AND p.currency = s.currency AND p.accounting_date <= s.as_of)::text AS postings
         FROM ledger_balance_snapshots s
        WHERE s.debit_minus_credit <> (SELECT coalesce(sum(p.amount_minor), 0) FROM postings p WHERE p.account_id = s.account_id AND p.currency = s.currency AND p.accounting_date <= s.as_of)`,
    ),
  );
  return rows;
}

/** A transaction of the app role at `isolation` whose snapshot is taken now (its first query). */
async function transactionFromNow(tenantId: string, isolation: 'REPEATABLE READ' | 'SERIALIZABLE'): Promise<PoolClient> {
  const client = await app.connect();
  await client.query(`BEGIN ISOLATION LEVEL ${isolation}`);
  await scopeToTenant(client, tenantId);
  await client.query('SELECT count(*) FROM accounting_periods');
  return client;
}
async function end(client: PoolClient) {
  await client.query('ROLLBACK').catch(() => undefined);
  client.release();
}

describe('the closed history, from SQL as the application role', () => {
  it('refuses to open a month before a closed one (ledger_ensure_periods), so nothing can be dated under a written snapshot', async () => {
    const tenantId = await tenantWithChart(app);
    await post(tenantId, 1000, '2025-03-10T12:00:00Z');
    await close(tenantId, '2025-03-01');
    await expect(withTenant(app, tenantId, (tx) => ensurePeriods(tx, '2025-01-01', 0))).rejects.toMatchObject({ code: 'closed-period' });
    await expect(post(tenantId, 555, '2025-01-10T12:00:00Z')).rejects.toMatchObject({ code: 'closed-period' });
    expect(await staleSnapshots(tenantId)).toEqual([]);
    // Months after the closed history are still created ahead.
    await withTenant(app, tenantId, (tx) => ensurePeriods(tx, '2025-04-01', 2));
    expect(await post(tenantId, 5, '2025-06-10T12:00:00Z')).toBe('posted');
  });

  it.each(['REPEATABLE READ', 'SERIALIZABLE'] as const)('refuses a posting from a %s transaction that began before a close: it would land in the closed month', async (isolation) => {
    const tenantId = await tenantWithChart(app);
    await post(tenantId, 1000, '2025-03-10T12:00:00Z');
    const early = await transactionFromNow(tenantId, isolation);
    try {
      await close(tenantId, '2025-03-01');
      await expect(postJournalEntry(early, sale(tenantId, 777, '2025-03-15T12:00:00Z'))).rejects.toThrow(/READ COMMITTED/);
      await early.query('COMMIT').catch(() => undefined);
    } finally {
      await end(early);
    }
    expect(await staleSnapshots(tenantId)).toEqual([]);
  });

  it.each(['REPEATABLE READ', 'SERIALIZABLE'] as const)('refuses a close from a %s transaction that began before a posting: its snapshot would miss it', async (isolation) => {
    const tenantId = await tenantWithChart(app);
    await post(tenantId, 1000, '2025-03-10T12:00:00Z');
    const early = await transactionFromNow(tenantId, isolation);
    try {
      await post(tenantId, 777, '2025-03-15T12:00:00Z');
      await expect(setPeriodStatus(early, { periodStart: '2025-03-01', action: 'close', actor: 'test' })).rejects.toThrow(/READ COMMITTED/);
      await early.query('COMMIT').catch(() => undefined);
    } finally {
      await end(early);
    }
    await close(tenantId, '2025-03-01');
    expect(await staleSnapshots(tenantId)).toEqual([]);
  });

  it('refuses a manual entry whose maker-checker mark the application role set itself (no draft was approved)', async () => {
    const tenantId = await tenantWithChart(app);
    const id = randomUUID();
    const entry = {
      id,
      effectiveAt: '2025-05-10T12:00:00Z',
      description: 'forged approval',
      source: { type: 'manual', id },
      createdBy: 'user:maker',
      approvedBy: 'user:nobody',
      postings: [
        { systemKey: 'cash', currency: 'EUR', amountMinor: 100_000 },
        { systemKey: 'sales_revenue', currency: 'EUR', amountMinor: -100_000 },
      ],
    };
    const forged = withTenant(app, tenantId, async (tx) => {
      await tx.query("SELECT set_config('finflow.ledger_manual', $1, true)", [id]);
      await tx.query('SELECT ledger_post($1::jsonb)', [JSON.stringify(entry)]);
    });
    await expect(forged).rejects.toMatchObject({ hint: 'four-eyes' });
    const { rowCount } = await withTenant(app, tenantId, (tx) => tx.query('SELECT 1 FROM journal_entries WHERE id = $1', [id]));
    expect(rowCount).toBe(0);
  });
});

describe('maker-checker over HTTP', () => {
  const today = () => new Date().toISOString().slice(0, 10);
  const draftBody = (date = today()) => ({
    accountingDate: date,
    description: 'accrue bank interest',
    postings: [
      { accountCode: '1000', currency: 'EUR', amountMinor: 1234 },
      { accountCode: '4000', currency: 'EUR', amountMinor: -1234 },
    ],
  });
  const makeDraft = async (token: string, body = draftBody()) => (await api.http().post('/api/accounting/drafts').set(bearer(token)).send(body).expect(201)).body.id as string;
  const decide = (token: string, id: string, decision: 'approve' | 'reject') =>
    api
      .http()
      .post(`/api/accounting/drafts/${id}/${decision}`)
      .set(bearer(token))
      .send(decision === 'reject' ? { reason: 'no' } : {});
  const draftStatus = async (token: string, id: string) =>
    ((await api.http().get('/api/accounting/drafts').set(bearer(token)).expect(200)).body.data as { id: string; status: string }[]).find((d) => d.id === id)?.status;

  it('refuses an approval or rejection by an API key the maker created, and the maker deciding what their key drafted (403 four-eyes)', async () => {
    const tenant = await registerTenant(api);
    const admin = tenant.admin.accessToken;
    const key = await apiKeyWithRole(api, tenant, 'finance');
    const byAdmin = await makeDraft(admin);
    for (const decision of ['approve', 'reject'] as const) {
      const res = await decide(key.key, byAdmin, decision);
      expect(res.status).toBe(403);
      expect(res.body.reason).toBe('four-eyes');
    }
    const byKey = await makeDraft(key.key);
    const res = await decide(admin, byKey, 'approve');
    expect(res.status).toBe(403);
    expect(res.body.reason).toBe('four-eyes');
    expect(await draftStatus(admin, byAdmin)).toBe('draft');
    expect(await draftStatus(admin, byKey)).toBe('draft');
    // Another person may: a finance user approves both.
    const finance = await userWithRole(api, tenant, 'finance');
    expect((await decide(finance, byAdmin, 'approve')).status).toBe(200);
    expect((await decide(finance, byKey, 'approve')).status).toBe(200);
  });

  it('posts a draft on the day it was drafted for, even after the books’ time zone moved (Tokyo to Los Angeles)', async () => {
    const tenant = await registerTenant(api);
    const admin = tenant.admin.accessToken;
    await api.http().patch('/api/accounting/settings').set(bearer(admin)).send({ timeZone: 'Asia/Tokyo' }).expect(200);
    const finance = await userWithRole(api, tenant, 'finance');
    const id = await makeDraft(finance, draftBody('2025-02-01'));
    await api.http().patch('/api/accounting/settings').set(bearer(admin)).send({ timeZone: 'America/Los_Angeles' }).expect(200);
    const approved = await decide(admin, id, 'approve');
    expect(approved.status).toBe(200);
    expect(approved.body.accountingDate).toBe('2025-02-01');
    const journal = await api.http().get('/api/accounting/reports/journal?from=2025-01-01&to=2025-02-28').set(bearer(admin)).expect(200);
    expect(journal.body.data.map((e: { id: string; accountingDate: string }) => [e.id, e.accountingDate])).toEqual([[id, '2025-02-01']]);
  });
});

describe('bad input on the accounting routes', () => {
  let admin: string;
  let adminTenant: Awaited<ReturnType<typeof registerTenant>>;
  beforeAll(async () => {
    adminTenant = await registerTenant(api);
    admin = adminTenant.admin.accessToken;
  });

  it('answers 400, not 500, to a journal cursor naming an impossible date, moment or entry id', async () => {
    const cursor = (parts: string[]) => Buffer.from(JSON.stringify(parts)).toString('base64url');
    for (const parts of [
      ['9999-99-99', '2025-01-01T00:00:00.000000Z', randomUUID()],
      ['2025-02-29', '2025-01-01T00:00:00.000000Z', randomUUID()],
      ['2025-01-01', '2025-13-45T99:00:00.000000Z', randomUUID()],
      ['2025-01-01', '2025-01-01T00:00:00.000000Z', '-'.repeat(36)],
    ]) {
      const res = await api.http().get(`/api/accounting/reports/journal?from=2025-01-01&to=2025-12-31&cursor=${cursor(parts)}`).set(bearer(admin));
      expect([res.status, res.body.errors]).toEqual([400, [{ path: 'query.cursor', message: 'invalid cursor' }]]);
    }
  });

  const importRates = (csv: string) => api.http().post('/api/accounting/fx-rates/import').set(bearer(admin)).send({ csv });
  const rates = async (date: string) => (await api.http().get(`/api/accounting/fx-rates?from=${date}&to=${date}`).set(bearer(admin)).expect(200)).body.data as { base: string; quote: string; rate: string; source: string }[];

  it('reads a rates file as CSV: quoted fields, a quoted comma and quote, CR line ends', async () => {
    expect((await importRates('"base","quote","date","rate","source"\r\n"EUR","JPY","2025-03-03","160.5","ECB, reference ""daily"""\r\n')).status).toBe(201);
    expect(await rates('2025-03-03')).toMatchObject([{ base: 'EUR', quote: 'JPY', rate: '160.5', source: 'ECB, reference "daily"' }]);
    expect((await importRates('base,quote,date,rate\rEUR,USD,2025-03-04,1.08\rEUR,GBP,2025-03-04,0.84\r')).status).toBe(201);
    expect((await rates('2025-03-04')).map((r) => r.quote).sort()).toEqual(['GBP', 'USD']);
  });

  it('refuses a rates file whose header names a column twice or one it does not know, naming it (it read the first rate column, dropped a misspelt source)', async () => {
    for (const [csv, named] of [
      ['base,quote,date,rate,rate\nEUR,JPY,2025-03-05,160,170\n', 'rate'],
      ['base,quote,date,rate,sorce\nEUR,JPY,2025-03-05,160,ECB\n', 'sorce'],
    ] as const) {
      const res = await importRates(csv);
      expect(res.status).toBe(400);
      expect(res.body.errors).toEqual([{ path: 'body.csv.line1', message: expect.stringContaining(named) }]);
    }
    expect(await rates('2025-03-05')).toEqual([]);
  });

  it('refuses a card number in the free text of the books: draft description, rejection reason, account name, rate source (it was stored and echoed)', async () => {
    const pan = '4111 1111 1111 1111';
    const draft = { accountingDate: '2025-03-10', description: `refund to card ${pan}`, postings: [{ accountCode: '1000', currency: 'EUR', amountMinor: 5 }, { accountCode: '4000', currency: 'EUR', amountMinor: -5 }] };
    const cases: [string, () => Promise<{ status: number; body: { errors?: { path: string }[] } }>][] = [
      ['body.description', () => api.http().post('/api/accounting/drafts').set(bearer(admin)).send(draft)],
      ['body.name', () => api.http().post('/api/accounting/accounts').set(bearer(admin)).send({ code: '6100-CARD', name: `card ${pan}`, type: 'expense', subtype: 'expense' })],
      ['body.source', () => api.http().put('/api/accounting/fx-rates').set(bearer(admin)).send({ base: 'EUR', quote: 'JPY', date: '2025-03-10', rate: '160', source: pan })],
      ['body.csv.line2', () => importRates(`base,quote,date,rate,source\nEUR,JPY,2025-03-10,160,${pan}\n`)],
    ];
    for (const [path, send] of cases) {
      const res = await send();
      expect([path, res.status, res.body.errors?.map((e) => e.path)]).toEqual([path, 400, [path]]);
    }
    const ok = await api.http().post('/api/accounting/drafts').set(bearer(admin)).send({ ...draft, description: 'refund' }).expect(201);
    const finance = await userWithRole(api, adminTenant, 'finance');
    const rejected = await api.http().post(`/api/accounting/drafts/${ok.body.id}/reject`).set(bearer(finance)).send({ reason: `paid by ${pan}` });
    expect([rejected.status, rejected.body.errors?.map((e: { path: string }) => e.path)]).toEqual([400, ['body.reason']]);
  });

  it('refuses a string that is not well-formed Unicode (a lone surrogate was stored as U+FFFD, not as sent)', async () => {
    const res = await api
      .http()
      .post('/api/accounting/drafts')
      .set(bearer(admin))
      .set('content-type', 'application/json')
      .send('{"accountingDate":"2025-03-10","description":"accrual \\ud800","postings":[{"accountCode":"1000","currency":"EUR","amountMinor":5},{"accountCode":"4000","currency":"EUR","amountMinor":-5}]}');
    expect([res.status, res.body.errors?.map((e: { path: string }) => e.path)]).toEqual([400, ['body.description']]);
  });

  it('names the time zone field, with the documented 400, when PostgreSQL does not know the zone (was 422 "refused by tenants_time_zone_check")', async () => {
    const res = await api.http().patch('/api/accounting/settings').set(bearer(admin)).send({ timeZone: 'europe/berlin' });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([{ path: 'body.timeZone', message: expect.stringMatching(/time zone/) }]);
    expect(res.body.detail).toContain('europe/berlin');
  });
});
