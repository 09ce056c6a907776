/**
 * Each tenant's PeriodClose schedule: at 02:00 on the first of every month in the books' time zone it starts a
 * PeriodClose on the accounting task queue, which closes the month before (the scheduled day decides the month, so
 * a backfilled run closes the month it was meant for). Overlap SKIP: a close still waiting for its sign-off is
 * never run twice; catch-up window: a run missed while Temporal was unavailable still starts within it. A month
 * missed for longer is closed by a backfill (`temporal schedule backfill`, or ScheduleHandle.backfill).
 *
 * Created when the tenant is provisioned (workers/consumers/tenant-provisioner.ts), idempotently: an existing
 * schedule is updated to the tenant's time zone and this spec. The id carries the task-queue prefix, so a test run
 * owns its schedules.
 */
import { ScheduleAlreadyRunning, type Client, type ScheduleHandle, type ScheduleOptionsStartWorkflowAction } from '@temporalio/client';
import type { Config } from '../platform/config';
import { taskQueue } from '../platform/temporal/client';
import { PERIOD_CLOSE_TYPE, periodCloseScheduleId, type PeriodCloseInput } from '../workflows/accounting/period-close.contract';
import type { PeriodClose } from '../workflows/accounting';

/** A scheduled run missed for up to this long (Temporal down, a deploy) still starts. */
export const PERIOD_CLOSE_CATCHUP_WINDOW = '3 days';

export interface CloseScheduler {
  /** Creates the tenant's schedule, or updates it to the tenant's time zone. */
  ensure(tenantId: string, timeZone: string): Promise<ScheduleHandle>;
}

export function periodCloseScheduler(client: Client, cfg: Pick<Config, 'TEMPORAL_TASK_QUEUE_PREFIX'>): CloseScheduler {
  return {
    async ensure(tenantId, timeZone) {
      const scheduleId = periodCloseScheduleId(cfg.TEMPORAL_TASK_QUEUE_PREFIX, tenantId);
      const input: PeriodCloseInput = { tenantId, trigger: 'schedule', startedBy: 'schedule', scheduleTimeZone: timeZone };
      const action: ScheduleOptionsStartWorkflowAction<typeof PeriodClose> = {
        type: 'startWorkflow',
        workflowType: PERIOD_CLOSE_TYPE,
        workflowId: scheduleId,
        taskQueue: taskQueue(cfg, 'accounting'),
        args: [input],
        staticSummary: 'Closes the month before (soft lock, FX revaluation, statements, sign-off)',
      };
      const spec = { calendars: [{ dayOfMonth: 1, hour: 2, minute: 0, comment: 'the first of each month, 02:00' }], timezone: timeZone };
      const policies = { overlap: 'SKIP' as const, catchupWindow: PERIOD_CLOSE_CATCHUP_WINDOW };
      try {
        return await client.schedule.create({ scheduleId, spec, action, policies, state: { note: 'tenant provisioning: see workers/period-close-schedule.ts' } });
      } catch (err) {
        if (!(err instanceof ScheduleAlreadyRunning)) throw err;
        const handle = client.schedule.getHandle(scheduleId);
        await handle.update((prev) => ({ ...prev, spec, action, policies: { ...prev.policies, ...policies } }));
        return handle;
      }
    },
  };
}
