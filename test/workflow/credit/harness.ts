/**
 * What the CreditApplication workflow tests share: the time-skipping test server, the real activities over the test
 * database, the real scorecard (the committed ONNX model), and helpers to submit, start, wait and look.
 */
import { randomUUID } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createCreditActivities, CreditScorer, defaultModelPath, type CreditActivities } from '../../../activities/credit';
import { normalizedNationalId, type Applicant } from '../../../core/credit/applicant';
import { featureVector, type CreditProfile } from '../../../core/credit/features';
import { createPool, withTenant, type Pool } from '../../../platform/db/pool';
import { encryptApplicant } from '../../../modules/credit';
import { piiHash, piiKeys } from '../../../platform/pii';
import { createDataConverter } from '../../../platform/temporal/client';
import { Decision, ModelVersion, Status } from '../../../temporal-config/search-attributes';
import {
  creditApplicationState,
  creditWorkflowId,
  decideApplication,
  type CreditApplicationInput,
  type CreditPolicy,
  type CreditStatus,
  type ScoreResult,
  type UnderwriterDecision,
} from '../../../workflows/credit/credit-application.contract';
import { CreditApplication } from '../../../workflows/credit';
import { expectStrongestReasons } from '../../support/credit-reasons';
import { createTenant, testConfig } from '../../support/env';
import { eventually } from '../../support/eventually';
import { bundle, timeSkippingEnv } from '../../support/temporal';
import { acceptedUpdateIds, expectRefused, updateRefusal } from '../../support/updates';

export const cfg = testConfig();
export const REVIEW = 48 * 3600;
export const ESCALATION = 24 * 3600;
/** Every score lands in one band, whatever the model says. */
export const POLICY = {
  approveAll: { approveBelow: 0.999, declineAtOrAbove: 0.9999 },
  declineAll: { approveBelow: 0.00001, declineAtOrAbove: 0.0001 },
  reviewAll: { approveBelow: 0.00001, declineAtOrAbove: 0.9999 },
} satisfies Record<string, Pick<CreditPolicy, 'approveBelow' | 'declineAtOrAbove'>>;

export let env: TestWorkflowEnvironment;
export let db: Pool;
export let scorer: CreditScorer;
export let tenantId: string;
let workflowBundle: WorkflowBundleWithSourceMap;

/** Per test file: a time-skipping test server, the bundled workflows, the committed model and a tenant. */
export function setUpCreditWorkflows() {
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
}

export const applicant = (overrides: Partial<Applicant> = {}): Applicant => ({
  givenName: 'Mei',
  familyName: 'Lin',
  dateOfBirth: '1988-04-12',
  nationalId: `A${randomUUID().replace(/\D/g, '').slice(0, 9).padEnd(9, '0')}`,
  country: 'TW',
  address: { line1: '7 Xinyi Road', city: 'Taipei', postalCode: '110' },
  ...overrides,
});

/** A profile with a recent serious delinquency: the model must find reasons to decline it. */
export const RISKY: CreditProfile = {
  currency: 'TWD',
  creditLimitMinor: 3_000_000,
  repaymentStatus: [3, 2, 2, 2, 2, 2],
  billAmountsMinor: [2_900_000, 2_850_000, 2_800_000, 2_700_000, 2_600_000, 2_500_000],
  paymentAmountsMinor: [0, 0, 0, 0, 0, 0],
};

/** The row the API writes before it starts the workflow. */
export async function submit(opts: { applicant?: Applicant; profile?: CreditProfile; requestedLimitMinor?: number; submittedAt?: string } = {}) {
  const id = randomUUID();
  const a = opts.applicant ?? applicant();
  const requestedLimitMinor = opts.requestedLimitMinor ?? 5_000_000;
  // As the API writes it: the identity encrypted, the national id as its keyed hash only.
  const enc = encryptApplicant(piiKeys(cfg), tenantId, id, a);
  await withTenant(db, tenantId, (tx) =>
    tx.query(
      `INSERT INTO credit_applications (id, tenant_id, idempotency_key, request_hash, submitted_by, applicant_given_name, applicant_family_name,
                                        applicant_date_of_birth, applicant_address, applicant_country, national_id_hash, credit_profile,
                                        requested_limit_minor, currency, created_at)
       VALUES ($1, $2, $3, '\\x00', $4, $5, $6, $7, $8, $9, $10, $11, $12, 'TWD', coalesce($13::timestamptz, now()))`,
      [id, tenantId, `key-${id}`, `user:${randomUUID()}`, enc.applicant_given_name, enc.applicant_family_name, enc.applicant_date_of_birth,
        enc.applicant_address, enc.applicant_country, piiHash(cfg.PII_HASH_KEY, normalizedNationalId(a.country, a.nationalId)), opts.profile ?? RISKY,
        requestedLimitMinor, opts.submittedAt ?? null],
    ),
  );
  return { id, requestedLimitMinor };
}

