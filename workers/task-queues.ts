/**
 * What each task queue runs: its workflow bundle entry and its activities, built over injected ports. One worker
 * process can serve several queues; production scales one deployment per queue.
 */
import type { Pool } from 'pg';
import { createPlatformActivities } from '../activities/platform';
import type { TaskQueueName } from '../platform/temporal/client';

export interface WorkerDeps {
  db: Pool;
}

export interface TaskQueueDefinition {
  workflowsPath: string;
  activities(deps: WorkerDeps): object;
}

export const TASK_QUEUE_DEFINITIONS: Partial<Record<TaskQueueName, TaskQueueDefinition>> = {
  platform: {
    workflowsPath: require.resolve('../workflows/platform'),
    activities: (deps) => createPlatformActivities({ db: deps.db }),
  },
};
