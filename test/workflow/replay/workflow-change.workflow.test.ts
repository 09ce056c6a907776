/**
 * How to change the code of a workflow type with executions running (README: Shipping a workflow change), shown on
 * PaymentSaga with a new step (fixtures/): added as is, the recorded payments no longer replay; behind patched(),
 * they do, and a payment started under the new code takes the step. Its history then needs the new code: today's
 * code fails on it (hence build ids: old workers must not pick it up), the deprecatePatch() stage replays it.
 */
import { randomUUID } from 'node:crypto';
import type { HistoryAndWorkflowId } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, Worker, type ReplayWorkerOptions, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { FaultInjectingProvider, StripeMockSandboxProvider, stripeClient } from '../../../activities/payments';
import { createPool, withTenant, type Pool } from '../../../platform/db/pool';
import { createDataConverter } from '../../../platform/temporal/client';
import { TASK_QUEUE_DEFINITIONS } from '../../../workers/task-queues';
import { paymentWorkflowId, type PaymentInput, type PaymentResult } from '../../../workflows/payments/payment.contract';
import { createTenant, testConfig } from '../../support/env';
import { timeSkippingEnv } from '../../support/temporal';
import { NEW_STEP_PATCH } from './fixtures/new-step';
import { loadHistory, recordedBranches, replayErrors } from './histories';
import { insertPaymentRow } from '../../support/payment-rows';

const cfg = testConfig();
const dataConverter = createDataConverter(cfg);
/** The recorded histories, as their files hold them: decoded, so replayed without the payload codec. */
const { payloadCodecs: _codecs, ...plainConverter } = dataConverter;
const EventType = temporal.api.enums.v1.EventType;
const quiet = { info() {}, warn() {}, error() {}, debug() {}, trace() {}, log() {} };

type Version = 'today' | 'unpatched' | 'patched' | 'deprecatedPatch';
const MODULES: Record<Version, string> = {
  today: TASK_QUEUE_DEFINITIONS.payments!.workflowsPath,
  unpatched: require.resolve('./fixtures/payment-saga-unpatched'),
  patched: require.resolve('./fixtures/payment-saga-patched'),
  deprecatedPatch: require.resolve('./fixtures/payment-saga-deprecated-patch'),
};
const bundles = {} as Record<Version, WorkflowBundleWithSourceMap>;
/** The payments recorded by today's code (test/replay/payments/payment-*.json). */
const recorded = () => recordedBranches('payments').filter((b) => b.startsWith('payment-')).map((b) => loadHistory('payments', b));

const replay = (version: Version, histories: HistoryAndWorkflowId[], converter: ReplayWorkerOptions['dataConverter'] = plainConverter) =>
  replayErrors({ workflowBundle: bundles[version], dataConverter: converter, replayName: `change-${version}` }, histories);

beforeAll(async () => {
  // Bundled as the workers bundle (workflowsPath and the failure converter), once per version.
  await Promise.all(
    (Object.keys(MODULES) as Version[]).map(async (v) => {
      bundles[v] = await bundleWorkflowCode({ workflowsPath: MODULES[v], failureConverterPath: dataConverter.failureConverterPath, logger: quiet });
    }),
  );
});

describe('changing PaymentSaga while payments are running', () => {
  it('fails every recorded payment with a DeterminismViolationError when a step is added without patched()', async () => {
    const histories = recorded();
    expect(histories.length).toBeGreaterThanOrEqual(15);
    const errors = await replay('unpatched', histories);
    expect(Object.keys(errors).sort()).toEqual(histories.map((h) => h.workflowId).sort());
    for (const err of Object.values(errors)) expect(err).toBeInstanceOf(DeterminismViolationError);
  });

  it('replays every recorded payment when the same step is behind patched()', async () => {
    expect(await replay('patched', recorded())).toEqual({});
  });

  describe('a payment started under the patched code', () => {
    let env: TestWorkflowEnvironment;
    let db: Pool;
    let history: temporal.api.history.v1.IHistory;
    let workflowId: string;
    let result: PaymentResult;

    beforeAll(async () => {
      env = await timeSkippingEnv(cfg);
      db = createPool(cfg.DATABASE_URL, 4);
      const tenantId = await createTenant(db);
      await withTenant(db, tenantId, (tx) => tx.query('SELECT create_default_chart($1)', [tenantId]));
      const provider = new FaultInjectingProvider(new StripeMockSandboxProvider(stripeClient({ mockUrl: cfg.STRIPE_MOCK_URL }), db));
      const input: PaymentInput = {
        paymentId: randomUUID(),
        tenantId,
        customerId: `cus_${randomUUID().slice(0, 8)}`,
        amountMinor: 2500,
        currency: 'EUR',
        paymentMethod: 'pm_card_visa',
        captureMethod: 'automatic',
        reviewTimeoutSeconds: 24 * 3600,
        authorizationTtlSeconds: 7 * 24 * 3600,
      };
      await insertPaymentRow(db, input);
      const taskQueue = `${cfg.TEMPORAL_TASK_QUEUE_PREFIX}payments-change-${randomUUID()}`;
      const worker = await Worker.create({
        connection: env.nativeConnection,
        taskQueue,
        workflowBundle: bundles.patched,
        activities: TASK_QUEUE_DEFINITIONS.payments!.activities({ db, provider, risk: { maxAmountMinor: 1_000_000, reviewAmountMinor: 50_000, velocityPerHour: 1000, deniedCustomers: new Set() } }),
        dataConverter,
      });
      await worker.runUntil(async () => {
        const handle = await env.client.workflow.start('PaymentSaga', { workflowId: paymentWorkflowId(tenantId, input.paymentId), taskQueue, args: [input] });
        workflowId = handle.workflowId;
        result = await handle.result();
        history = await handle.fetchHistory();
      });
    });

    afterAll(async () => {
      await env?.teardown();
      await db?.end();
    });

    // Under its own workflow id: the payload codec binds payloads to the tenant the id names.
    const current = () => [{ workflowId, history }];

    it('takes the new step, records the patch marker, and completes', () => {
      const events = history.events ?? [];
      expect(events.filter((e) => e.eventType === EventType.EVENT_TYPE_TIMER_STARTED)).toHaveLength(1);
      const markers = events.filter((e) => e.eventType === EventType.EVENT_TYPE_MARKER_RECORDED).map((e) => e.markerRecordedEventAttributes!);
      // The new step's marker first; today's saga may record patch markers of its own after it.
      expect(markers.map((m) => m.markerName)).toEqual(markers.map(() => 'core_patch'));
      expect(JSON.stringify(markers[0]!.details)).toContain(Buffer.from(JSON.stringify(NEW_STEP_PATCH)).toString('base64'));
      expect(result).toMatchObject({ status: 'succeeded' });
    });

    it('replays under the patched and the deprecatePatch() versions', async () => {
      expect(await replay('patched', current(), dataConverter)).toEqual({});
      expect(await replay('deprecatedPatch', current(), dataConverter)).toEqual({});
    });

    it('does not replay under today’s code, which old workers still run', async () => {
      const errors = await replay('today', current(), dataConverter);
      expect(errors[workflowId]).toBeInstanceOf(DeterminismViolationError);
    });
  });
});
