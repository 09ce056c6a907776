/**
 * CreditApplication on the time-skipping test server, with its real activities over the test database and the
 * real scorecard (the committed ONNX model). The policy thresholds are part of the workflow's input, so each
 * branch is chosen by the policy, not by hunting for profiles that happen to score a certain way.
 */
import { randomUUID } from 'node:crypto';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createCreditActivities, CreditScorer, defaultModelPath } from '../../../activities/credit';
import { normalizedNationalId, type Applicant } from '../../../core/credit/applicant';
import type { CreditProfile } from '../../../core/credit/features';
import { REASON_CATALOGUE } from '../../../core/credit/reasons';
import { createPool, withTenant, type Pool } from '../../../platform/db/pool';
import { piiHash } from '../../../platform/pii';
import { createDataConverter } from '../../../platform/temporal/client';
import { Decision, ModelVersion, Status } from '../../../temporal-config/search-attributes';
import {
  creditApplicationState,
  creditWorkflowId,
  decideApplication,
  type CreditApplicationInput,
  type CreditPolicy,
  type CreditStatus,
  type UnderwriterDecision,
} from '../../../workflows/credit/credit-application.contract';
import { CreditApplication } from '../../../workflows/credit';
import { createTenant, testConfig } from '../../support/env';
import { bundle, timeSkippingEnv } from '../../support/temporal';

const cfg = testConfig();
const REVIEW = 48 * 3600;
const ESCALATION = 24 * 3600;
/** Every score lands in one band, whatever the model says. */
const POLICY = {
  approveAll: { approveBelow: 0.999, declineAtOrAbove: 0.9999 },
  declineAll: { approveBelow: 0.00001, declineAtOrAbove: 0.0001 },
  reviewAll: { approveBelow: 0.00001, declineAtOrAbove: 0.9999 },
} satisfies Record<string, Pick<CreditPolicy, 'approveBelow' | 'declineAtOrAbove'>>;

let env: TestWorkflowEnvironment;
let db: Pool;
let scorer: CreditScorer;
let workflowBundle: WorkflowBundleWithSourceMap;
let tenantId: string;

beforeAll(async () => {
  [env, workflowBundle, scorer] = await Promise.all([timeSkippingEnv(cfg), bundle(require.resolve('../../../workflows/credit')), CreditScorer.load(defaultModelPath())]);
  db = createPool(cfg.DATABASE_URL, 4);
  tenantId = await createTenant(db);
});

afterAll(async () => {
  await env?.teardown();
  await db?.end();
  await scorer?.close();
});

const applicant = (overrides: Partial<Applicant> = {}): Applicant => ({
  givenName: 'Mei',
  familyName: 'Lin',
  dateOfBirth: '1988-04-12',
  nationalId: `A${randomUUID().replace(/\D/g, '').slice(0, 9).padEnd(9, '0')}`,
  country: 'TW',
  address: { line1: '7 Xinyi Road', city: 'Taipei', postalCode: '110' },
  ...overrides,
});

/** A profile with a recent serious delinquency: the model must find reasons to decline it. */
const RISKY: CreditProfile = {
  currency: 'TWD',
  creditLimitMinor: 3_000_000,
  repaymentStatus: [3, 2, 2, 2, 2, 2],
  billAmountsMinor: [2_900_000, 2_850_000, 2_800_000, 2_700_000, 2_600_000, 2_500_000],
  paymentAmountsMinor: [0, 0, 0, 0, 0, 0],
};

/** The row the API writes before it starts the workflow. */
async function submit(opts: { applicant?: Applicant; profile?: CreditProfile; requestedLimitMinor?: number } = {}) {
  const id = randomUUID();
  const a = opts.applicant ?? applicant();
  const requestedLimitMinor = opts.requestedLimitMinor ?? 5_000_000;
  await withTenant(db, tenantId, (tx) =>
    tx.query(
      `INSERT INTO credit_applications (id, tenant_id, idempotency_key, request_hash, submitted_by, applicant, national_id_hash, credit_profile,
                                        requested_limit_minor, currency)
       VALUES ($1, $2, $3, '\\x00', $4, $5, $6, $7, $8, 'TWD')`,
      [id, tenantId, `key-${id}`, `user:${randomUUID()}`, a, piiHash(cfg.PII_HASH_KEY, normalizedNationalId(a.country, a.nationalId)), opts.profile ?? RISKY, requestedLimitMinor],
    ),
  );
  return { id, requestedLimitMinor };
}

