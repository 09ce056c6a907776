/**
 * The receivables ageing page as a person sees it, in a real Chromium (Debian's, driven by playwright-core) with a
 * finance user's token: invoices in EUR and in JPY (no minor unit) spread over the buckets, the figures on the page
 * checked against sums written here by hand, nothing loaded from elsewhere. A screenshot is kept under
 * .stack/artifacts/. The invoices are booked through modules/invoices directly: the page, not the workflow, is
 * under test here.
 */
import fs from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { chromium, type BrowserContext } from 'playwright-core';
import { addDays } from '../../../core/invoices';
import { chromiumPath } from '../../../deploy/local/components/chromium';
import { createDraft, issueInvoice, recordPayment } from '../../../modules/invoices';
import { createPool, withTenant, type Pool } from '../../../platform/db/pool';
import { registerTenant, startApi, userWithRole, type RegisteredTenant, type TestApi } from '../../support/api';
import { testConfig } from '../../support/env';

const ARTIFACTS = path.join(__dirname, '../../../.stack/artifacts');
const AS_OF = '2026-06-30';
let api: TestApi;
let db: Pool;
let tenant: RegisteredTenant;
let server: Server;
let browser: BrowserContext;
let userDataDir: string;

/** An invoice of one line without tax, issued `daysLate` days before AS_OF's due date, with `paid` received. */
async function invoice(customerId: string, currency: 'EUR' | 'JPY', amountMinor: number, daysLate: number, paid = 0) {
  const id = randomUUID();
  const dueDate = addDays(AS_OF, -daysLate);
  const issueDate = addDays(dueDate, -30);
  await withTenant(db, tenant.tenantId, async (tx) => {
    await createDraft(tx, { id, tenantId: tenant.tenantId, idempotencyKey: id, series: 'INV', createdBy: 'test', customerId, currency, lines: [{ description: 'Work', quantity: 1, unitPriceMinor: amountMinor, taxRateBp: 0 }] });
    await issueInvoice(tx, { invoiceId: id, issueDate, dueDate, effectiveAt: `${issueDate}T12:00:00Z` });
    if (paid) await recordPayment(tx, { invoiceId: id, paymentId: 'p1', amountMinor: paid, method: 'bank_transfer', receivedOn: issueDate, effectiveAt: `${issueDate}T12:00:00Z`, status: 'partially_paid' });
  });
}

beforeAll(async () => {
  const executablePath = chromiumPath();
  if (!executablePath) throw new Error('Chromium is not installed: run `npm run stack -- up chromium` (apt-get install chromium)');
  api = startApi();
  db = createPool(testConfig().DATABASE_URL, 2);
  tenant = await registerTenant(api);
  const finance = await userWithRole(api, tenant, 'finance');
  await invoice('cus_a', 'EUR', 100_00, 0); // current (due today)
  await invoice('cus_a', 'EUR', 250_50, 31, 50_50); // 31-60, 200.00 left
  await invoice('cus_b', 'EUR', 1_000_00, 91); // 90+
  await invoice('cus_b', 'JPY', 5_000, 15); // 1-30
  await invoice('cus_b', 'JPY', 12_345, 61); // 61-90
  server = api.app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'finflow-chromium-'));
  browser = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    extraHTTPHeaders: { Authorization: `Bearer ${finance}` },
    viewport: { width: 1100, height: 700 },
  });
}, 180_000);
afterAll(async () => {
  await browser?.close();
  server?.close();
  await db?.end();
  await api?.close();
  if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
});

describe('the receivables ageing page in Chromium', () => {
  it('shows what each currency’s customers owe by age, with the hand-summed totals, and loads nothing from elsewhere', async () => {
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const page = await browser.newPage();
    const requested: string[] = [];
    page.on('request', (r) => requested.push(r.url()));
    const response = await page.goto(`${origin}/api/invoices/ageing?asOf=${AS_OF}`);
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-type']).toBe('text/html; charset=utf-8');
    expect(response?.headers()['content-security-policy']).toContain("default-src 'none'");

    const text = (selector: string) => page.locator(selector).innerText();
    expect(await text('[data-figure="tenant"]')).toBe(`Org ${tenant.slug}`);
    expect(await text('[data-figure="as-of"]')).toBe(`as of ${AS_OF}`);
    const total = (currency: string, bucket: string) => text(`section[data-currency="${currency}"] [data-figure="total-${bucket}"]`);
    // EUR: 100.00 current, 200.00 at 31-60 (250.50 less 50.50 paid), 1,000.00 at 90+.
    expect(await total('EUR', 'current')).toBe('100.00');
    expect(await total('EUR', '1-30')).toBe('0.00');
    expect(await total('EUR', '31-60')).toBe('200.00');
    expect(await total('EUR', '90+')).toBe('1,000.00');
    expect(await total('EUR', 'total')).toBe('1,300.00');
    // JPY has no minor unit: 5,000 at 1-30, 12,345 at 61-90.
    expect(await total('JPY', '1-30')).toBe('5,000');
    expect(await total('JPY', '61-90')).toBe('12,345');
    expect(await total('JPY', 'total')).toBe('17,345');
    expect(await page.locator('section[data-currency="EUR"] tr[data-customer]').count()).toBe(2);

    expect(requested).toEqual([`${origin}/api/invoices/ageing?asOf=${AS_OF}`]);
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, `invoices-ageing-${AS_OF}.png`), fullPage: true });
    await page.close();
  });
});
