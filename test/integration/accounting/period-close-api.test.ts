/**
 * Closing a month over HTTP, on the real stack (the API, a worker on the accounting queue, the dev server): finance
 * starts the close, follows it, a second finance user signs it off (the first cannot, nor an admin), and the
 * closed statements download as JSON, CSV and a page (opened in Chromium, screenshot kept under
 * .stack/artifacts/). Scoped by tenant and role; bad input is a 4xx that changes nothing; an admin's reopen runs
 * the close again.
 *
 * January 2025, by hand: a sale of 1,234.56 EUR to cash, a processing fee of 20.00 EUR paid from cash.
 * Trial balance: debits 1,234.56 (cash 1,214.56 + fees 20.00) = credits 1,234.56 (revenue).
 * Balance sheet: assets 1,214.56 = current earnings 1,214.56. Income statement: net income 1,214.56.
 */
import fs from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { NativeConnection, Worker } from '@temporalio/worker';
import { chromium } from 'playwright-core';
import { chromiumPath } from '../../../deploy/local/components/chromium';
import { money } from '../../../core/money';
import { createPool, withTenant, type Pool } from '../../../platform/db/pool';
import { postJournalEntry } from '../../../platform/ledger';
import { connectWorker, createWorkers, workerDeps } from '../../../workers/create-workers';
import { apiKeyWithRole, bearer, registerTenant, startApi, userWithRole, type RegisteredTenant, type TestApi } from '../../support/api';
import { testConfig } from '../../support/env';
import { eventually } from '../../support/eventually';

const cfg = testConfig();
const ARTIFACTS = path.join(__dirname, '../../../.stack/artifacts');
const JAN = '2025-01-01';
let api: TestApi;
let db: Pool;
let connection: NativeConnection;
let worker: Worker;
let running: Promise<void>;
let tenant: RegisteredTenant;
let finance: string;
let finance2: string;
let admin: string;
let ops: string;

beforeAll(async () => {
  api = startApi();
  db = createPool(cfg.DATABASE_URL, 3);
  connection = await connectWorker(cfg);
  worker = (await createWorkers(cfg, connection, await workerDeps(cfg, db, ['accounting']), ['accounting']))[0]!;
  running = worker.run();
  tenant = await registerTenant(api);
  admin = tenant.admin.accessToken;
  [finance, finance2, ops] = await Promise.all([userWithRole(api, tenant, 'finance'), userWithRole(api, tenant, 'finance'), userWithRole(api, tenant, 'ops')]);
  const entry = (date: string, lines: [string, number][]) =>
    withTenant(db, tenant.tenantId, (tx) =>
      postJournalEntry(tx, {
        id: randomUUID(),
        tenantId: tenant.tenantId,
        effectiveAt: new Date(`${date}T12:00:00Z`),
        description: 'January',
        source: { type: 'test', id: randomUUID() },
        postings: lines.map(([systemKey, amount]) => ({ account: { systemKey }, amount: money(amount, 'EUR') })),
      }),
    );
  await entry('2025-01-10', [['cash', 123_456], ['sales_revenue', -123_456]]);
  await entry('2025-01-11', [['processing_fees', 2_000], ['cash', -2_000]]);
}, 120_000);
afterAll(async () => {
  worker?.shutdown();
  await running;
  await connection?.close();
  await db?.end();
  await api?.close();
});

const http = () => api.http();
const closeOf = async (token: string, start = JAN) => http().get(`/api/accounting/closes/${start}`).set(bearer(token));
const untilStatus = (status: string, step?: string) =>
  eventually(`close ${status}`, async () => {
    const res = await closeOf(finance);
    return res.status === 200 && res.body.status === status && (!step || res.body.progress?.step === step) && res.body;
  }, 90_000);

