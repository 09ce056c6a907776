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
  beforeAll(async () => {
    admin = (await registerTenant(api)).admin.accessToken;
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
});
