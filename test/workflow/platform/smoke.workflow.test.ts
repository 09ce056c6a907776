import { randomUUID } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createPlatformActivities } from '../../../activities/platform';
import { createPool, withTenant, type Pool } from '../../../platform/db/pool';
import { createDataConverter } from '../../../platform/temporal/client';
import { SMOKE_FAILURE_TYPE, smokeState, smokeWorkflowId, type SmokeInput } from '../../../workflows/platform/smoke.contract';
import { SmokeWorkflow } from '../../../workflows/platform';
import { createTenant, testConfig } from '../../support/env';
import { bundle, timeSkippingEnv } from '../../support/temporal';

const cfg = testConfig();
let env: TestWorkflowEnvironment;
let db: Pool;
let workflowBundle: WorkflowBundleWithSourceMap;
let tenantId: string;

beforeAll(async () => {
  [env, workflowBundle] = await Promise.all([timeSkippingEnv(cfg), bundle(require.resolve('../../../workflows/platform'))]);
  db = createPool(cfg.DATABASE_URL, 4);
  tenantId = await createTenant(db);
});

afterAll(async () => {
  await env?.teardown();
  await db?.end();
});

async function withWorker<T>(fn: (taskQueue: string) => Promise<T>): Promise<T> {
  const taskQueue = `${cfg.TEMPORAL_TASK_QUEUE_PREFIX}smoke-${randomUUID()}`;
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle,
    activities: createPlatformActivities({ db }),
    dataConverter: createDataConverter(cfg),
  });
  return worker.runUntil(fn(taskQueue));
}

const rowsFor = (workflowId: string) =>
  withTenant(db, tenantId, async (tx) => ({
    runs: (await tx.query('SELECT message FROM smoke_runs WHERE workflow_id = $1', [workflowId])).rows,
    events: (await tx.query('SELECT event_type, event FROM outbox WHERE aggregate_id = $1', [workflowId])).rows,
  }));

describe('SmokeWorkflow', () => {
  describe('when it waits on a 30-day timer', () => {
    it('skips the time, then records one run and one outbox event', async () => {
      const workflowId = smokeWorkflowId(tenantId, randomUUID());
      const input: SmokeInput = { tenantId, message: 'after a month', delaySeconds: 30 * 24 * 3600 };
      const startedAt = await env.currentTimeMs();
      const result = await withWorker((taskQueue) => env.client.workflow.execute(SmokeWorkflow, { workflowId, taskQueue, args: [input] }));

      expect(await env.currentTimeMs()).toBeGreaterThanOrEqual(startedAt + 30 * 24 * 3600 * 1000);
      const { runs, events } = await rowsFor(workflowId);
      expect(runs).toEqual([{ message: 'after a month' }]);
      expect(events).toHaveLength(1);
      expect(events[0].event_type).toBe('platform.smoke.completed');
      expect(events[0].event).toMatchObject({ specversion: '1.0', id: result.eventId, tenantid: tenantId, data: { smokeRunId: result.smokeRunId } });
    });

    it('answers its state query while waiting', async () => {
      const workflowId = smokeWorkflowId(tenantId, randomUUID());
      await withWorker(async (taskQueue) => {
        const handle = await env.client.workflow.start(SmokeWorkflow, { workflowId, taskQueue, args: [{ tenantId, message: 'q', delaySeconds: 3600 }] });
        expect(await handle.query(smokeState)).toBe('waiting');
        await handle.result();
        expect(await handle.query(smokeState)).toBe('recorded');
      });
    });
  });

  describe('when asked to fail', () => {
    it('fails with SmokeRequestedFailure after recording, and is not retried', async () => {
      const workflowId = smokeWorkflowId(tenantId, randomUUID());
      const error = await withWorker((taskQueue) =>
        env.client.workflow.execute(SmokeWorkflow, { workflowId, taskQueue, args: [{ tenantId, message: 'boom', fail: true }] }).then(
          () => undefined,
          (err: unknown) => err,
        ),
      );
      expect(error).toBeInstanceOf(WorkflowFailedError);
      const cause = (error as WorkflowFailedError).cause;
      expect(cause).toBeInstanceOf(ApplicationFailure);
      expect((cause as ApplicationFailure).type).toBe(SMOKE_FAILURE_TYPE);
      expect((cause as ApplicationFailure).nonRetryable).toBe(true);
      expect(cause?.message).toMatch(/^smoke run [0-9a-f-]{36} failed on request$/);
      expect(cause?.message).not.toContain('boom');
      expect((await rowsFor(workflowId)).runs).toHaveLength(1);
    });
  });

  describe('when the record activity is retried', () => {
    it('writes the run and its event once', async () => {
      const { recordSmokeRun } = createPlatformActivities({ db });
      const workflowId = smokeWorkflowId(tenantId, randomUUID());
      const first = await recordSmokeRun({ tenantId, workflowId, message: 'once' });
      const second = await recordSmokeRun({ tenantId, workflowId, message: 'once' });
      expect(second).toEqual(first);
      const { runs, events } = await rowsFor(workflowId);
      expect(runs).toHaveLength(1);
      expect(events).toHaveLength(1);
    });
  });
});
