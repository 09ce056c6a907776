/**
 * Workers built by createWorkers (workers/create-workers.ts) name their build on the local Temporal dev server, as
 * in production: every workflow task they complete carries WORKER_BUILD_ID, and with WORKER_VERSIONING they poll as
 * version <build id> of the Worker Deployment `finflow-<queue>`, so the server gives them work only once that
 * version is made current (the rollout step in README: Shipping a workflow change), after which the workflow runs
 * there with AUTO_UPGRADE. Each test owns its task queues (hence its deployment) through a prefix of its own.
 */
import { randomUUID } from 'node:crypto';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { Worker } from '@temporalio/worker';
import type { Config } from '../../platform/config';
import { createPool, type Pool } from '../../platform/db/pool';
import { createTemporalClient, taskQueue } from '../../platform/temporal/client';
import { connectWorker, createWorkers, workerDeployment, workerDeps } from '../../workers/create-workers';
import { SmokeWorkflow } from '../../workflows/platform';
import { smokeWorkflowId } from '../../workflows/platform/smoke.contract';
import { createTenant, testConfig } from '../support/env';
import { eventually } from '../support/eventually';

const base = testConfig();
const EventType = temporal.api.enums.v1.EventType;
let db: Pool;
let tenantId: string;

beforeAll(async () => {
  db = createPool(base.DATABASE_URL, 3);
  tenantId = await createTenant(db);
});

afterAll(async () => {
  await db?.end();
});

/** A platform worker from createWorkers with this config, and a SmokeWorkflow started on its queue. */
async function withSmoke<T>(overrides: NodeJS.ProcessEnv, fn: (ctx: { cfg: Config; client: Client; handle: WorkflowHandle<typeof SmokeWorkflow>; worker: Worker }) => Promise<T>): Promise<T> {
  const cfg = testConfig({ ...overrides, TEMPORAL_TASK_QUEUE_PREFIX: `${base.TEMPORAL_TASK_QUEUE_PREFIX}build-${randomUUID().slice(0, 8)}-` });
  const connection = await connectWorker(cfg);
  const client = createTemporalClient(cfg);
  try {
    const [worker] = await createWorkers(cfg, connection, await workerDeps(cfg, db, ['platform']), ['platform']);
    return await worker!.runUntil(async () => {
      const handle = await client.workflow.start(SmokeWorkflow, {
        workflowId: smokeWorkflowId(tenantId, randomUUID()),
        taskQueue: taskQueue(cfg, 'platform'),
        args: [{ tenantId, message: 'build id' }],
      });
      return fn({ cfg, client, handle, worker: worker! });
    });
  } finally {
    await client.connection.close();
    await connection.close();
  }
}

const completedTasks = async (handle: WorkflowHandle) =>
  ((await handle.fetchHistory()).events ?? []).filter((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED).map((e) => e.workflowTaskCompletedEventAttributes!);

describe('worker build ids', () => {
  it('stamp WORKER_BUILD_ID on every workflow task the worker completes', async () => {
    const buildId = `test-${randomUUID().slice(0, 8)}`;
    const tasks = await withSmoke({ WORKER_BUILD_ID: buildId }, async ({ handle }) => {
      await handle.result();
      return completedTasks(handle);
    });
    expect(tasks.length).toBeGreaterThanOrEqual(1);
    expect(tasks.map((t) => t.workerVersion?.buildId)).toEqual(tasks.map(() => buildId));
  });

  it('with WORKER_VERSIONING, give the worker work only once its version is current, then run the workflow on it with AUTO_UPGRADE', async () => {
    const buildId = `test-${randomUUID().slice(0, 8)}`;
    const { info, tasks } = await withSmoke({ WORKER_BUILD_ID: buildId, WORKER_VERSIONING: 'true' }, async ({ cfg, client, handle }) => {
      const { deploymentName } = workerDeployment(cfg, 'platform').version;
      const service = client.workflowService;
      // The worker's polls register its version with the deployment.
      await eventually(`version ${buildId} of ${deploymentName}`, async () => {
        const described = await service.describeWorkerDeployment({ namespace: cfg.TEMPORAL_NAMESPACE, deploymentName }).catch(() => undefined);
        return described?.workerDeploymentInfo?.versionSummaries?.some((v) => v.deploymentVersion?.buildId === buildId);
      }, 60_000);
      // No version is current yet: the server has given no workflow task to the versioned worker.
      expect(await completedTasks(handle)).toEqual([]);
      await service.setWorkerDeploymentCurrentVersion({ namespace: cfg.TEMPORAL_NAMESPACE, deploymentName, buildId, identity: 'worker-build-id.test' });
      await handle.result();
      return { info: (await handle.describe()).raw.workflowExecutionInfo?.versioningInfo, tasks: await completedTasks(handle) };
    });
    expect(info).toMatchObject({ behavior: temporal.api.enums.v1.VersioningBehavior.VERSIONING_BEHAVIOR_AUTO_UPGRADE, deploymentVersion: { buildId } });
    expect(tasks.map((t) => t.deploymentVersion?.buildId)).toEqual(tasks.map(() => buildId));
  });
});
