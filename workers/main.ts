/** Worker process: serves WORKER_TASK_QUEUES until SIGINT/SIGTERM, then drains and exits. */
import { Runtime } from '@temporalio/worker';
import { loadComponentConfigOrExit } from '../platform/config';
import { createPool } from '../platform/db/pool';
import { startHealthServer } from '../platform/health/server';
import { createLogger } from '../platform/logger';
import { temporalLogger } from '../platform/temporal/logger';
import { CreditModelLoadError } from '../activities/credit';
import { connectWorker, createWorkers, workerDeps } from './create-workers';
import { ensurePaymentSagaReconcilerSchedule, ScheduleUnreadableError } from './payment-saga-reconciler';

async function main() {
  const cfg = loadComponentConfigOrExit('worker');
  const log = createLogger({ level: cfg.LOG_LEVEL, service: 'worker' });
  Runtime.install({ logger: temporalLogger(log) });
  const db = createPool(cfg.DATABASE_URL, cfg.DATABASE_POOL_MAX);
  // Models load before the worker connects: a worker that cannot score never polls the credit queue.
  const deps = await workerDeps(cfg, db, cfg.WORKER_TASK_QUEUES);
  if (deps.scorer) log.info({ modelVersion: deps.scorer.modelVersion }, 'credit model loaded');
  const connection = await connectWorker(cfg);
  const workers = await createWorkers(cfg, connection, deps, cfg.WORKER_TASK_QUEUES);
  if (deps.temporal && cfg.WORKER_TASK_QUEUES.includes('payments')) {
    try {
      const schedule = await ensurePaymentSagaReconcilerSchedule(deps.temporal, cfg);
      log.info({ scheduleId: schedule.scheduleId, everySeconds: cfg.PAYMENT_RECONCILE_INTERVAL_SECONDS }, 'payment saga reconciler scheduled');
    } catch (err) {
      // Not this worker's to fix, and no reason to stop serving its task queues.
      if (!(err instanceof ScheduleUnreadableError)) throw err;
      log.error({ scheduleId: err.scheduleId }, err.message);
    }
  }
  log.info({ taskQueues: workers.map((w) => w.options.taskQueue), namespace: cfg.TEMPORAL_NAMESPACE }, 'workers polling');
  const health = cfg.HEALTH_PORT ? startHealthServer(cfg.HEALTH_PORT, () => workers.every((w) => w.getState() === 'RUNNING')) : undefined;
  await Promise.all(workers.map((w) => w.run()));
  health?.close();
  await connection.close();
  await deps.temporal?.connection.close();
  await deps.scorer?.close();
  await db.end();
  log.info('workers stopped');
}

main().catch((err: unknown) => {
  if (err instanceof CreditModelLoadError) console.error(`worker not started: ${err.message}`);
  else console.error(err);
  process.exit(1);
});
