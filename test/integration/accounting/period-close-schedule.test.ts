/**
 * Each tenant's PeriodClose schedule, on the dev server (the time-skipping test server has no Schedules): made when
 * the tenant is provisioned (user.registered through the provisioner), once however often the event comes, monthly
 * in the books' time zone with overlap skip and a catch-up window; `trigger` runs a close of the month before, and
 * a backfill closes a missed month.
 */
import { randomUUID } from 'node:crypto';
import type { Client, ScheduleHandle } from '@temporalio/client';
import type { NativeConnection, Worker } from '@temporalio/worker';
import { MongoClient } from 'mongodb';
import { localDate, previousMonth } from '../../../core/accounting/period-close';
import { createPool, withTenant, type Pool } from '../../../platform/db/pool';
import { cloudEvent } from '../../../platform/events/cloudevent';
import { createTemporalClient } from '../../../platform/temporal/client';
import { periodCloseProgress, periodCloseScheduleId, signOffClose } from '../../../workflows/accounting/period-close.contract';
import { tenantProvisioner } from '../../../workers/consumers/tenant-provisioner';
import { connectWorker, createWorkers, workerDeps } from '../../../workers/create-workers';
import { PERIOD_CLOSE_CATCHUP_WINDOW, periodCloseScheduler } from '../../../workers/period-close-schedule';
import { ownerPool, testConfig } from '../../support/env';
import { eventually } from '../../support/eventually';
import { tenantWithChart } from '../../support/ledger';

const cfg = testConfig();
let db: Pool;
let owner: Pool;
let mongo: MongoClient;
let client: Client;
let connection: NativeConnection;
let worker: Worker;
let running: Promise<void>;
const schedules: ScheduleHandle[] = [];

beforeAll(async () => {
  db = createPool(cfg.DATABASE_URL, 4);
  owner = ownerPool(cfg);
  mongo = await new MongoClient(cfg.MONGO_URL).connect();
  client = createTemporalClient(cfg);
  connection = await connectWorker(cfg);
  worker = (await createWorkers(cfg, connection, await workerDeps(cfg, db, ['accounting']), ['accounting']))[0]!;
  running = worker!.run();
});
afterAll(async () => {
  await Promise.allSettled(schedules.map((s) => s.delete()));
  worker?.shutdown();
  await running;
  await connection?.close();
  await client?.connection.close();
  await mongo?.close();
  await db?.end();
  await owner?.end();
});

/** A registered tenant (books in Berlin) provisioned by the consumer's handler, with the close schedules wired. */
async function provisionedTenant(timeZone = 'Europe/Berlin'): Promise<{ tenantId: string; provision: () => Promise<string> }> {
  const tenantId = await tenantWithChart(db, { timeZone, owner });
  const provisioner = tenantProvisioner({ db, analytics: mongo.db(cfg.MONGO_DATABASE), closeSchedules: periodCloseScheduler(client, cfg) });
  const event = cloudEvent({
    id: randomUUID(),
    type: 'user.registered',
    source: 'finflow/test',
    subject: `user/${randomUUID()}`,
    tenantId,
    data: { userId: randomUUID(), tenantId, role: 'admin', tenantSlug: `t-${tenantId.slice(0, 8)}`, defaultCurrency: 'EUR' },
  });
  const provision = () => provisioner(event);
  return { tenantId, provision };
}

/** The workflow a schedule's action started for the given scheduled time. */
async function runScheduledAt(handle: ScheduleHandle, scheduledAt: Date | undefined) {
  const action = await eventually('the scheduled run', async () => {
    const { info } = await handle.describe();
    return info.recentActions.find((a) => !scheduledAt || a.scheduledAt.getTime() === scheduledAt.getTime());
  }, 60_000);
  return client.workflow.getHandle(action.action.workflow.workflowId, action.action.workflow.firstExecutionRunId);
}

async function signedOffAfterWaiting(run: Awaited<ReturnType<typeof runScheduledAt>>) {
  const waiting = await eventually('awaiting sign-off', async () => {
    const s = await run.query(periodCloseProgress).catch(() => undefined);
    return s?.step === 'awaiting_sign_off' && s;
  }, 90_000);
  await run.executeUpdate(signOffClose, { args: [{ by: 'user:finance-1', role: 'finance' }] });
  return { waiting, result: await run.result() };
}

const periodStatus = async (tenantId: string, start: string) =>
  (await withTenant(db, tenantId, (tx) => tx.query<{ status: string }>('SELECT status FROM accounting_periods WHERE period_start = $1', [start]))).rows[0]?.status;

