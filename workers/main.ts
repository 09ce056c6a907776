/** Worker process: serves WORKER_TASK_QUEUES until SIGINT/SIGTERM, then drains and exits. */
import { Runtime } from '@temporalio/worker';
import { loadConfigOrExit } from '../platform/config';
import { createPool } from '../platform/db/pool';
import { startHealthServer } from '../platform/health/server';
import { createLogger } from '../platform/logger';
import { temporalLogger } from '../platform/temporal/logger';
import { connectWorker, createWorkers, paymentProvider, riskPolicy } from './create-workers';

async function main() {
  const cfg = loadConfigOrExit();
  const log = createLogger({ level: cfg.LOG_LEVEL, service: 'worker' });
  Runtime.install({ logger: temporalLogger(log) });
  const db = createPool(cfg.DATABASE_URL, cfg.DATABASE_POOL_MAX);
  const connection = await connectWorker(cfg);
  const workers = await createWorkers(cfg, connection, { db, provider: paymentProvider(cfg, db), risk: riskPolicy(cfg) }, cfg.WORKER_TASK_QUEUES);
  log.info({ taskQueues: workers.map((w) => w.options.taskQueue), namespace: cfg.TEMPORAL_NAMESPACE }, 'workers polling');
  const health = cfg.HEALTH_PORT ? startHealthServer(cfg.HEALTH_PORT, () => workers.every((w) => w.getState() === 'RUNNING')) : undefined;
  await Promise.all(workers.map((w) => w.run()));
  health?.close();
  await connection.close();
  await db.end();
  log.info('workers stopped');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