/** A worker with the real activities; `wrap` may put a gate in front of one of them (the real one still runs). */
export async function withWorker<T>(fn: (taskQueue: string) => Promise<T>, wrap: (real: CreditActivities) => Partial<CreditActivities> = () => ({})): Promise<T> {
  const taskQueue = `${cfg.TEMPORAL_TASK_QUEUE_PREFIX}credit-${randomUUID()}`;
  const real = createCreditActivities({ db, scorer, pii: piiKeys(cfg) });
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle,
    activities: { ...real, ...wrap(real) },
    dataConverter: createDataConverter(cfg),
  });
  return worker.runUntil(fn(taskQueue));
}

export type Band = Pick<CreditPolicy, 'approveBelow' | 'declineAtOrAbove'>;

export async function start(taskQueue: string, band: keyof typeof POLICY | Band, opts: Parameters<typeof submit>[0] = {}) {
  const { id, requestedLimitMinor } = await submit(opts);
  const input: CreditApplicationInput = {
    applicationId: id,
    tenantId,
    requestedLimitMinor,
    currency: 'TWD',
    policy: { ...(typeof band === 'string' ? POLICY[band] : band), reviewTimeoutSeconds: REVIEW, escalationTimeoutSeconds: ESCALATION },
  };
  const handle = await env.client.workflow.start(CreditApplication, { workflowId: creditWorkflowId(tenantId, id), taskQueue, args: [input] });
  return { id, handle, requestedLimitMinor };
}

/** Waits (by query: no time skipped) until the application is in `status`; fails at once if it closed otherwise. */
export async function untilStatus(handle: WorkflowHandle, status: CreditStatus) {
  await eventually(`the application to be ${status}`, async () => {
    const now = (await handle.query(creditApplicationState)).status;
    if (now !== status && (now === 'approved' || now === 'declined')) throw new Error(`the application was ${now}, not ${status}`);
    return now === status;
  }, 60_000);
}

export const row = (id: string) =>
  withTenant(db, tenantId, async (tx) => (await tx.query('SELECT * FROM credit_applications WHERE id = $1', [id])).rows[0]);
export const line = (id: string) =>
  withTenant(db, tenantId, async (tx) => (await tx.query('SELECT * FROM credit_lines WHERE application_id = $1', [id])).rows[0]);
export const scoredEvents = (id: string) =>
  withTenant(db, tenantId, async (tx) => (await tx.query("SELECT event FROM outbox WHERE aggregate_id = $1 AND event_type = 'credit.scored'", [id])).rows.map((r) => r.event));

export async function searchAttributes(handle: WorkflowHandle) {
  const sa = (await handle.describe()).typedSearchAttributes;
  return { status: sa.get(Status), decision: sa.get(Decision), modelVersion: sa.get(ModelVersion) };
}

/** The reasons a decision on RISKY must carry: computed from the model's own contributions, not remembered. */
export async function expectRiskyReasons(reasons: ScoreResult['reasons']) {
  expect(reasons.length).toBeGreaterThanOrEqual(1);
  const vector = featureVector(RISKY);
  expectStrongestReasons(vector, (await scorer.score(vector)).contributions, reasons);
}

interface Gate {
  /** Resolves when the workflow has called the gated activity. */
  reached: Promise<void>;
  open(): void;
}

/**
 * A worker whose `activity` waits at a gate before the real one runs, so the test can act while the workflow waits
 * on it. The gate opens when the test opens it, or when the test ends (pass or fail).
 */
export async function withGatedWorker<T>(activity: 'scoreApplication' | 'recordDecision', fn: (taskQueue: string, gate: Gate) => Promise<T>): Promise<T> {
  let open!: () => void;
  let arrive!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  const reached = new Promise<void>((resolve) => (arrive = resolve));
  return withWorker(
    async (q) => {
      try {
        return await fn(q, { reached, open });
      } finally {
        open();
      }
    },
    (real) => {
      const run = real[activity] as (arg: unknown) => Promise<unknown>;
      return { [activity]: async (arg: unknown) => (arrive(), await opened, run(arg)) } as Partial<CreditActivities>;
    },
  );
}

/** The refusal of an underwriter decision (see updateRefusal). */
export const refusal = (handle: WorkflowHandle, decision: Record<string, unknown>) => updateRefusal(handle, decideApplication, [decision as unknown as UnderwriterDecision]);
export const acceptedUpdates = async (handle: WorkflowHandle) => (await acceptedUpdateIds(handle)).length;
export { expectRefused };

/** The next double above x: a threshold one step past the PD. */
export function nextUp(x: number): number {
  const f = new Float64Array([x]);
  const bits = new BigInt64Array(f.buffer);
  bits[0] = bits[0]! + (x >= 0 ? 1n : -1n);
  return f[0]!;
}
