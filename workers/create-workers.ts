import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { NativeConnection, Worker, type WorkerDeploymentOptions, type WorkerOptions } from '@temporalio/worker';
import type { Pool } from 'pg';
import { StripeMockSandboxProvider, StripeProvider, stripeClient, type PaymentProvider, type RiskPolicy } from '../activities/payments';
import { CreditScorer, defaultModelPath } from '../activities/credit';
import { piiKeys } from '../platform/pii';
import type { Config, WorkerConfig } from '../platform/config';
import { createDataConverter, createTemporalClient, taskQueue, temporalConnectionOptions, type TaskQueueName } from '../platform/temporal/client';
import { TASK_QUEUE_DEFINITIONS, type WorkerDeps } from './task-queues';

/** The payment provider from config: Stripe test mode with a key, else the stripe-mock sandbox. */
export function paymentProvider(cfg: WorkerConfig, db: Pool): PaymentProvider {
  return cfg.STRIPE_API_KEY
    ? new StripeProvider(stripeClient({ apiKey: cfg.STRIPE_API_KEY, mockUrl: cfg.STRIPE_MOCK_URL }))
    : new StripeMockSandboxProvider(stripeClient({ mockUrl: cfg.STRIPE_MOCK_URL }), db);
}

export function riskPolicy(cfg: WorkerConfig): RiskPolicy {
  return {
    maxAmountMinor: cfg.RISK_MAX_AMOUNT_MINOR,
    reviewAmountMinor: cfg.RISK_REVIEW_AMOUNT_MINOR,
    velocityPerHour: cfg.RISK_VELOCITY_PER_HOUR,
    deniedCustomers: new Set(cfg.RISK_DENY_CUSTOMERS ?? []),
  };
}

/**
 * What the given queues' activities need. Serving the credit queue loads the scorecard here, once per process:
 * a model that fails to load throws CreditModelLoadError, and the worker must not start. The payments queue gets a
 * Temporal client (connecting on first use) for the saga reconciler, the invoices queue one for credit-note refunds;
 * the caller closes it.
 */
export async function workerDeps(cfg: WorkerConfig, db: Pool, queues: readonly TaskQueueName[]): Promise<WorkerDeps> {
  const deps: WorkerDeps = { db, provider: paymentProvider(cfg, db), risk: riskPolicy(cfg) };
  if (queues.includes('credit')) {
    deps.scorer = await CreditScorer.load(cfg.CREDIT_MODEL_PATH ?? defaultModelPath());
    deps.pii = piiKeys(cfg);
  }
  // The invoices queue starts a credit note's RefundWorkflow on the payments queue.
  if (queues.includes('payments') || queues.includes('invoices')) deps.temporal = createTemporalClient(cfg);
  deps.paymentsTaskQueue = taskQueue(cfg, 'payments');
  return deps;
}

export async function connectWorker(cfg: WorkerConfig): Promise<NativeConnection> {
  return NativeConnection.connect(temporalConnectionOptions(cfg));
}

/**
 * The build a worker stamps on the workflow tasks it completes: WORKER_BUILD_ID, else the package version and the
 * commit of a git checkout (`0.1.0+1d5b836a1b2c`), else `<version>+unknown` (an image built without a build id).
 */
export function workerBuildId(cfg: Pick<Config, 'WORKER_BUILD_ID'>): string {
  if (cfg.WORKER_BUILD_ID) return cfg.WORKER_BUILD_ID;
  let root = path.resolve(__dirname, '..'); // workers/.. in a checkout; dist/workers/.. has no package.json in the image
  if (!existsSync(path.join(root, 'package.json'))) root = path.dirname(root);
  const version = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;
  try {
    return `${version}+${execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim()}`;
  } catch {
    return `${version}+unknown`;
  }
}

/**
 * Each task queue is a Worker Deployment of its own (`finflow-<queue>`, as production runs one Deployment per
 * queue), this process's build one version of it. Always stamped on history; with WORKER_VERSIONING the server also
 * routes each workflow task to the deployment's current version, and running workflows move to a new current version
 * on their next task (AUTO_UPGRADE: changes ship behind patched(), proven by the replay tests). README: Shipping a
 * workflow change.
 */
export function workerDeployment(cfg: Pick<Config, 'WORKER_BUILD_ID' | 'WORKER_VERSIONING' | 'TEMPORAL_TASK_QUEUE_PREFIX'>, name: TaskQueueName): WorkerDeploymentOptions {
  const version = { deploymentName: `finflow-${taskQueue(cfg, name)}`.replaceAll('.', '-'), buildId: workerBuildId(cfg) };
  return cfg.WORKER_VERSIONING ? { version, useWorkerVersioning: true, defaultVersioningBehavior: 'AUTO_UPGRADE' } : { version, useWorkerVersioning: false };
}

/** One Worker per task queue, sharing a connection. `overrides` lets tests pass a prebuilt workflow bundle. */
export async function createWorkers(
  cfg: WorkerConfig,
  connection: NativeConnection,
  deps: WorkerDeps,
  queues: readonly TaskQueueName[],
  overrides: Partial<Record<TaskQueueName, Partial<WorkerOptions>>> = {},
): Promise<Worker[]> {
  return Promise.all(
    queues.map((name) => {
      const def = TASK_QUEUE_DEFINITIONS[name];
      if (!def) throw new Error(`no worker definition for task queue ${name}`);
      return Worker.create({
        connection,
        namespace: cfg.TEMPORAL_NAMESPACE,
        taskQueue: taskQueue(cfg, name),
        workflowsPath: def.workflowsPath,
        activities: def.activities(deps),
        dataConverter: createDataConverter(cfg),
        workerDeploymentOptions: workerDeployment(cfg, name),
        ...overrides[name],
      });
    }),
  );
}
