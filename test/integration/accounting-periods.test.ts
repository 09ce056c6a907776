/**
 * Closing the books over HTTP: finance locks and closes periods (in order; audited with who did it), only an admin
 * reopens one, with a reason; the books' time zone and reporting currency are an admin's settings. A period is the
 * caller's tenant's: another tenant acting on the same dates touches only its own books.
 */
import { createPool, withTenant, type Pool } from '../../platform/db/pool';
import { postJournalEntry } from '../../platform/ledger';
import { bearer, registerTenant, startApi, userWithRole, type RegisteredTenant, type TestApi } from '../support/api';
import { testConfig } from '../support/env';
import { saleEntry } from '../support/ledger';

let api: TestApi;
let db: Pool;
let tenant: RegisteredTenant;
let finance: string;
let admin: string;

beforeAll(async () => {
  api = startApi();
  db = createPool(testConfig().DATABASE_URL, 2);
  tenant = await registerTenant(api);
  admin = tenant.admin.accessToken;
  finance = await userWithRole(api, tenant, 'finance');
});
afterAll(async () => {
  await db.end();
  await api.close();
});

const periods = async (token: string) => (await api.http().get('/api/accounting/periods').set(bearer(token)).expect(200)).body.data as { periodStart: string; status: string; events: { action: string; actor: string; reason: string | null }[] }[];
const move = (token: string, start: string, action: string, body?: object) => api.http().post(`/api/accounting/periods/${start}/${action}`).set(bearer(token)).send(body);
const sale = (tenantId: string, at: string) => withTenant(db, tenantId, (tx) => postJournalEntry(tx, saleEntry(tenantId, 100, { effectiveAt: new Date(at), debit: 'cash' })));

describe('the period close over HTTP', () => {
  it('lets finance lock then close the first month, in order, and records who did it', async () => {
    const [first, second] = await periods(finance);
    expect(first!.status).toBe('open');
    expect((await move(finance, second!.periodStart, 'close')).status).toBe(409); // an earlier period is open
    const locked = await move(finance, first!.periodStart, 'lock');
    expect(locked.status).toBe(200);
    expect(locked.body.status).toBe('locked');
    const closed = await move(finance, first!.periodStart, 'close');
    expect(closed.status).toBe(200);
    expect(closed.body).toMatchObject({ status: 'closed', events: [{ action: 'lock' }, { action: 'close', reason: null }] });
    expect(closed.body.events[1].actor).toMatch(/^user:[0-9a-f-]{36}$/);
    await expect(sale(tenant.tenantId, `${first!.periodStart}T12:00:00Z`)).rejects.toMatchObject({ code: 'closed-period' });
  });

  it('lets only an admin reopen a closed period, with a reason; the reopen is in its history', async () => {
    const [first] = await periods(admin);
    expect(first!.status).toBe('closed');
    expect((await move(finance, first!.periodStart, 'reopen', { reason: 'late invoice' })).status).toBe(403);
    const blank = await move(admin, first!.periodStart, 'reopen', { reason: '  ' });
    expect(blank.status).toBe(400);
    expect(blank.body.errors.map((e: { path: string }) => e.path)).toContain('body.reason');
    const reopened = await move(admin, first!.periodStart, 'reopen', { reason: 'late invoice' });
    expect(reopened.status).toBe(200);
    expect(reopened.body.status).toBe('open');
    expect(reopened.body.events.at(-1)).toMatchObject({ action: 'reopen', reason: 'late invoice' });
    expect(await sale(tenant.tenantId, `${first!.periodStart}T12:00:00Z`)).toBe('posted');
    expect((await move(admin, first!.periodStart, 'reopen', { reason: 'again' })).status).toBe(409); // it is not closed
  });

  it('answers 404 for a date no period starts on, and 400 for one that is not a date', async () => {
    expect((await move(finance, '1990-01-01', 'close')).status).toBe(404);
    expect((await move(finance, '2025-02-30', 'close')).status).toBe(400);
  });

  it('acts on the caller’s tenant only: another tenant closing the same month leaves these books open', async () => {
    const other = await registerTenant(api);
    const [mine] = await periods(admin);
    const theirs = (await api.http().get('/api/accounting/periods').set(bearer(other.admin.accessToken)).expect(200)).body.data[0];
    expect(theirs.periodStart).toBe(mine!.periodStart);
    expect((await move(other.admin.accessToken, theirs.periodStart, 'close')).status).toBe(200);
    expect((await periods(admin))[0]!.status).toBe(mine!.status);
  });
});

describe('the books’ settings', () => {
  it('lets an admin move the time zone (later entries follow it) and set the reporting currency; finance may only read them', async () => {
    expect((await api.http().get('/api/accounting/settings').set(bearer(finance)).expect(200)).body).toEqual({ timeZone: 'UTC', reportingCurrency: null });
    await api.http().patch('/api/accounting/settings').set(bearer(finance)).send({ timeZone: 'Asia/Tokyo' }).expect(403);
    const bad = await api.http().patch('/api/accounting/settings').set(bearer(admin)).send({ timeZone: 'Mars/Base' });
    expect(bad.status).toBe(400);
    expect((await api.http().patch('/api/accounting/settings').set(bearer(admin)).send({})).status).toBe(400);
    const set = await api.http().patch('/api/accounting/settings').set(bearer(admin)).send({ timeZone: 'Asia/Tokyo', reportingCurrency: 'JPY' }).expect(200);
    expect(set.body).toEqual({ timeZone: 'Asia/Tokyo', reportingCurrency: 'JPY' });
    // 20:00 UTC on a month's last day is the next day in Tokyo (UTC+9).
    const [, second] = await periods(admin);
    const lastDay = new Date(`${second!.periodStart}T00:00:00Z`);
    lastDay.setUTCMonth(lastDay.getUTCMonth() + 1);
    lastDay.setUTCDate(0);
    const entry = saleEntry(tenant.tenantId, 5, { effectiveAt: new Date(`${lastDay.toISOString().slice(0, 10)}T20:00:00Z`), debit: 'cash' });
    const id = entry.id;
    await withTenant(db, tenant.tenantId, (tx) => postJournalEntry(tx, entry));
    const { rows } = await withTenant(db, tenant.tenantId, (tx) => tx.query<{ d: string }>("SELECT to_char(accounting_date, 'YYYY-MM-DD') AS d FROM journal_entries WHERE id = $1", [id]));
    const nextDay = new Date(lastDay.getTime() + 86_400_000).toISOString().slice(0, 10);
    expect(rows[0]!.d).toBe(nextDay);
  });
});
