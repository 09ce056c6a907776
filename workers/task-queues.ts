/**
 * What each task queue runs: its workflow bundle entry and its activities, built over injected ports. One worker
 * process can serve several queues; production scales one deployment per queue.
 */
import type { Pool } from 'pg';
import { createPaymentActivities, createRefundActivities, type PaymentProvider, type RiskPolicy } from '../activities/payments';
import { createPlatformActivities } from '../activities/platform';
import type { TaskQueueName } from '../platform/temporal/client';

export interface WorkerDeps {
  db: Pool;
  provider: PaymentProvider;
  risk: RiskPolicy;
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
  payments: {
    workflowsPath: require.resolve('../workflows/payments'),
    activities: (deps) => ({ ...createPaymentActivities(deps), ...createRefundActivities(deps) }),
  },
};
