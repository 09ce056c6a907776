/**
 * Invoice numbers come from the database at issue: one counter row per tenant and series, locked by the issuing
 * transaction. Fifty issues racing on one tenant get 1..50 with no gap and no duplicate; an issue that rolls back
 * gives its number back; another tenant counts on its own.
 */
import { randomUUID } from 'node:crypto';
import { createPool, withTenant, type Pool } from '../../../platform/db/pool';
import { accountBalance } from '../../../platform/ledger';
import { createDraft, issueInvoice } from '../../../modules/invoices';
import { createTenant, testConfig } from '../../support/env';

const cfg = testConfig();
let db: Pool;

beforeAll(async () => {
  db = createPool(cfg.DATABASE_URL, 20);
});
afterAll(async () => {
  await db?.end();
});

async function tenantWithChart(): Promise<string> {
  const tenantId = await createTenant(db);
  await withTenant(db, tenantId, (tx) => tx.query('SELECT create_default_chart($1)', [tenantId]));
  return tenantId;
}

async function draft(tenantId: string, series = 'INV'): Promise<string> {
  const id = randomUUID();
  await withTenant(db, tenantId, (tx) =>
    createDraft(tx, { id, tenantId, idempotencyKey: id, series, createdBy: 'test', customerId: 'cus_1', currency: 'EUR', lines: [{ description: 'Work', quantity: 1, unitPriceMinor: 1000, taxRateBp: 1900 }] }),
  );
  return id;
}

const issue = (tenantId: string, invoiceId: string) =>
  withTenant(db, tenantId, (tx) => issueInvoice(tx, { invoiceId, issueDate: '2026-03-02', dueDate: '2026-04-01', effectiveAt: '2026-03-02T10:00:00Z' }));
const numbers = (tenantId: string, series = 'INV') =>
  withTenant(db, tenantId, async (tx) => (await tx.query<{ number: number }>('SELECT number FROM invoices WHERE series = $1 AND number IS NOT NULL ORDER BY number', [series])).rows.map((r) => r.number));

describe('invoice numbering', () => {
  it('gives 50 concurrent issues the numbers 1..50, without gaps or duplicates, and books each once', async () => {
    const tenantId = await tenantWithChart();
    const ids = await Promise.all(Array.from({ length: 50 }, () => draft(tenantId)));
    const issued = await Promise.all(ids.map((id) => issue(tenantId, id)));
    expect(await numbers(tenantId)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(new Set(issued.map((i) => i.number)).size).toBe(50);
    // A retried issue keeps its number and posts nothing more.
    const again = await issue(tenantId, ids[0]!);
    expect(again.number).toBe(issued[0]!.number);
    expect(await withTenant(db, tenantId, (tx) => accountBalance(tx, 'accounts_receivable', 'EUR'))).toBe(50 * 1190);
  });

  it('gives a rolled-back issue’s number to the next issue, and counts each tenant and series apart', async () => {
    const tenantId = await tenantWithChart();
    const other = await tenantWithChart();
    const [a, b, c] = [await draft(tenantId), await draft(tenantId), await draft(tenantId, 'CN')];
    await expect(
      withTenant(db, tenantId, async (tx) => {
        await issueInvoice(tx, { invoiceId: a, issueDate: '2026-03-02', dueDate: '2026-04-01', effectiveAt: '2026-03-02T10:00:00Z' });
        throw new Error('the issuing step failed after its number');
      }),
    ).rejects.toThrow('failed after its number');
    await issue(tenantId, b);
    await issue(tenantId, a);
    await issue(tenantId, c);
    await issue(other, await draft(other));
    expect(await numbers(tenantId)).toEqual([1, 2]);
    expect(await numbers(tenantId, 'CN')).toEqual([1]);
    expect(await numbers(other)).toEqual([1]);
  });

  it('never lets the application role write a number itself', async () => {
    const tenantId = await tenantWithChart();
    const id = await draft(tenantId);
    await expect(withTenant(db, tenantId, (tx) => tx.query('UPDATE invoices SET number = 7 WHERE id = $1', [id]))).rejects.toThrow(/permission denied/);
  });
});
