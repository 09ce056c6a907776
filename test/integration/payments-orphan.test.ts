/**
 * No orphan: the API commits a payment, then starts its saga. Here the real API process (api/server.ts) is SIGKILLed
 * right between the two (failpoint `after-payment-insert`) and restarted, as an orchestrator would: the payment is
 * pending with no saga. It is repaired by the same request repeated (the client retries after the dropped
 * connection), or, if nobody asks again, by the saga reconciler's Temporal Schedule. Either way the payment succeeds
 * exactly once: one charge at the provider, one ledger entry.
 *
 * The file owns its task queues (its worker is the only one), and so its reconciler schedule; the API processes
 * share this run's database.
 */
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { createPool, withTenant, type Pool } from '../../platform/db/pool';
import { accountBalance } from '../../platform/ledger';
import { connectWorker, createWorkers, paymentProvider, riskPolicy } from '../../workers/create-workers';
import { ensurePaymentSagaReconcilerSchedule, paymentSagaReconcilerScheduleId } from '../../workers/payment-saga-reconciler';
import { paymentWorkflowId } from '../../workflows/payments/payment.contract';
import type { SagaReconcileResult } from '../../workflows/payments/saga-reconciler.contract';
import { apiKeyWithRole, registerTenant, startApi, type RegisteredTenant, type TestApi } from '../support/api';
import { testConfig } from '../support/env';
import { eventually } from '../support/eventually';
import { supervise, type Supervised } from '../support/processes';

const base = testConfig();
const env = {
  TEMPORAL_TASK_QUEUE_PREFIX: `${base.TEMPORAL_TASK_QUEUE_PREFIX}orphans-`,
  PAYMENT_SYNC_WAIT_MS: '0',
  PAYMENT_RECONCILE_GRACE_SECONDS: '1',
  LOG_LEVEL: 'error',
};
const cfg = testConfig(env);
/** A payment's saga on a loaded machine, and an API process starting (tsx compiles it first). */
const DEADLINE_MS = 180_000;
let setupApi: TestApi;
let db: Pool;
let worker: Worker;
let running: Promise<void>;
let closeConnection: () => Promise<void>;
let tenant: RegisteredTenant;
let clientKey: string;
let apiProcess: Supervised;
let apiUrl: string;

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

const isUp = () =>
  fetch(`${apiUrl}/health`).then(
    (r) => r.ok,
    () => false,
  );

beforeAll(async () => {
  setupApi = startApi(env); // registers the tenant; payments go to the API process
  db = createPool(cfg.DATABASE_URL, 4);
  const connection = await connectWorker(cfg);
  closeConnection = () => connection.close();
  worker = (await createWorkers(cfg, connection, { db, provider: paymentProvider(cfg, db), risk: riskPolicy(cfg), temporal: setupApi.deps.temporal }, ['payments']))[0]!;
  running = worker.run();
  tenant = await registerTenant(setupApi);
  clientKey = (await apiKeyWithRole(setupApi, tenant, 'client')).key;
  const port = await freePort();
  apiUrl = `http://127.0.0.1:${port}`;
  // Every life of the API process dies on its first new payment, right after the commit.
  apiProcess = supervise('api/server.ts', { ...env, API_HOST: '127.0.0.1', API_PORT: String(port), FINFLOW_FAILPOINTS: 'after-payment-insert=1' });
  await eventually('the API process to answer', isUp, DEADLINE_MS);
}, 2 * DEADLINE_MS);

afterAll(async () => {
  await apiProcess?.stop();
  await setupApi?.deps.temporal.schedule.getHandle(paymentSagaReconcilerScheduleId(cfg)).delete().catch(() => undefined);
  worker?.shutdown();
  await running;
  await closeConnection?.();
  await db?.end();
  await setupApi?.close();
});

const body = () => ({ amountMinor: 4200, currency: 'EUR', customerId: `cus_${randomUUID().slice(0, 8)}`, paymentMethod: 'pm_card_visa', captureMethod: 'automatic' });
const post = (key: string, b: object) =>
  fetch(`${apiUrl}/api/payments`, { method: 'POST', headers: { authorization: `Bearer ${clientKey}`, 'idempotency-key': key, 'content-type': 'application/json' }, body: JSON.stringify(b) });

const paymentByKey = (key: string) =>
  withTenant(db, tenant.tenantId, async (tx) => (await tx.query<{ id: string; status: string }>('SELECT id, status FROM payments WHERE idempotency_key = $1', [key])).rows[0]);
