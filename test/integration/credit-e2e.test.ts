/**
 * Credit applications over HTTP on the real local stack: API -> Temporal -> credit worker (the ONNX scorecard)
 * -> Postgres -> outbox -> relay -> Kafka, where credit.scored is read from analytics.events. Also: bad input is a
 * 4xx naming the field with nothing started, idempotent submission, scoping by tenant and by submitter, and the
 * underwriter's decision endpoint. A submission answers 201 when the application settles within the API's short
 * wait and 202 otherwise; both are accepted and the outcome is read from the application.
 */
import { randomUUID } from 'node:crypto';
import type { Response } from 'supertest';
import { EXAMPLE_APPLICATION } from '../../api/credit/routes';
import type { ApplicationView } from '../../api/credit/service';
import { withTenant, type Pool } from '../../platform/db/pool';
import type { CloudEvent } from '../../platform/events/cloudevent';
import { apiKeyWithRole, bearer, registerTenant, settledResource, startApi, userWithRole, type RegisteredTenant, type TestApi } from '../support/api';
import { testConfig } from '../support/env';
import { eventually } from '../support/eventually';
import { startPipeline, type Pipeline } from '../support/pipeline';

const cfg = testConfig();
/** Kafka, the relay and a consumer group on a loaded machine: generous. */
const DEADLINE_MS = 60_000;
let api: TestApi;
/** The same API with a policy that sends every scored application to an underwriter. */
let reviewApi: TestApi;
let pipeline: Pipeline;
let db: Pool;
let received: CloudEvent[];
let tenant: RegisteredTenant;
let client: string;
let otherClient: string;
let underwriter: string;
let admin: string;

beforeAll(async () => {
  api = startApi();
  reviewApi = startApi({ CREDIT_APPROVE_BELOW_PD: '0.00001', CREDIT_DECLINE_AT_OR_ABOVE_PD: '0.99999' });
  pipeline = await startPipeline(cfg, ['credit'], 'analytics.events');
  ({ db, received } = pipeline);
  tenant = await registerTenant(api);
  client = (await apiKeyWithRole(api, tenant, 'client')).key;
  otherClient = (await apiKeyWithRole(api, tenant, 'client')).key;
  underwriter = await userWithRole(api, tenant, 'underwriter');
  admin = tenant.admin.accessToken;
});

afterAll(async () => {
  await pipeline.close();
  await Promise.all([api.close(), reviewApi.close()]);
});

const submit = (via: TestApi, token: string, body: object, key = randomUUID()) =>
  via.http().post('/api/credit/applications').set(bearer(token)).set('Idempotency-Key', key).send(body);
const withApplicant = (overrides: object) => ({ ...EXAMPLE_APPLICATION, applicant: { ...EXAMPLE_APPLICATION.applicant, nationalId: `N${randomUUID().slice(0, 8)}`, ...overrides } });
const withProfile = (overrides: object) => ({ ...EXAMPLE_APPLICATION, creditProfile: { ...EXAMPLE_APPLICATION.creditProfile, ...overrides } });
/** Decided (an approval once its credit line is open), or waiting for an underwriter (as the API defines it). */
const decided = (a: ApplicationView) =>
  a.status === 'in_review' || a.status === 'escalated' || a.decision === 'declined' || (a.decision === 'approved' && a.creditLine !== null);
const outcome = (res: Response, as = client) => {
  expect([201, 202]).toContain(res.status);
  return settledResource<ApplicationView>(api, as, res, decided, DEADLINE_MS);
};
const applicationCount = () => withTenant(db, tenant.tenantId, async (tx) => Number((await tx.query('SELECT count(*) FROM credit_applications')).rows[0].count));

