/**
 * A refund whose date falls in a closed accounting period. The provider has paid the money back, so the books must
 * say so: the entry goes into the first open period (dated at its start, its own date kept in the description)
 * instead of the refund staying pending, its ledger step retried until someone reopens the month.
 *
 * Over HTTP on the real stack (this file's own task queue and worker), and at the activity for retries: a retry
 * after the commit posts the very same entry, even when the period it moved into has closed meanwhile.
 */
import { randomUUID } from 'node:crypto';
import type { Worker } from '@temporalio/worker';
import type { Response } from 'supertest';
import { createRefundActivities } from '../../activities/payments';
import { createPool, withTenant, type Pool } from '../../platform/db/pool';
import { accountBalance, ensurePeriods, setPeriodStatus } from '../../platform/ledger';
import { connectWorker, createWorkers, paymentProvider, riskPolicy } from '../../workers/create-workers';
import { refundWorkflowId, type RefundResult } from '../../workflows/payments/refund.contract';
import { apiKeyWithRole, bearer, registerTenant, settledResource, startApi, type RegisteredTenant, type TestApi } from '../support/api';
import { createTenant, testConfig } from '../support/env';

const base = testConfig();
const env = { TEMPORAL_TASK_QUEUE_PREFIX: `${base.TEMPORAL_TASK_QUEUE_PREFIX}refund-closed-period-`, PAYMENT_SYNC_WAIT_MS: '30000' };
const cfg = testConfig(env);
/** Long enough for a refund on a loaded machine; today's code never finishes it (the ledger step retries forever). */
const REFUND_DEADLINE_MS = 120_000;
let api: TestApi;
let db: Pool;
let worker: Worker;
let running: Promise<void>;
let closeConnection: () => Promise<void>;
let tenant: RegisteredTenant;
let key: string;

beforeAll(async () => {
  api = startApi(env);
  db = createPool(cfg.DATABASE_URL, 4);
  const connection = await connectWorker(cfg);
  closeConnection = () => connection.close();
  worker = (await createWorkers(cfg, connection, { db, provider: paymentProvider(cfg, db), risk: riskPolicy(cfg) }, ['payments']))[0]!;
  running = worker.run();
  tenant = await registerTenant(api);
  key = (await apiKeyWithRole(api, tenant, 'finance')).key;
});

afterAll(async () => {
  worker?.shutdown();
  await running;
  await closeConnection?.();
  await db?.end();
  await api?.close();
});

/** Closes the period holding today and every open one before it (periods close in order). */
async function closeThroughToday(tenantId: string): Promise<string[]> {
  return withTenant(db, tenantId, async (tx) => {
    const { rows } = await tx.query<{ start: string }>(
      "SELECT to_char(period_start, 'YYYY-MM-DD') AS start FROM accounting_periods WHERE period_start <= (now() AT TIME ZONE 'UTC')::date AND status <> 'closed' ORDER BY period_start",
    );
    for (const { start } of rows) await setPeriodStatus(tx, { periodStart: start, action: 'close', actor: 'refund-closed-period test' });
    return rows.map((r) => r.start);
  });
}
/** The day after the last closed period: the first open one, where a moved entry must land. */
const firstOpenPeriod = (tenantId: string) =>
  withTenant(db, tenantId, async (tx) =>
    (await tx.query<{ start: string }>("SELECT to_char(max(period_end) + 1, 'YYYY-MM-DD') AS start FROM accounting_periods WHERE status = 'closed'")).rows[0]!.start,
  );
const entriesOf = (tenantId: string, refundId: string) =>
  withTenant(db, tenantId, async (tx) =>
    (
      await tx.query<{ id: string; accounting_date: string; description: string }>(
        "SELECT id, to_char(accounting_date, 'YYYY-MM-DD') AS accounting_date, description FROM journal_entries WHERE source_type = 'refund' AND source_id = $1",
        [refundId],
      )
    ).rows,
  );