async function withWorker<T>(fn: (taskQueue: string) => Promise<T>): Promise<T> {
  const taskQueue = `${cfg.TEMPORAL_TASK_QUEUE_PREFIX}credit-${randomUUID()}`;
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle,
    activities: createCreditActivities({ db, scorer }),
    dataConverter: createDataConverter(cfg),
  });
  return worker.runUntil(fn(taskQueue));
}

async function start(taskQueue: string, band: keyof typeof POLICY, opts: Parameters<typeof submit>[0] = {}) {
  const { id, requestedLimitMinor } = await submit(opts);
  const input: CreditApplicationInput = {
    applicationId: id,
    tenantId,
    requestedLimitMinor,
    currency: 'TWD',
    policy: { ...POLICY[band], reviewTimeoutSeconds: REVIEW, escalationTimeoutSeconds: ESCALATION },
  };
  const handle = await env.client.workflow.start(CreditApplication, { workflowId: creditWorkflowId(tenantId, id), taskQueue, args: [input] });
  return { id, handle, requestedLimitMinor };
}

async function untilStatus(handle: WorkflowHandle, status: CreditStatus) {
  for (let i = 0; i < 300; i++) {
    if ((await handle.query(creditApplicationState)).status === status) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`application never reached ${status}`);
}

const row = (id: string) =>
  withTenant(db, tenantId, async (tx) => (await tx.query('SELECT * FROM credit_applications WHERE id = $1', [id])).rows[0]);
const line = (id: string) =>
  withTenant(db, tenantId, async (tx) => (await tx.query('SELECT * FROM credit_lines WHERE application_id = $1', [id])).rows[0]);
const scoredEvents = (id: string) =>
  withTenant(db, tenantId, async (tx) => (await tx.query("SELECT event FROM outbox WHERE aggregate_id = $1 AND event_type = 'credit.scored'", [id])).rows.map((r) => r.event));

async function searchAttributes(handle: WorkflowHandle) {
  const sa = (await handle.describe()).typedSearchAttributes;
  return { status: sa.get(Status), decision: sa.get(Decision), modelVersion: sa.get(ModelVersion) };
}

function expectReasonsByImpact(reasons: { code: string; text: string; impact?: number }[]) {
  expect(reasons.length).toBeGreaterThanOrEqual(1);
  expect(reasons.length).toBeLessThanOrEqual(4);
  for (const r of reasons) expect(r.text).toBe(REASON_CATALOGUE[r.code as keyof typeof REASON_CATALOGUE]);
}