describe("a tenant's PeriodClose schedule", () => {
  it('exists once the tenant is provisioned: monthly in its time zone, overlap skip, a catch-up window; provisioning again changes nothing', async () => {
    const { tenantId, provision } = await provisionedTenant();
    expect(await provision()).toBe('provisioned');
    const handle = client.schedule.getHandle(periodCloseScheduleId(cfg.TEMPORAL_TASK_QUEUE_PREFIX, tenantId));
    schedules.push(handle);
    const first = await handle.describe();
    expect(first.spec.timezone).toBe('Europe/Berlin');
    expect(first.spec.calendars).toEqual([expect.objectContaining({ dayOfMonth: [{ start: 1, end: 1, step: 1 }], hour: [{ start: 2, end: 2, step: 1 }] })]);
    expect(first.policies).toMatchObject({ overlap: 'SKIP', catchupWindow: 3 * 86_400_000 });
    expect(PERIOD_CLOSE_CATCHUP_WINDOW).toBe('3 days');
    expect(first.action).toMatchObject({ workflowType: 'PeriodClose', taskQueue: `${cfg.TEMPORAL_TASK_QUEUE_PREFIX}accounting` });
    // The same event again (a redelivery): a duplicate, and still one schedule.
    expect(await provision()).toBe('duplicate');
    const listed: string[] = [];
    for await (const s of client.schedule.list()) if (s.scheduleId === handle.scheduleId) listed.push(s.scheduleId);
    expect(listed).toHaveLength(1);
  });

  it('closes a missed month by backfill, then the month before now by trigger', async () => {
    const { tenantId, provision } = await provisionedTenant();
    await provision();
    const handle = client.schedule.getHandle(periodCloseScheduleId(cfg.TEMPORAL_TASK_QUEUE_PREFIX, tenantId));
    schedules.push(handle);

    // Missed: the run of 1 March 2025, 02:00 in Berlin (01:00 UTC), which closes February 2025.
    const missed = new Date('2025-03-01T01:00:00Z');
    await handle.backfill({ start: new Date('2025-02-28T23:00:00Z'), end: new Date('2025-03-01T03:00:00Z'), overlap: 'ALLOW_ALL' });
    const backfilled = await signedOffAfterWaiting(await runScheduledAt(handle, missed));
    expect(backfilled.waiting).toMatchObject({ trigger: 'schedule', periodStart: '2025-02-01', periodEnd: '2025-02-28' });
    expect(backfilled.result).toMatchObject({ outcome: 'closed', periodStart: '2025-02-01' });
    expect(await periodStatus(tenantId, '2025-02-01')).toBe('closed');

    const before = new Date();
    await handle.trigger();
    const triggered = await eventually('the triggered run', async () => {
      const { info } = await handle.describe();
      return info.recentActions.find((a) => a.takenAt >= new Date(before.getTime() - 1000) && a.scheduledAt.getTime() !== missed.getTime());
    }, 60_000);
    const expected = previousMonth(localDate(triggered.scheduledAt, 'Europe/Berlin'));
    const now = await signedOffAfterWaiting(client.workflow.getHandle(triggered.action.workflow.workflowId));
    expect(now.result).toMatchObject({ outcome: 'closed', periodStart: expected.periodStart });
    expect(await periodStatus(tenantId, expected.periodStart)).toBe('closed');
  });

  it("closes the month before its scheduled day in the schedule's zone, also after the books' zone changed", async () => {
    const { tenantId, provision } = await provisionedTenant('Pacific/Auckland');
    await provision();
    const handle = client.schedule.getHandle(periodCloseScheduleId(cfg.TEMPORAL_TASK_QUEUE_PREFIX, tenantId));
    schedules.push(handle);
    // 02:00 on 1 April 2025 in Auckland (+13) is 13:00 UTC on 31 March, 06:00 on 31 March in Los Angeles.
    await withTenant(owner, tenantId, (tx) => tx.query("UPDATE tenants SET time_zone = 'America/Los_Angeles' WHERE id = $1", [tenantId]));
    const scheduled = new Date('2025-03-31T13:00:00Z');
    await handle.backfill({ start: new Date('2025-03-31T12:00:00Z'), end: new Date('2025-03-31T14:00:00Z'), overlap: 'ALLOW_ALL' });
    const { waiting } = await signedOffAfterWaiting(await runScheduledAt(handle, scheduled));
    expect(waiting).toMatchObject({ periodStart: '2025-03-01', periodEnd: '2025-03-31' });
  });
});