describe('a refund dated in a closed period', () => {
  it('succeeds over HTTP, its entry in the first open period, the provider paying once', async () => {
    const created = await api
      .http()
      .post('/api/payments')
      .set(bearer(key))
      .set('Idempotency-Key', randomUUID())
      .send({ amountMinor: 3000, currency: 'EUR', customerId: 'cus_closed', paymentMethod: 'pm_card_visa' });
    const paid = await settledResource(api, key, created, (p) => ['succeeded', 'failed'].includes(p.status), REFUND_DEADLINE_MS);
    expect(paid.status).toBe('succeeded');
    const closed = await closeThroughToday(tenant.tenantId);
    expect(closed.length).toBeGreaterThanOrEqual(1);
    const refundsBefore = await withTenant(db, tenant.tenantId, (tx) => accountBalance(tx, 'refunds', 'EUR'));

    const res: Response = await api.http().post(`/api/payments/${paid.id}/refunds`).set(bearer(key)).set('Idempotency-Key', randomUUID()).send({ amountMinor: 800 });
    expect([201, 202]).toContain(res.status);
    const result = (await Promise.race([
      api.deps.temporal.workflow.getHandle(refundWorkflowId(tenant.tenantId, res.body.refundId)).result(),
      new Promise((_, reject) => setTimeout(() => reject(new Error(`the refund did not finish within ${REFUND_DEADLINE_MS} ms`)), REFUND_DEADLINE_MS).unref()),
    ])) as RefundResult;
    expect(result).toMatchObject({ status: 'succeeded' });

    const [entry, ...others] = await entriesOf(tenant.tenantId, res.body.refundId);
    expect(others).toEqual([]);
    expect(entry!.accounting_date).toBe(await firstOpenPeriod(tenant.tenantId));
    expect(entry!.description).toMatch(/^Card payment refunded \(dated \d{4}-\d{2}-\d{2}: that period is closed\)$/);
    const movedFrom = /dated (\S+):/.exec(entry!.description)![1]!;
    expect(movedFrom >= closed[closed.length - 1]!).toBe(true); // its own date: in the last month closed
    const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM provider_sandbox.refunds WHERE payment_id = $1', [paid.id]);
    expect(rows[0]!.n).toBe(1);
    const after = (await api.http().get(`/api/payments/${paid.id}`).set(bearer(key)).expect(200)).body;
    expect(after).toMatchObject({ status: 'succeeded', amountRefundedMinor: 800 });
    expect(await withTenant(db, tenant.tenantId, (tx) => accountBalance(tx, 'refunds', 'EUR'))).toBe(refundsBefore + 800);
  }, 3 * REFUND_DEADLINE_MS);

  it('posts the same entry on a retry after the commit, even once the period it moved into has closed too', async () => {
    const tenantId = await createTenant(db);
    await withTenant(db, tenantId, async (tx) => {
      await tx.query('SELECT create_default_chart($1)', [tenantId]);
      await ensurePeriods(tx, new Date().toISOString().slice(0, 10), 3);
    });
    await closeThroughToday(tenantId);
    const openedInto = await firstOpenPeriod(tenantId);
    const activities = createRefundActivities({ db, provider: paymentProvider(cfg, db) });
    const refundId = randomUUID();
    const input = {
      tenantId,
      paymentId: randomUUID(),
      refundId,
      amountMinor: 650,
      idempotencyKey: 'refund-closed-retry',
      workflowId: `refund-${refundId}`,
      currency: 'EUR' as const,
      providerRefundRef: 're_closed',
      effectiveAt: new Date().toISOString(),
    };
    const entryId = await activities.postRefundEntry(input);
    const [posted] = await entriesOf(tenantId, refundId);
    expect(posted!.accounting_date).toBe(openedInto);

    // The month it moved into closes before the retry comes: the retry is still the entry already posted.
    await withTenant(db, tenantId, (tx) => setPeriodStatus(tx, { periodStart: openedInto, action: 'close', actor: 'refund-closed-period test' }));
    await expect(activities.postRefundEntry(input)).resolves.toBe(entryId);
    expect(await entriesOf(tenantId, refundId)).toEqual([posted]);
    expect(await withTenant(db, tenantId, (tx) => accountBalance(tx, 'refunds', 'EUR'))).toBe(650);
  });
});