describe('the period close over HTTP', () => {
  it('refuses bad input with a 4xx and starts nothing', async () => {
    for (const body of [{ periodStart: '2025-01-15' }, { periodStart: 'January' }, { periodStart: JAN, extra: 1 }, {}]) {
      const res = await http().post('/api/accounting/closes').set(bearer(finance)).send(body);
      expect(res.status).toBe(400);
      expect(res.type).toBe('application/problem+json');
    }
    const thisMonth = `${new Date().toISOString().slice(0, 7)}-01`;
    const unfinished = await http().post('/api/accounting/closes').set(bearer(finance)).send({ periodStart: thisMonth });
    expect(unfinished.status).toBe(422);
    const key = await apiKeyWithRole(api, tenant, 'finance');
    expect((await http().post('/api/accounting/closes').set(bearer(key.key)).send({ periodStart: JAN })).status).toBe(403);
    expect((await http().get('/api/accounting/closes').set(bearer(finance)).expect(200)).body.data).toEqual([]);
    expect((await closeOf(finance)).status).toBe(404);
    // Months close in order: February while January is open would wait for ever at its final step.
    const outOfOrder = await http().post('/api/accounting/closes').set(bearer(finance)).send({ periodStart: '2025-02-01' });
    expect({ status: outOfOrder.status, reason: outOfOrder.body.reason, detail: outOfOrder.body.detail }).toEqual({
      status: 409,
      reason: 'earlier-period-open',
      detail: expect.stringContaining(JAN),
    });
    expect((await http().get('/api/accounting/closes').set(bearer(finance)).expect(200)).body.data).toEqual([]);
  });

  it('runs a close finance started, shows its progress, and takes the sign-off only from another finance user', async () => {
    const started = await http().post('/api/accounting/closes').set(bearer(finance)).send({ periodStart: JAN });
    expect(started.status).toBe(202);
    expect(started.body.workflowId).toMatch(new RegExp(`^period-close:${tenant.tenantId}:${JAN}:`));
    const waiting = await untilStatus('awaiting_sign_off', 'awaiting_sign_off');
    expect(waiting).toMatchObject({ run: 1, trigger: 'manual', progress: { periodEnd: '2025-01-31', escalated: false }, trialBalance: [{ currency: 'EUR', debitMinor: 123_456, creditMinor: 123_456, balanced: true }] });
    // A second start of the same month finds it being closed.
    expect((await http().post('/api/accounting/closes').set(bearer(finance2)).send({ periodStart: JAN })).status).toBe(409);
    // Not closed yet: nothing to download.
    expect((await http().get(`/api/accounting/closes/${JAN}/statements`).set(bearer(finance))).status).toBe(409);

    const self = await http().post(`/api/accounting/closes/${JAN}/sign-off`).set(bearer(finance));
    expect(self.status).toBe(409);
    expect(self.body.detail).toMatch(/started this close cannot sign it off/);
    expect((await http().post(`/api/accounting/closes/${JAN}/sign-off`).set(bearer(admin))).status).toBe(409);
    expect((await http().post(`/api/accounting/closes/${JAN}/sign-off`).set(bearer(ops))).status).toBe(403);
    const signed = await http().post(`/api/accounting/closes/${JAN}/sign-off`).set(bearer(finance2));
    expect(signed.status).toBe(200);
    expect(signed.body.signedOffBy).toMatch(/^user:[0-9a-f-]{36}$/);

    const closed = await untilStatus('closed');
    expect(closed).toMatchObject({ signedOffBy: signed.body.signedOffBy, progress: null });
    const periods = (await http().get('/api/accounting/periods').set(bearer(finance)).expect(200)).body.data;
    expect(periods.find((p: { periodStart: string }) => p.periodStart === JAN)).toMatchObject({ status: 'closed' });
    expect((await http().post('/api/accounting/closes').set(bearer(finance)).send({ periodStart: JAN })).status).toBe(409);
  });

  it('lists the close with its trial balance and serves its statements as JSON and CSV', async () => {
    const list = (await http().get('/api/accounting/closes').set(bearer(finance)).expect(200)).body.data;
    expect(list).toEqual([expect.objectContaining({ periodStart: JAN, status: 'closed', run: 1, trialBalance: [{ currency: 'EUR', debitMinor: 123_456, creditMinor: 123_456, balanced: true }] })]);
    const json = (await http().get(`/api/accounting/closes/${JAN}/statements`).set(bearer(finance)).expect(200)).body;
    const eur = json.statements.currencies[0];
    expect(eur.currency).toBe('EUR');
    expect(eur.balanceSheet).toMatchObject({ currentEarningsMinor: 121_456, totalLiabilitiesAndEquityMinor: 121_456, balanced: true, assets: { totalMinor: 121_456 } });
    expect(eur.incomeStatement).toMatchObject({ netIncomeMinor: 121_456, revenue: { totalMinor: 123_456 }, costOfSales: { totalMinor: 2_000 } });
    const csv = await http().get(`/api/accounting/closes/${JAN}/statements?format=csv`).set(bearer(finance)).expect(200);
    expect(csv.type).toBe('text/csv');
    const lines = csv.text.trim().split('\r\n');
    expect(lines[0]).toBe('statement,currency,section,account_code,account_name,amount_minor');
    expect(lines).toEqual(
      expect.arrayContaining([
        'trial_balance,EUR,debit_minus_credit,1000,Cash at bank,121456',
        'trial_balance,EUR,debit_minus_credit,4000,Sales revenue,-123456',
        'income_statement,EUR,net_income,,Net income,121456',
      ]),
    );
  });

  it("keeps a tenant's closes its own and the routes to finance and admin", async () => {
    const other = await registerTenant(api);
    const otherFinance = await userWithRole(api, other, 'finance');
    expect((await closeOf(otherFinance)).status).toBe(404);
    expect((await http().get(`/api/accounting/closes/${JAN}/statements`).set(bearer(otherFinance))).status).toBe(404);
    expect((await http().post(`/api/accounting/closes/${JAN}/sign-off`).set(bearer(otherFinance))).status).toBe(404);
    expect((await http().get('/api/accounting/closes').set(bearer(otherFinance)).expect(200)).body.data).toEqual([]);
    expect((await closeOf(ops)).status).toBe(403);
  });

  it('shows the closed statements as a page in Chromium, loading nothing else', async () => {
    const executablePath = chromiumPath();
    if (!executablePath) throw new Error('Chromium is not installed: run `npm run stack -- up chromium`');
    const server: Server = api.app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'finflow-chromium-'));
    const browser = await chromium.launchPersistentContext(userDataDir, {
      executablePath,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
      extraHTTPHeaders: { Authorization: `Bearer ${finance}` },
      viewport: { width: 1100, height: 900 },
    });
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/accounting/closes/${JAN}/statements?format=html`;
      const page = await browser.newPage();
      const requested: string[] = [];
      page.on('request', (r) => requested.push(r.url()));
      const response = await page.goto(url);
      expect(response?.status()).toBe(200);
      expect(response?.headers()['content-security-policy']).toContain("default-src 'none'");
      const figure = (name: string) => page.locator(`section[data-currency="EUR"] [data-figure="${name}"]`).innerText();
      expect(await figure('tb-debit')).toBe('1,234.56');
      expect(await figure('tb-credit')).toBe('1,234.56');
      expect(await figure('total-assets')).toBe('1,214.56');
      expect(await figure('net-income')).toBe('1,214.56');
      expect(await page.locator('[data-figure="period"]').innerText()).toBe('2025-01-01 to 2025-01-31');
      expect(requested).toEqual([url]);
      fs.mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: path.join(ARTIFACTS, `closed-statements-${JAN}.png`), fullPage: true });
    } finally {
      await browser.close();
      server.close();
      fs.rmSync(userDataDir, { recursive: true, force: true });
    }
  });

  it("lets only an admin reopen a closed month, with a reason: audited, and the close runs again as the next run", async () => {
    expect((await http().post(`/api/accounting/closes/${JAN}/reopen`).set(bearer(finance)).send({ reason: 'late invoice' })).status).toBe(403);
    expect((await http().post(`/api/accounting/closes/${JAN}/reopen`).set(bearer(admin)).send({ reason: ' ' })).status).toBe(400);
    const reopened = await http().post(`/api/accounting/closes/${JAN}/reopen`).set(bearer(admin)).send({ reason: 'late invoice' });
    expect(reopened.status).toBe(202);
    const again = await eventually('run 2 awaiting sign-off', async () => {
      const res = await closeOf(finance);
      return res.body.run === 2 && res.body.status === 'awaiting_sign_off' && res.body;
    }, 90_000);
    expect(again).toMatchObject({ trigger: 'reopen', startedBy: expect.stringMatching(/^user:/) });
    const periods = (await http().get('/api/accounting/periods').set(bearer(finance)).expect(200)).body.data;
    const jan = periods.find((p: { periodStart: string }) => p.periodStart === JAN);
    expect(jan.status).toBe('locked');
    expect(jan.events.map((e: { action: string }) => e.action)).toEqual(['lock', 'close', 'reopen', 'lock']);
    expect(jan.events[2]).toMatchObject({ reason: 'late invoice', actor: again.startedBy });
    // The latest run is not closed: its statements wait for its sign-off.
    expect((await http().get(`/api/accounting/closes/${JAN}/statements`).set(bearer(finance))).status).toBe(409);
    await http().post(`/api/accounting/closes/${JAN}/sign-off`).set(bearer(finance)).expect(200);
    await untilStatus('closed');
  });
});