const sagaUnknown = (paymentId: string) =>
  setupApi.deps.temporal.workflow
    .getHandle(paymentWorkflowId(tenant.tenantId, paymentId))
    .describe()
    .then(
      () => false,
      (err: unknown) => err instanceof WorkflowNotFoundError,
    );

/** POSTs a new payment to the API process and sees that process die between the commit and the saga's start. */
async function orphanPayment(key: string, b: object): Promise<string> {
  const deaths = apiProcess.deaths.length;
  // The connection drops: the process died mid-request.
  expect(await post(key, b).then((r) => `answered ${r.status}`, () => 'dropped')).toBe('dropped');
  await eventually('the API process to die', () => apiProcess.deaths.length > deaths, DEADLINE_MS);
  const kill = apiProcess.failpointKills.at(-1)!;
  expect(apiProcess.deaths.at(-1)).toBe('SIGKILL');
  expect(kill.failpoint).toBe('after-payment-insert');
  const row = await paymentByKey(key);
  expect(row).toEqual({ id: kill.detail, status: 'pending' });
  expect(await sagaUnknown(row!.id)).toBe(true); // committed, and no saga
  return row!.id;
}

/** What happened to the money, from the provider's records and the books. */
async function outcome(paymentId: string) {
  const charges = await db.query<{ n: number; captured: string | null }>(
    'SELECT count(*)::int AS n, sum(amount_captured_minor)::text AS captured FROM provider_sandbox.intents WHERE payment_id = $1',
    [paymentId],
  );
  const entries = await withTenant(db, tenant.tenantId, async (tx) => (await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM journal_entries WHERE source_id = $1', [paymentId])).rows[0]!.n);
  return { intents: charges.rows[0]!.n, capturedMinor: Number(charges.rows[0]!.captured ?? 0), entries };
}
const succeeded = (key: string) => eventually('the payment to succeed', async () => (await paymentByKey(key))?.status === 'succeeded', DEADLINE_MS);

describe('the API killed between the payment insert and the saga start', () => {
  it('is repaired by the same request repeated after the restart: the saga starts, the payment succeeds once', async () => {
    const key = randomUUID();
    const b = body();
    const paymentId = await orphanPayment(key, b);

    await eventually('the API process to be back', isUp, DEADLINE_MS);
    const again = await post(key, b);
    expect([201, 202]).toContain(again.status);
    expect(((await again.json()) as { id: string }).id).toBe(paymentId);
    await succeeded(key);
    expect(await outcome(paymentId)).toEqual({ intents: 1, capturedMinor: 4200, entries: 1 });
  }, 4 * DEADLINE_MS);

  it('is repaired by the saga reconciler when nobody asks again: one charge, one ledger entry', async () => {
    const key = randomUUID();
    const paymentId = await orphanPayment(key, body());
    const clearing = await withTenant(db, tenant.tenantId, (tx) => accountBalance(tx, 'provider_clearing', 'EUR'));

    // The payments worker's schedule, as it creates it at start-up; triggered rather than waited for.
    const schedule = await ensurePaymentSagaReconcilerSchedule(setupApi.deps.temporal, cfg);
    await eventually(
      'the payment to be past the reconciler grace period',
      async () =>
        (await withTenant(db, tenant.tenantId, (tx) => tx.query<{ ok: boolean }>("SELECT created_at < now() - interval '2 seconds' AS ok FROM payments WHERE id = $1", [paymentId]))).rows[0]!.ok,
      30_000,
    );
    await schedule.trigger();
    await succeeded(key);
    expect(await outcome(paymentId)).toEqual({ intents: 1, capturedMinor: 4200, entries: 1 });
    expect(await withTenant(db, tenant.tenantId, (tx) => accountBalance(tx, 'provider_clearing', 'EUR'))).toBe(clearing + 4200);
    // It was the reconciler that started the saga: one of its runs says so.
    const runs = (await schedule.describe()).info.recentActions.map((a) => setupApi.deps.temporal.workflow.getHandle(a.action.workflow.workflowId, a.action.workflow.firstExecutionRunId));
    const results = (await Promise.all(runs.map((r) => r.result()))) as SagaReconcileResult[];
    expect(results.flatMap((r) => r.started)).toEqual([paymentId]);
  }, 4 * DEADLINE_MS);
});
