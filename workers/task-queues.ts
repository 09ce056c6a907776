/**
 * What each task queue runs: its workflow bundle entry and its activities, built over injected ports. One worker
 * process can serve several queues; production scales one deployment per queue.
 */
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { createPeriodCloseActivities } from '../activities/accounting';
import { createCreditActivities, type CreditScorer } from '../activities/credit';
import { createInvoiceActivities } from '../activities/invoices';
import { createInvoiceDeliveryActivities, createPaymentActivities, createRefundActivities, createSagaReconcilerActivities, type PaymentProvider, type RiskPolicy } from '../activities/payments';
import { createPlatformActivities } from '../activities/platform';
import type { PiiKeys } from '../platform/pii';
import type { TaskQueueName } from '../platform/temporal/client';

export interface WorkerDeps {
  db: Pool;
  provider: PaymentProvider;
  risk: RiskPolicy;
  /** Loaded at start-up by processes that serve the credit queue (workers/create-workers.ts workerDeps). */
  scorer?: CreditScorer;
  /** Applicants' identity keys, for the credit queue's KYC (built by workerDeps()). */
  pii?: PiiKeys;
  /** For activities that start workflows (the payment saga reconciler); built by workerDeps() for the payments queue. */
  temporal?: Client;
  /** The payments task queue (with this process's prefix): where a credit note's RefundWorkflow runs. */
  paymentsTaskQueue?: string;
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
    activities: (deps) => ({ ...createPaymentActivities(deps), ...createRefundActivities(deps), ...createSagaReconcilerActivities(deps), ...createInvoiceDeliveryActivities(deps) }),
  },
  accounting: {
    workflowsPath: require.resolve('../workflows/accounting'),
    activities: (deps) => createPeriodCloseActivities({ db: deps.db }),
  },
  credit: {
    workflowsPath: require.resolve('../workflows/credit'),
    activities: (deps) => {
      if (!deps.scorer || !deps.pii) throw new Error('the credit task queue needs the credit model and PII keys: build deps with workerDeps()');
      return createCreditActivities({ db: deps.db, scorer: deps.scorer, pii: deps.pii });
    },
  },
  // InvoiceLifecycle: long-lived entities on durable timers, scaled apart from the sagas.
  invoices: {
    workflowsPath: require.resolve('../workflows/invoices'),
    activities: (deps) => createInvoiceActivities({ db: deps.db, temporal: deps.temporal, refundTaskQueue: deps.paymentsTaskQueue }),
  },
};
