/**
 * Two clones on one machine, one Temporal server: each has its own payload key, under the same key id if both
 * generated it the same day (`local-<date>` before key ids carried a per-clone suffix), and, unless told
 * otherwise, the same task queues. A worker of clone B then meets clone A's payloads, which its key cannot open:
 * its reconciler schedule's, and the workflows clone A starts. That must fail the task it was in (Temporal retries
 * it, the UI shows it), never kill the worker process.
 *
 * The file owns its task-queue prefix (its worker process is the only poller) and the schedule under it.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createTemporalClient, taskQueue } from '../../platform/temporal/client';
import { ensurePaymentSagaReconcilerSchedule, paymentSagaReconcilerScheduleId } from '../../workers/payment-saga-reconciler';
import { PAYMENT_SAGA_RECONCILER_TYPE } from '../../workflows/payments/saga-reconciler.contract';
import { testConfig } from '../support/env';
import { eventually } from '../support/eventually';
import { supervise, type Supervised } from '../support/processes';

const base = testConfig();
const keyId = base.PAYLOAD_ENCRYPTION_KEY_ID;
const prefix = `${base.TEMPORAL_TASK_QUEUE_PREFIX}foreignkey-`;
const envOf = (key: Buffer) => ({ TEMPORAL_TASK_QUEUE_PREFIX: prefix, PAYLOAD_ENCRYPTION_KEY_ID: keyId, PAYLOAD_ENCRYPTION_KEYS: `${keyId}:${key.toString('base64')}` });
const cloneA = testConfig(envOf(randomBytes(32)));
const cloneBEnv = { ...envOf(randomBytes(32)), WORKER_TASK_QUEUES: 'payments', LOG_LEVEL: 'info' };
const clientA = createTemporalClient(cloneA);
/** A worker process starting (tsx compiles it first) on a loaded machine. */
const DEADLINE_MS = 180_000;
let workerB: Supervised | undefined;

afterAll(async () => {
  await workerB?.stop();
  await clientA.schedule.getHandle(paymentSagaReconcilerScheduleId(cloneA)).delete().catch(() => undefined);
  await clientA.connection.close();
});

it("keeps a worker running when it meets payloads under another clone's key of the same id, and fails the task that carried them", async () => {
  await ensurePaymentSagaReconcilerSchedule(clientA, cloneA);
  await clientA.schedule.getHandle(paymentSagaReconcilerScheduleId(cloneA)).pause('clone A: only its payloads matter here');
  const workflowId = `foreign-key-${randomUUID()}`;
  const handle = await clientA.workflow.start(PAYMENT_SAGA_RECONCILER_TYPE, { taskQueue: taskQueue(cloneA, 'payments'), workflowId, args: [{}], workflowRunTimeout: '10 minutes' });

  workerB = supervise('workers/main.ts', cloneBEnv);
  const died = () => (workerB!.deaths.length ? { deaths: workerB!.deaths, output: workerB!.output } : undefined);
  await eventually('the worker to poll (or die)', () => died() ?? workerB!.output.some((line) => line.includes('workers polling')), DEADLINE_MS);
  expect(died()).toBeUndefined();
  const workflowTaskFailed = async () => {
    const history = await handle.fetchHistory();
    return (history.events ?? []).some((e) => e.workflowTaskFailedEventAttributes);
  };
  await eventually('the foreign workflow task to fail', async () => died() ?? (await workflowTaskFailed()), DEADLINE_MS);
  expect(died()).toBeUndefined();
  await handle.terminate('test over');
}, 3 * DEADLINE_MS);
