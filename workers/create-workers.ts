import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import type { Pool } from 'pg';
import { StripeMockSandboxProvider, StripeProvider, stripeClient, type PaymentProvider, type RiskPolicy } from '../activities/payments';
import { CreditScorer, defaultModelPath } from '../activities/credit';
import type { Config } from '../platform/config';
import { createDataConverter, taskQueue, temporalConnectionOptions, type TaskQueueName } from '../platform/temporal/client';
import { TASK_QUEUE_DEFINITIONS, type WorkerDeps } from './task-queues';

/** The payment provider from config: Stripe test mode with a key, else the stripe-mock sandbox. */
export function paymentProvider(cfg: Config, db: Pool): PaymentProvider {
  return cfg.STRIPE_API_KEY
    ? new StripeProvider(stripeClient({ apiKey: cfg.STRIPE_API_KEY, mockUrl: cfg.STRIPE_MOCK_URL }))
    : new StripeMockSandboxProvider(stripeClient({ mockUrl: cfg.STRIPE_MOCK_URL }), db);
}

export function riskPolicy(cfg: Config): RiskPolicy {
  return {
    maxAmountMinor: cfg.RISK_MAX_AMOUNT_MINOR,
    reviewAmountMinor: cfg.RISK_REVIEW_AMOUNT_MINOR,
    velocityPerHour: cfg.RISK_VELOCITY_PER_HOUR,
    deniedCustomers: new Set(cfg.RISK_DENY_CUSTOMERS ?? []),
  };
}

/**
 * What the given queues' activities need. Serving the credit queue loads the scorecard here, once per process:
 * a model that fails to load throws CreditModelLoadError, and the worker must not start.
 */
export async function workerDeps(cfg: Config, db: Pool, queues: readonly TaskQueueName[]): Promise<WorkerDeps> {
  const deps: WorkerDeps = { db, provider: paymentProvider(cfg, db), risk: riskPolicy(cfg) };
  if (queues.includes('credit')) deps.scorer = await CreditScorer.load(cfg.CREDIT_MODEL_PATH ?? defaultModelPath());
  return deps;
}

export async function connectWorker(cfg: Config): Promise<NativeConnection> {
  return NativeConnection.connect(temporalConnectionOptions(cfg));
}

/** One Worker per task queue, sharing a connection. `overrides` lets tests pass a prebuilt workflow bundle. */
export async function createWorkers(
  cfg: Config,
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
        ...overrides[name],
      });
    }),
  );
}
