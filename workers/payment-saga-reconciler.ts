/**
 * The payment saga reconciler's Temporal Schedule: every PAYMENT_RECONCILE_INTERVAL_SECONDS it runs
 * PaymentSagaReconciler on the payments task queue, which starts the saga of each payment the API committed but did
 * not start (workflows/payments/saga-reconciler.workflow.ts). A Schedule rather than a loop in a worker: Temporal
 * runs it once however many workers there are (no leader election), and ops see it, its recent runs and what each
 * started in the Web UI (Schedules), and can pause or trigger it there.
 *
 * The payments worker creates it at start-up, or updates it to its config if it exists: idempotent, so every
 * replica may. Its id carries the task-queue prefix, so a test run or a developer owns a schedule of their own.
 */
import { ValueError } from '@temporalio/common';
import { ScheduleAlreadyRunning, type Client, type ScheduleHandle, type ScheduleOptionsStartWorkflowAction } from '@temporalio/client';
import type { Config } from '../platform/config';
import { taskQueue } from '../platform/temporal/client';
import { PAYMENT_SAGA_RECONCILER_TYPE, type SagaReconcileInput } from '../workflows/payments/saga-reconciler.contract';
import type { PaymentSagaReconciler } from '../workflows/payments/saga-reconciler.workflow';

type ReconcilerConfig = Pick<
  Config,
  | 'TEMPORAL_TASK_QUEUE_PREFIX'
  | 'PAYMENT_RECONCILE_INTERVAL_SECONDS'
  | 'PAYMENT_RECONCILE_GRACE_SECONDS'
  | 'PAYMENT_SAGA_START_WINDOW_HOURS'
  | 'PAYMENT_REVIEW_TIMEOUT_SECONDS'
  | 'PAYMENT_AUTHORIZATION_TTL_SECONDS'
  | 'PAYMENT_CUSTOMER_ACTION_TIMEOUT_SECONDS'
>;

export const paymentSagaReconcilerScheduleId = (cfg: Pick<Config, 'TEMPORAL_TASK_QUEUE_PREFIX'>) => `${cfg.TEMPORAL_TASK_QUEUE_PREFIX}payment-saga-reconciler`;

export async function ensurePaymentSagaReconcilerSchedule(client: Client, cfg: ReconcilerConfig): Promise<ScheduleHandle> {
  const scheduleId = paymentSagaReconcilerScheduleId(cfg);
  const input: SagaReconcileInput = {
    graceSeconds: cfg.PAYMENT_RECONCILE_GRACE_SECONDS,
    windowHours: cfg.PAYMENT_SAGA_START_WINDOW_HOURS,
    limit: 200,
    reviewTimeoutSeconds: cfg.PAYMENT_REVIEW_TIMEOUT_SECONDS,
    authorizationTtlSeconds: cfg.PAYMENT_AUTHORIZATION_TTL_SECONDS,
    customerActionTimeoutSeconds: cfg.PAYMENT_CUSTOMER_ACTION_TIMEOUT_SECONDS,
  };
  const action: ScheduleOptionsStartWorkflowAction<typeof PaymentSagaReconciler> = {
    type: 'startWorkflow',
    workflowType: PAYMENT_SAGA_RECONCILER_TYPE,
    workflowId: scheduleId,
    taskQueue: taskQueue(cfg, 'payments'),
    args: [input],
    workflowRunTimeout: '10 minutes',
    staticSummary: 'Starts the saga of each payment left pending without one',
  };
  const spec = { intervals: [{ every: `${cfg.PAYMENT_RECONCILE_INTERVAL_SECONDS}s` }] };
  const policies = { overlap: 'SKIP' as const, catchupWindow: '1 minute' };
  try {
    return await client.schedule.create({ scheduleId, spec, action, policies, state: { note: 'payments worker: see workers/payment-saga-reconciler.ts' } });
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    const handle = client.schedule.getHandle(scheduleId);
    try {
      await handle.update((prev) => ({ ...prev, spec, action, policies: { ...prev.policies, ...policies } }));
    } catch (updateErr) {
      if (updateErr instanceof ValueError) throw new ScheduleUnreadableError(scheduleId, updateErr);
      throw updateErr;
    }
    return handle;
  }
}

/**
 * The schedule exists but its payloads do not decode with this process's keys: another clone's (same task-queue
 * prefix on one Temporal server) or a key no longer listed. It is left as it is; the worker goes on polling.
 */
export class ScheduleUnreadableError extends Error {
  constructor(
    readonly scheduleId: string,
    cause: Error,
  ) {
    super(
      `schedule ${scheduleId} exists but cannot be read with PAYLOAD_ENCRYPTION_KEYS (${cause.message}); left unchanged. ` +
        'Another clone on this Temporal server? Give each clone its own TEMPORAL_TASK_QUEUE_PREFIX (README: Local stack)',
      { cause },
    );
    this.name = 'ScheduleUnreadableError';
  }
}
