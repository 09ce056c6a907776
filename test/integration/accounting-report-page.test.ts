/**
 * The balance sheet page as a person sees it: the worked example's tenant, opened in a real Chromium (Debian's,
 * driven by playwright-core) with a token of its finance user. The browser's own Accept header must get the page,
 * the totals on it must be the hand-calculated ones, and the page must load nothing from anywhere else. A
 * screenshot and a printed PDF are kept under .stack/artifacts/.
 */
import fs from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { chromiumPath } from '../../deploy/local/components/chromium';
import { createPool, type Pool } from '../../platform/db/pool';
import { startApi, type TestApi } from '../support/api';
import { bookWorkedExample, loadWorkedExample, type BookedExample } from '../support/accounting-worked-example';
import { testConfig } from '../support/env';

const ARTIFACTS = path.join(__dirname, '../../.stack/artifacts');
const example = loadWorkedExample();
const AS_OF = '2025-02-28';
const want = example.expected.balanceSheet[AS_OF];

let api: TestApi;
let app: Pool;
let owner: Pool;
let booked: BookedExample;
let server: Server;
let browser: BrowserContext;
let userDataDir: string;

beforeAll(async () => {
  const executablePath = chromiumPath();
  if (!executablePath) throw new Error('Chromium is not installed: run `npm run stack -- up chromium` (apt-get install chromium)');
  const cfg = testConfig();
  api = startApi();
  app = createPool(cfg.DATABASE_URL, 2);
  owner = createPool(cfg.DATABASE_MIGRATION_URL, 1);
  booked = await bookWorkedExample(api, app, owner, example);
  server = api.app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'finflow-chromium-'));
  browser = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    extraHTTPHeaders: { Authorization: `Bearer ${booked.tokens.finance}` },
    viewport: { width: 1100, height: 900 },
  });
}, 180_000);
afterAll(async () => {
  await browser?.close();
  server?.close();
  await app?.end();
  await owner?.end();
  await api?.close();
  if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
});

/** How the page should print an amount (written here, not borrowed from the renderer). */
const shown = (minor: number, decimals: number) =>
  new Intl.NumberFormat('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals }).format(minor / 10 ** decimals);

describe('the balance sheet page in Chromium', () => {
  it('shows the tenant, the date, the rates used and the hand-calculated totals, balanced, with nothing loaded from elsewhere', async () => {
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const page = await browser.newPage();
    const requested: string[] = [];
    page.on('request', (r) => requested.push(r.url()));
    const response = await page.goto(`${origin}/api/accounting/reports/balance-sheet?asOf=${AS_OF}`);
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-type']).toBe('text/html; charset=utf-8');
    expect(response?.headers()['content-security-policy']).toContain("default-src 'none'");

    const text = (selector: string) => page.locator(selector).innerText();
    expect(await text('[data-figure="tenant"]')).toBe(example.tenant.name);
    expect(await text('[data-figure="period"]')).toBe(`as of ${AS_OF}`);
    for (const [currency, decimals] of [['EUR', 2], ['JPY', 0]] as const) {
      const figure = (name: string) => text(`section[data-currency="${currency}"] [data-figure="${name}"]`);
      expect(await figure('total-assets')).toBe(shown(want[currency].assets, decimals));
      expect(await figure('total-liabilities')).toBe(shown(want[currency].liabilities, decimals));
      expect(await figure('current-earnings')).toBe(shown(want[currency].currentEarnings, decimals));
      expect(await figure('total-liabilities-and-equity')).toBe(shown(want[currency].liabilitiesAndEquity, decimals));
      expect(await figure('balanced')).toBe('balanced');
    }
    const consolidated = (name: string) => text(`section[data-consolidated="EUR"] [data-figure="${name}"]`);
    expect(await consolidated('total-assets')).toBe(shown(want.consolidated.assets, 2));
    expect(await consolidated('total-liabilities-and-equity')).toBe(shown(want.consolidated.liabilitiesAndEquity, 2));
    expect(await consolidated('rounding')).toBe(shown(want.consolidated.rounding, 2));
    expect(await consolidated('balanced')).toBe('balanced');
    const rate = example.expected.rates[AS_OF];
    expect(await consolidated('rates')).toContain(`1 ${rate.base} = ${rate.rate} ${rate.quote}\t${rate.rateDate}`);

    expect(requested).toEqual([`${origin}/api/accounting/reports/balance-sheet?asOf=${AS_OF}`]);
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, `balance-sheet-${AS_OF}.png`), fullPage: true });
    await page.emulateMedia({ media: 'print' });
    const pdf = await page.pdf({ path: path.join(ARTIFACTS, `balance-sheet-${AS_OF}.pdf`), format: 'A4', printBackground: false });
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    await page.close();
  });
});
