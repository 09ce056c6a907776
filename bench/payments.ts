/**
 * npm run bench:payments — payment sagas per second through the full stack (HTTP -> API -> PaymentSaga with
 * its real activities -> stripe-mock sandbox -> ledger -> outbox), next to a no-op workflow of the same shape
 * (the same six activities, doing nothing) on the same Temporal server in the same run, and their ratio.
 * Uses a private database and task queues, like the tests. BENCH_PAYMENTS=<n> sets the count (default 100);
 * BENCH_DEADLINE_SECONDS=<s> (default 600) bounds each phase: a stuck phase, or a request the API refuses
 * (429, 500...), stops the run with an error saying so instead of hanging. Succeeded and failed payments are
 * counted apart; the rate counts succeeded sagas only, and any failure makes the run exit non-zero.
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
const DEADLINE_MS = Number(process.env.BENCH_DEADLINE_SECONDS ?? 600) * 1000;
const REQUEST_TIMEOUT_MS = 60_000;

class BenchError extends Error {}

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

  try {
    /** One API call; an answer other than `expect` stops the run, naming the call, the status and the problem. */
    const http = async (expect: number[], method: string, url: string, body?: unknown, headers: Record<string, string> = {}) => {
      const res = await fetch(`http://127.0.0.1:${port}${url}`, {
        method,
        headers: { 'content-type': 'application/json', ...headers },
        body: body ? JSON.stringify(body) : undefined,
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      const text = await res.text();
      if (!expect.includes(res.status)) throw new BenchError(`${method} ${url} answered ${res.status} (expected ${expect.join(' or ')}): ${text.slice(0, 300)}`);
      return JSON.parse(text) as Record<string, unknown>;
    };
    const slug = `bench-${randomUUID().slice(0, 8)}`;
    const reg = await http([201], 'POST', '/api/auth/register', { organisation: { name: 'Bench', slug }, admin: { email: `a@${slug}.test`, password: 'correct horse battery staple', displayName: 'B' } });
    const token = (reg.tokens as { accessToken: string }).accessToken;
    const tenantId = reg.tenantId as string;
    const key = (await http([201], 'POST', '/api/api-keys', { name: 'bench', role: 'client' }, { authorization: `Bearer ${token}` })).key as string;
    const createPayment = async (amountMinor: number, customerId: string) =>
      (await http([201, 202], 'POST', '/api/payments', { amountMinor, currency: 'EUR', customerId, paymentMethod: 'pm_card_visa' }, { authorization: `Bearer ${key}`, 'idempotency-key': randomUUID() })).id as string;
    const runNoop = () =>
      deps.temporal.workflow.execute(NoopSaga, { taskQueue: noopQueue, workflowId: `bench-noop-${randomUUID()}`, args: [ACTIVITIES_PER_SAGA], workflowExecutionTimeout: DEADLINE_MS });
    const finalCounts = async (ids: string[]) => {
      const { rows } = await withTenant(db, tenantId, (tx) =>
        tx.query<{ status: string; n: number }>('SELECT status, count(*)::int AS n FROM payments WHERE id = ANY($1::uuid[]) GROUP BY status', [ids]),
      );
      const of = (s: string) => rows.find((r) => r.status === s)?.n ?? 0;
      return { succeeded: of('succeeded'), failed: of('failed'), byStatus: Object.fromEntries(rows.map((r) => [r.status, r.n])) };
    };
    /** Polls until every payment is final, or stops the run at the deadline saying where they stand. */
    const untilFinal = async (ids: string[], phase: string) => {
      const deadline = Date.now() + DEADLINE_MS;
      for (;;) {
        const counts = await finalCounts(ids);
        if (counts.succeeded + counts.failed === ids.length) return counts;
        if (Date.now() > deadline) throw new BenchError(`${phase}: ${ids.length} payments not all final after ${DEADLINE_MS / 1000} s: ${JSON.stringify(counts.byStatus)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };

    // Warm-up: bundles loaded, connections open, caches warm.
    const warm: string[] = [];
    await pool(10, 5, async (i) => void warm.push(await createPayment(100 + i, 'cus_warm')));
    await untilFinal(warm, 'warm-up');
    await pool(10, 5, runNoop);

    // Baseline: the no-op saga on the same server.
    let t0 = performance.now();
    await pool(N, CONCURRENCY, runNoop);
    const noopSeconds = (performance.now() - t0) / 1000;

    // Full stack: HTTP in, until every payment is final in Postgres.
    t0 = performance.now();
    const ids: string[] = [];
    await pool(N, CONCURRENCY, async (i) => void ids.push(await createPayment(1000 + i, `cus_${i % 50}`)));
    const { succeeded, failed } = await untilFinal(ids, 'full stack');
    const sagaSeconds = (performance.now() - t0) / 1000;

    const result = {
      payments: N,
      succeeded,
      failed,
      concurrency: CONCURRENCY,
      activitiesPerSaga: ACTIVITIES_PER_SAGA,
      noopWorkflowsPerSecond: +(N / noopSeconds).toFixed(2),
      // Succeeded sagas only: a payment that failed early did not do a payment's work.
      paymentSagasPerSecond: +(succeeded / sagaSeconds).toFixed(2),
      ratio: +((succeeded / sagaSeconds) / (N / noopSeconds)).toFixed(3),
    };
    console.log('\nbench:payments (same Temporal server, same run)');
    console.log(`  no-op workflow, ${ACTIVITIES_PER_SAGA} activities : ${result.noopWorkflowsPerSecond} /s`);
    console.log(`  PaymentSaga through the full stack : ${result.paymentSagasPerSecond} /s (${succeeded} succeeded, ${failed} failed of ${N})`);
    console.log(`  ratio (saga / no-op)               : ${result.ratio}`);
    fs.mkdirSync(path.join(__dirname, '..', '.stack'), { recursive: true });
    fs.writeFileSync(path.join(__dirname, '..', '.stack', 'bench-payments.json'), JSON.stringify(result, null, 2));
    if (failed > 0) {
      console.error(`bench:payments: ${failed} of ${N} payments failed; the rate above counts only the ${succeeded} that succeeded`);
      process.exitCode = 1;
    }
  } finally {
    // Also after an error, so a stopped run leaves no database or running workflow behind.
    paymentsWorker!.shutdown();
    noopWorker.shutdown();
    await runs;
    await connection.close();
    server.close();
    await deps.close();
    await db.end();
    await globalTeardown();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof BenchError ? `bench:payments stopped: ${err.message}` : err);
  process.exit(1);
});
