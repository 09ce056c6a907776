/**
 * npm run bench:payments — payment sagas per second through the full stack (HTTP -> API -> PaymentSaga with
 * its real activities -> stripe-mock sandbox -> ledger -> outbox), next to a no-op workflow of the same shape
 * (the same six activities, doing nothing) on the same Temporal server in the same run, and their ratio.
 * Uses a private database and task queues, like the tests. BENCH_PAYMENTS=<n> sets the count (default 100).
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { createApp } from '../api/app';
import { createApiDeps } from '../api/deps';
import { loadConfig } from '../platform/config';
import { createPool, withTenant } from '../platform/db/pool';
import { createLogger } from '../platform/logger';
import { createDataConverter } from '../platform/temporal/client';
import globalSetup from '../test/support/global-setup';
import globalTeardown from '../test/support/global-teardown';
import { connectWorker, createWorkers, workerDeps } from '../workers/create-workers';
import { NoopSaga } from './workflows/noop-saga';

const N = Number(process.env.BENCH_PAYMENTS ?? 100);
const CONCURRENCY = 20;
const ACTIVITIES_PER_SAGA = 6; // screen, authorise, record authorisation, capture, post entry, complete

async function pool<T>(count: number, concurrency: number, run: (i: number) => Promise<T>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await run(next++);
    }),
  );
}

async function main() {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  await globalSetup();
  const cfg = loadConfig({ ...process.env, PAYMENT_SYNC_WAIT_MS: '0', RATE_LIMIT_TENANT_PER_MINUTE: '1000000', RISK_VELOCITY_PER_HOUR: '100000' });
  const log = createLogger({ level: 'silent', service: 'bench' });
  const deps = createApiDeps(cfg, log);
  const server = createApp(deps).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const port = (server.address() as { port: number }).port;
  const db = createPool(cfg.DATABASE_URL, 10);
  const connection = await connectWorker(cfg);
  const [paymentsWorker] = await createWorkers(cfg, connection, await workerDeps(cfg, db, ['payments']), ['payments']);
  const noopQueue = `${cfg.TEMPORAL_TASK_QUEUE_PREFIX}bench-noop`;
  const noopWorker = await Worker.create({
    connection,
    namespace: cfg.TEMPORAL_NAMESPACE,
    taskQueue: noopQueue,
    workflowsPath: require.resolve('./workflows/noop-saga'),
    activities: { step: async (n: number) => n },
    dataConverter: createDataConverter(cfg),
  });
  const runs = Promise.all([paymentsWorker!.run(), noopWorker.run()]);

  const http = async (method: string, url: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`http://127.0.0.1:${port}${url}`, { method, headers: { 'content-type': 'application/json', ...headers }, body: body ? JSON.stringify(body) : undefined });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const slug = `bench-${randomUUID().slice(0, 8)}`;
  const reg = await http('POST', '/api/auth/register', { organisation: { name: 'Bench', slug }, admin: { email: `a@${slug}.test`, password: 'correct horse battery staple', displayName: 'B' } });
  const token = (reg.body.tokens as { accessToken: string }).accessToken;
  const tenantId = reg.body.tenantId as string;
  const key = (await http('POST', '/api/api-keys', { name: 'bench', role: 'client' }, { authorization: `Bearer ${token}` })).body.key as string;

  // Warm-up: bundles loaded, connections open, caches warm.
  await pool(10, 5, (i) => http('POST', '/api/payments', { amountMinor: 100 + i, currency: 'EUR', customerId: 'cus_warm', paymentMethod: 'pm_card_visa' }, { authorization: `Bearer ${key}`, 'idempotency-key': randomUUID() }));
  await pool(10, 5, () => deps.temporal.workflow.execute(NoopSaga, { taskQueue: noopQueue, workflowId: `bench-noop-${randomUUID()}`, args: [ACTIVITIES_PER_SAGA] }));

  // Baseline: the no-op saga on the same server.
  let t0 = performance.now();
  await pool(N, CONCURRENCY, () => deps.temporal.workflow.execute(NoopSaga, { taskQueue: noopQueue, workflowId: `bench-noop-${randomUUID()}`, args: [ACTIVITIES_PER_SAGA] }));
  const noopSeconds = (performance.now() - t0) / 1000;

  // Full stack: HTTP in, until every payment is final in Postgres.
  t0 = performance.now();
  const ids: string[] = [];
  await pool(N, CONCURRENCY, async (i) => {
    const res = await http('POST', '/api/payments', { amountMinor: 1000 + i, currency: 'EUR', customerId: `cus_${i % 50}`, paymentMethod: 'pm_card_visa' }, { authorization: `Bearer ${key}`, 'idempotency-key': randomUUID() });
    ids.push(res.body.id as string);
  });
  for (;;) {
    const { rows } = await withTenant(db, tenantId, (tx) => tx.query<{ n: number }>("SELECT count(*)::int AS n FROM payments WHERE id = ANY($1::uuid[]) AND status IN ('succeeded', 'failed')", [ids]));
    if (rows[0]!.n === N) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const sagaSeconds = (performance.now() - t0) / 1000;

  const result = {
    payments: N,
    concurrency: CONCURRENCY,
    activitiesPerSaga: ACTIVITIES_PER_SAGA,
    noopWorkflowsPerSecond: +(N / noopSeconds).toFixed(2),
    paymentSagasPerSecond: +(N / sagaSeconds).toFixed(2),
    ratio: +((N / sagaSeconds) / (N / noopSeconds)).toFixed(3),
  };
  console.log('\nbench:payments (same Temporal server, same run)');
  console.log(`  no-op workflow, ${ACTIVITIES_PER_SAGA} activities : ${result.noopWorkflowsPerSecond} /s`);
  console.log(`  PaymentSaga through the full stack : ${result.paymentSagasPerSecond} /s`);
  console.log(`  ratio (saga / no-op)               : ${result.ratio}`);
  fs.mkdirSync(path.join(__dirname, '..', '.stack'), { recursive: true });
  fs.writeFileSync(path.join(__dirname, '..', '.stack', 'bench-payments.json'), JSON.stringify(result, null, 2));

  paymentsWorker!.shutdown();
  noopWorker.shutdown();
  await runs;
  await connection.close();
  server.close();
  await deps.close();
  await db.end();
  await globalTeardown();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