describe('CreditApplication', () => {
  it('auto-approves below the approve threshold, records the model version, emits credit.scored and opens the credit line', async () => {
    const { id, handle, requestedLimitMinor } = await withWorker(async (q) => {
      const started = await start(q, 'approveAll');
      await started.handle.result();
      return started;
    });
    expect(await handle.result()).toMatchObject({ applicationId: id, decision: 'approved', decidedBy: 'auto', creditLineId: expect.any(String) });
    const r = await row(id);
    expect(r).toMatchObject({ status: 'approved', decision: 'approved', decided_by: 'auto', model_version: scorer.modelVersion, approved_limit_minor: String(requestedLimitMinor) });
    expect(r.probability_of_default).toBeGreaterThan(0);
    expect(r.probability_of_default).toBeLessThan(1);
    expect(await line(id)).toMatchObject({ limit_minor: String(requestedLimitMinor), drawn_minor: '0', currency: 'TWD', status: 'active' });
    const [event, ...more] = await scoredEvents(id);
    expect(more).toHaveLength(0);
    expect(event).toMatchObject({ type: 'credit.scored', data: { applicationId: id, decision: 'approved', decidedBy: 'auto', modelVersion: scorer.modelVersion } });
    // No personal data leaves in the event.
    expect(JSON.stringify(event)).not.toMatch(/Mei|Lin|Xinyi|1988-04-12/);
    expect(await searchAttributes(handle)).toEqual({ status: 'approved', decision: 'approved', modelVersion: scorer.modelVersion });
  });

  it('auto-declines at or above the decline threshold, with reason codes in order of impact and no credit line', async () => {
    // Queries replay the workflow on a worker: keep it running while the test asks.
    const { id, handle, state } = await withWorker(async (q) => {
      const started = await start(q, 'declineAll');
      await started.handle.result();
      return { ...started, state: await started.handle.query(creditApplicationState) };
    });
    expect(await handle.result()).toEqual({ applicationId: id, decision: 'declined', decidedBy: 'auto' });
    const reasons = state.score!.reasons;
    expectReasonsByImpact(reasons);
    for (let i = 1; i < reasons.length; i++) expect(reasons[i - 1]!.impact).toBeGreaterThanOrEqual(reasons[i]!.impact);
    // A payment three months late in the most recent month is this profile's strongest reason.
    expect(reasons[0]!.code).toBe('D01');
    const r = await row(id);
    expect(r).toMatchObject({ status: 'declined', decision: 'declined', decided_by: 'auto', approved_limit_minor: null });
    expect(r.reasons).toEqual(reasons.map(({ code, text }) => ({ code, text })));
    expect(await line(id)).toBeUndefined();
    expect((await scoredEvents(id))[0].data.reasonCodes).toEqual(reasons.map((x) => x.code));
  });

  it('waits for an underwriter between the thresholds, who approves a lower limit', async () => {
    await withWorker(async (q) => {
      const { id, handle, requestedLimitMinor } = await start(q, 'reviewAll');
      await untilStatus(handle, 'in_review');
      expect((await row(id)).status).toBe('in_review');
      expect((await searchAttributes(handle)).status).toBe('in_review');
      const state = await handle.executeUpdate(decideApplication, { args: [{ decision: 'approve', underwriterId: 'user:u-1', approvedLimitMinor: requestedLimitMinor / 2 }] });
      expect(state.decision).toMatchObject({ decision: 'approved', decidedBy: 'underwriter', approvedLimitMinor: requestedLimitMinor / 2 });
      expect(await handle.result()).toMatchObject({ decision: 'approved', decidedBy: 'underwriter' });
      expect(await row(id)).toMatchObject({ decision: 'approved', decided_by: 'underwriter', underwriter_id: 'user:u-1', approved_limit_minor: String(requestedLimitMinor / 2) });
      expect((await line(id)).limit_minor).toBe(String(requestedLimitMinor / 2));
    });
  });

  it('records a manual decline with the model reasons', async () => {
    await withWorker(async (q) => {
      const { id, handle } = await start(q, 'reviewAll');
      await untilStatus(handle, 'in_review');
      await handle.executeUpdate(decideApplication, { args: [{ decision: 'decline', underwriterId: 'user:u-2' }] });
      expect(await handle.result()).toEqual({ applicationId: id, decision: 'declined', decidedBy: 'underwriter' });
      const r = await row(id);
      expect(r).toMatchObject({ decision: 'declined', decided_by: 'underwriter', underwriter_id: 'user:u-2' });
      expectReasonsByImpact(r.reasons);
      expect(await line(id)).toBeUndefined();
    });
  });

  it('refuses invalid or repeated underwriter decisions and changes nothing', async () => {
    await withWorker(async (q) => {
      const { id, handle, requestedLimitMinor } = await start(q, 'reviewAll');
      await untilStatus(handle, 'in_review');
      const refused = (decision: Record<string, unknown>) =>
        handle.executeUpdate(decideApplication, { args: [decision as unknown as UnderwriterDecision] }).then(() => { throw new Error('expected the update to be refused'); }, (e: unknown) => e);
      const tooMuch = await refused({ decision: 'approve', underwriterId: 'user:u', approvedLimitMinor: requestedLimitMinor + 1 });
      expect(tooMuch).toBeInstanceOf(WorkflowUpdateFailedError);
      expect((tooMuch as WorkflowUpdateFailedError).cause?.message).toMatch(/approved limit/);
      expect(await refused({ decision: 'maybe', underwriterId: 'user:u' })).toBeInstanceOf(WorkflowUpdateFailedError);
      expect(await refused({ decision: 'approve', underwriterId: '' })).toBeInstanceOf(WorkflowUpdateFailedError);
      expect((await handle.query(creditApplicationState)).status).toBe('in_review');
      expect((await row(id)).decision).toBeNull();

      await handle.executeUpdate(decideApplication, { args: [{ decision: 'decline', underwriterId: 'user:u' }] });
      await handle.result();
      // The workflow has closed: no second decision reaches it, and the row keeps the first.
      await expect(handle.executeUpdate(decideApplication, { args: [{ decision: 'approve', underwriterId: 'user:u' }] })).rejects.toThrow();
      expect((await row(id)).decision).toBe('declined');
    });
  });

  it('escalates when the review deadline passes, then declines when the escalation deadline passes too', async () => {
    await withWorker(async (q) => {
      const { id, handle } = await start(q, 'reviewAll');
      await untilStatus(handle, 'in_review');
      // Waiting on a query or update does not move the test server's clock: skip the time explicitly.
      await env.sleep((REVIEW + 60) * 1000);
      await untilStatus(handle, 'escalated');
      expect((await row(id)).status).toBe('escalated');
      expect((await searchAttributes(handle)).status).toBe('escalated');
      await env.sleep((ESCALATION + 60) * 1000);
      expect(await handle.result()).toEqual({ applicationId: id, decision: 'declined', decidedBy: 'review_timeout' });
      const r = await row(id);
      expect(r).toMatchObject({ status: 'declined', decision: 'declined', decided_by: 'review_timeout' });
      expect(r.reasons.length).toBeGreaterThanOrEqual(1);
    });
  });

  it('an underwriter can still decide an escalated application', async () => {
    await withWorker(async (q) => {
      const { handle } = await start(q, 'reviewAll');
      await untilStatus(handle, 'in_review');
      await env.sleep((REVIEW + 60) * 1000);
      await untilStatus(handle, 'escalated');
      await handle.executeUpdate(decideApplication, { args: [{ decision: 'approve', underwriterId: 'user:u-3' }] });
      expect(await handle.result()).toMatchObject({ decision: 'approved', decidedBy: 'underwriter' });
    });
  });

  describe('KYC', () => {
    it('declines a deny-listed identity before scoring, telling the applicant only that identity could not be verified', async () => {
      const a = applicant();
      await withTenant(db, tenantId, (tx) =>
        tx.query("INSERT INTO kyc_deny_list (tenant_id, national_id_hash, reason, created_by) VALUES ($1, $2, 'fraud', 'test')", [
          tenantId,
          piiHash(cfg.PII_HASH_KEY, normalizedNationalId('TW', a.nationalId.toLowerCase())),
        ]),
      );
      const { id, handle, state } = await withWorker(async (q) => {
        const started = await start(q, 'approveAll', { applicant: a });
        await started.handle.result();
        return { ...started, state: await started.handle.query(creditApplicationState) };
      });
      expect(await handle.result()).toEqual({ applicationId: id, decision: 'declined', decidedBy: 'kyc' });
      const r = await row(id);
      expect(r).toMatchObject({ decision: 'declined', decided_by: 'kyc', probability_of_default: null, model_version: null, reasons: [{ code: 'K01', text: REASON_CATALOGUE.K01 }] });
      expect(state.score).toBeUndefined();
      expect((await scoredEvents(id))[0].data).toMatchObject({ decision: 'declined', decidedBy: 'kyc', probabilityOfDefault: null, reasonCodes: ['K01'] });
    });

    it('declines a missing identity field and an under-age applicant', async () => {
      await withWorker(async (q) => {
        const blank = await start(q, 'approveAll', { applicant: applicant({ familyName: '  ' }) });
        const young = await start(q, 'approveAll', { applicant: applicant({ dateOfBirth: `${new Date().getUTCFullYear() - 17}-01-01` }) });
        await Promise.all([blank.handle.result(), young.handle.result()]);
        expect((await row(blank.id)).reasons).toEqual([{ code: 'K02', text: REASON_CATALOGUE.K02 }]);
        expect((await row(young.id)).reasons).toEqual([{ code: 'K03', text: REASON_CATALOGUE.K03 }]);
      });
    });
  });
});