describe('a credit application over HTTP', () => {
  it('is scored and decided automatically, and credit.scored reaches analytics.events on Kafka', async () => {
    const res = await submit(api, client, withApplicant({}));
    expect(res.headers.location).toBe(`/api/credit/applications/${res.body.id}`);
    // The response carries no identity data, settled or not.
    expect(JSON.stringify(res.body)).not.toMatch(/Mei|Xinyi|1988-04-12|nationalId/);
    const app = await outcome(res);
    expect(app.modelVersion).toMatch(/^credit-/);
    // The example profile (clean repayment history) is approved by the default policy.
    expect(app).toMatchObject({ status: 'approved', decision: 'approved', decidedBy: 'auto', approvedLimitMinor: 5_000_000 });
    expect(app.probabilityOfDefault).toBeLessThan(cfg.CREDIT_APPROVE_BELOW_PD);
    // Settled means the credit line is open too: it opens just after the decision is recorded.
    expect(app.creditLine).toMatchObject({ limitMinor: 5_000_000, drawnMinor: 0, currency: 'TWD', status: 'active' });
    const read = (await api.http().get(`/api/credit/applications/${app.id}`).set(bearer(client)).expect(200)).body;
    expect(read).toEqual(app);
    expect(JSON.stringify(read)).not.toMatch(/Mei|Xinyi|1988-04-12|nationalId/);
    const event = await eventually('credit.scored on Kafka', () => received.find((e) => e.type === 'credit.scored' && e.subject === `credit_application/${app.id}`), DEADLINE_MS);
    expect(event).toMatchObject({ tenantid: tenant.tenantId, data: { applicationId: app.id, decision: 'approved', decidedBy: 'auto', modelVersion: app.modelVersion } });
    expect(JSON.stringify(event)).not.toMatch(/Mei|Xinyi|1988-04-12/);
  });

  it('declines a high-risk profile with up to four reasons in human wording', async () => {
    const app = await outcome(
      await submit(
        api,
        client,
        withProfile({ creditLimitMinor: 2_000_000, repaymentStatus: [3, 2, 2, 2, 2, 2], billAmountsMinor: Array(6).fill(1_990_000), paymentAmountsMinor: Array(6).fill(0) }),
      ),
    );
    expect(app).toMatchObject({ status: 'declined', decision: 'declined', decidedBy: 'auto', approvedLimitMinor: null, creditLine: null });
    expect(app.reasons.length).toBeGreaterThanOrEqual(1);
    expect(app.reasons.length).toBeLessThanOrEqual(4);
    expect(app.reasons[0]).toEqual({ code: 'D01', text: 'Most recent payment 2 or more months late' });
  });

  it('is decided by an underwriter when the score falls between the thresholds', async () => {
    const app = await outcome(await submit(reviewApi, client, withApplicant({})));
    expect(app).toMatchObject({ status: 'in_review', decision: null });
    // The queue an underwriter works from.
    const queue = await api.http().get('/api/credit/applications?status=in_review').set(bearer(underwriter)).expect(200);
    expect(queue.body.data.map((a: { id: string }) => a.id)).toContain(app.id);
    await api.http().post(`/api/credit/applications/${app.id}/decision`).set(bearer(underwriter)).send({ decision: 'approve', approvedLimitMinor: 6_000_000 }).expect(409);
    const decision = await api.http().post(`/api/credit/applications/${app.id}/decision`).set(bearer(underwriter)).send({ decision: 'approve', approvedLimitMinor: 2_500_000 }).expect(200);
    expect(decision.body).toMatchObject({ status: 'approved', decision: 'approved', decidedBy: 'underwriter', approvedLimitMinor: 2_500_000 });
    expect(decision.body.creditLine).toMatchObject({ limitMinor: 2_500_000, currency: 'TWD' });
    await api.http().post(`/api/credit/applications/${app.id}/decision`).set(bearer(underwriter)).send({ decision: 'decline' }).expect(409);
  });

  it('is refused at KYC once the identity is on the deny list', async () => {
    const nationalId = `D${randomUUID().slice(0, 8)}`;
    await api.http().post('/api/credit/deny-list').set(bearer(admin)).send({ country: 'TW', nationalId: nationalId.toLowerCase(), reason: 'confirmed fraud' }).expect(201);
    await api.http().post('/api/credit/deny-list').set(bearer(admin)).send({ country: 'TW', nationalId, reason: 'again' }).expect(200);
    const app = await outcome(await submit(api, client, withApplicant({ nationalId })));
    expect(app).toMatchObject({ decision: 'declined', decidedBy: 'kyc', probabilityOfDefault: null, reasons: [{ code: 'K01', text: 'Unable to verify identity' }] });
  });

  it('is idempotent by key, and refuses the key with another body', async () => {
    const key = randomUUID();
    const body = withApplicant({});
    const first = await submit(api, client, body, key);
    const again = await submit(api, client, body, key);
    expect([first.status, again.status].every((s) => s === 201 || s === 202)).toBe(true);
    expect(again.body.id).toBe(first.body.id);
    const res = await submit(api, client, { ...body, requestedLimit: { amountMinor: 1, currency: 'TWD' } }, key).expect(422);
    expect(res.headers['content-type']).toMatch(/problem\+json/);
  });

  it('is read by the client that submitted it and by underwriters, not by another client or tenant', async () => {
    const res = await submit(api, client, withApplicant({}));
    expect([201, 202]).toContain(res.status);
    await api.http().get(`/api/credit/applications/${res.body.id}`).set(bearer(underwriter)).expect(200);
    await api.http().get(`/api/credit/applications/${res.body.id}`).set(bearer(otherClient)).expect(404);
    const mine = await api.http().get('/api/credit/applications').set(bearer(otherClient)).expect(200);
    expect(mine.body.data.map((a: { id: string }) => a.id)).not.toContain(res.body.id);
    const stranger = await registerTenant(api);
    await api.http().get(`/api/credit/applications/${res.body.id}`).set(bearer(stranger.admin.accessToken)).expect(404);
  });
});

