import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import type { Config } from '../platform/config';
import { createDataConverter, taskQueue, temporalConnectionOptions, type TaskQueueName } from '../platform/temporal/client';
import { TASK_QUEUE_DEFINITIONS, type WorkerDeps } from './task-queues';

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