describe('a bad application', () => {
  const cases: [string, object, string][] = [
    ['a negative credit limit', withProfile({ creditLimitMinor: -100 }), 'body.creditProfile.creditLimitMinor'],
    ['an unknown repayment status code', withProfile({ repaymentStatus: [12, 0, 0, 0, 0, 0] }), 'body.creditProfile.repaymentStatus.0'],
    ['a string where a number belongs', withProfile({ billAmountsMinor: [100, 'abc', 0, 0, 0, 0] }), 'body.creditProfile.billAmountsMinor.1'],
    ['NaN', withProfile({ creditLimitMinor: 'NaN' }), 'body.creditProfile.creditLimitMinor'],
    ['a fractional amount', withProfile({ paymentAmountsMinor: [0.5, 0, 0, 0, 0, 0] }), 'body.creditProfile.paymentAmountsMinor.0'],
    ['a negative payment', withProfile({ paymentAmountsMinor: [-1, 0, 0, 0, 0, 0] }), 'body.creditProfile.paymentAmountsMinor.0'],
    ['five months of history', withProfile({ repaymentStatus: [0, 0, 0, 0, 0] }), 'body.creditProfile.repaymentStatus'],
    ['a profile in another currency', withProfile({ currency: 'USD' }), 'body.creditProfile.currency'],
    ['a missing feature', withProfile({ creditLimitMinor: undefined }), 'body.creditProfile.creditLimitMinor'],
    ['a missing identity field', withApplicant({ nationalId: undefined }), 'body.applicant.nationalId'],
    ['a blank name', withApplicant({ familyName: '   ' }), 'body.applicant.familyName'],
    ['a date of birth in the future', withApplicant({ dateOfBirth: '2999-01-01' }), 'body.applicant.dateOfBirth'],
    ['a protected attribute', withProfile({ sex: 2 }), 'body.creditProfile'],
    ['an unknown requested currency', { ...EXAMPLE_APPLICATION, requestedLimit: { amountMinor: 100, currency: 'XXX' } }, 'body.requestedLimit.currency'],
  ];

  it.each(cases)('%s is a 400 naming the field, and nothing is started', async (_, body, field) => {
    const before = await applicationCount();
    const res = await submit(api, client, body).expect(400);
    expect(res.headers['content-type']).toMatch(/problem\+json/);
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(field);
    expect(await applicationCount()).toBe(before);
  });
});
