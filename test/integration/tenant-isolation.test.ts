/**
 * Over HTTP, a credential of tenant A never reads or changes tenant B's data. Every route that takes an id is
 * tried with an id of B's, on a resource in a state where the call would change it: 404, and B sees it as before.
 * The file runs its own workers on private task queues, so B's resources reach those states and stay there.
 */
import { randomUUID } from 'node:crypto';
import type { NativeConnection, Worker } from '@temporalio/worker';
import { apiRoutes } from '../../api/app';
import { EXAMPLE_APPLICATION } from '../../api/credit/routes';
import { createPool, type Pool } from '../../platform/db/pool';
import { connectWorker, createWorkers, workerDeps } from '../../workers/create-workers';
import { apiKeyWithRole, bearer, registerTenant, startApi, userWithRole, type RegisteredTenant, type TestApi } from '../support/api';
import { testConfig } from '../support/env';
import { eventually } from '../support/eventually';

const overrides = {
  TEMPORAL_TASK_QUEUE_PREFIX: `${process.env.TEMPORAL_TASK_QUEUE_PREFIX}isolation-${randomUUID().slice(0, 8)}-`,
  // Every scored application waits for an underwriter.
  CREDIT_APPROVE_BELOW_PD: '0.00001',
  CREDIT_DECLINE_AT_OR_ABOVE_PD: '0.99999',
};
const cfg = testConfig(overrides);
const DEADLINE_MS = 60_000;

let api: TestApi;
let db: Pool;
let connection: NativeConnection;
let workers: Worker[];
let runs: Promise<void>[];
let a: RegisteredTenant;
let b: RegisteredTenant;
let bKey: { id: string; key: string };
/** B's resources, each in a state where the call under test would change it. */
const bOwns = {} as { inReview: string; authorized: string; succeeded: string; application: string; denied: string; deniedIdentity: object; draft: string; cash: string; invoice: string };

beforeAll(async () => {
  api = startApi(overrides);
  db = createPool(cfg.DATABASE_URL, 4);
  connection = await connectWorker(cfg);
  workers = await createWorkers(cfg, connection, await workerDeps(cfg, db, ['payments', 'credit', 'invoices']), ['payments', 'credit', 'invoices']);
  runs = workers.map((w) => w.run());
  [a, b] = [await registerTenant(api), await registerTenant(api)];
  bKey = await apiKeyWithRole(api, b, 'client');
  await userWithRole(api, b, 'finance');

  const asB = bearer(bKey.key);
  const pay = async (body: object) =>
    (await api.http().post('/api/payments').set(asB).set('Idempotency-Key', randomUUID()).send({ currency: 'EUR', customerId: 'cus_b', paymentMethod: 'pm_card_visa', ...body }))
      .body.id as string;
  bOwns.inReview = await pay({ amountMinor: cfg.RISK_REVIEW_AMOUNT_MINOR });
  bOwns.authorized = await pay({ amountMinor: 500, captureMethod: 'manual' });
  bOwns.succeeded = await pay({ amountMinor: 700 });
  bOwns.application = (await api.http().post('/api/credit/applications').set(asB).set('Idempotency-Key', randomUUID()).send(EXAMPLE_APPLICATION)).body.id;
  bOwns.deniedIdentity = { country: 'TW', nationalId: `B${randomUUID().slice(0, 8)}`, reason: 'fraud' };
  bOwns.denied = (await api.http().post('/api/credit/deny-list').set(bearer(b.admin.accessToken)).send(bOwns.deniedIdentity).expect(201)).body.id;
  bOwns.draft = (
    await api
      .http()
      .post('/api/accounting/drafts')
      .set(bearer(b.admin.accessToken))
      .send({ accountingDate: '2025-01-31', description: 'B only', postings: [{ accountCode: '1000', currency: 'EUR', amountMinor: 100 }, { accountCode: '4000', currency: 'EUR', amountMinor: -100 }] })
      .expect(201)
  ).body.id;
  const bChart = (await api.http().get('/api/accounting/accounts').set(bearer(b.admin.accessToken)).expect(200)).body.data as { id: string; code: string }[];
  bOwns.cash = bChart.find((x) => x.code === '1000')!.id;
  const invoice = await api
    .http()
    .post('/api/invoices')
    .set(bearer(b.admin.accessToken))
    .set('Idempotency-Key', randomUUID())
    .send({ customerId: 'cus_b', currency: 'EUR', lines: [{ description: 'B only', quantity: 1, unitPriceMinor: 1000, taxRateBp: 0 }] })
    .expect(201);
  bOwns.invoice = (await api.http().post(`/api/invoices/${invoice.body.id}/issue`).set(bearer(b.admin.accessToken)).expect(200)).body.id;

  const statusOf = async (path: string) => (await api.http().get(path).set(bearer(b.admin.accessToken))).body.status;
  for (const [path, status] of [
    [`/api/payments/${bOwns.inReview}`, 'in_review'],
    [`/api/payments/${bOwns.authorized}`, 'authorized'],
    [`/api/payments/${bOwns.succeeded}`, 'succeeded'],
    [`/api/credit/applications/${bOwns.application}`, 'in_review'],
  ] as const) {
    await eventually(`${path} ${status}`, async () => (await statusOf(path)) === status, DEADLINE_MS);
  }
}, 4 * DEADLINE_MS);

afterAll(async () => {
  for (const w of workers ?? []) w.shutdown();
  await Promise.all(runs ?? []);
  await connection?.close();
  await api.close();
  await db.end();
});

/** What B sees of a resource: compared whole before and after A's attempt. */
const asSeenByB = async (path: string) => (await api.http().get(path).set(bearer(b.admin.accessToken)).expect(200)).body;

async function expectNotFoundForA(req: ReturnType<ReturnType<TestApi['http']>['get']>) {
  const res = await req.set(bearer(a.admin.accessToken));
  expect(`${res.status} ${res.body.type}`).toBe('404 urn:finflow:problem:not-found');
}

describe('tenant isolation', () => {
  it("lists only the caller's users and API keys", async () => {
    const users = await api.http().get('/api/users').set(bearer(a.admin.accessToken)).expect(200);
    expect(users.body.data.map((u: { email: string }) => u.email)).toEqual([a.adminEmail]);
    const keys = await api.http().get('/api/api-keys').set(bearer(a.admin.accessToken)).expect(200);
    expect(keys.body.data).toEqual([]);
  });

  it("sees its own tenant through /api/me, whichever credential B's data would suggest", async () => {
    const asA = await api.http().get('/api/me').set(bearer(a.admin.accessToken)).expect(200);
    expect(asA.body.tenant.id).toBe(a.tenantId);
    const asBKey = await api.http().get('/api/me').set(bearer(bKey.key)).expect(200);
    expect(asBKey.body.tenant.id).toBe(b.tenantId);
  });

  it('cannot smuggle a tenant id through the body or query', async () => {
    const res = await api.http().post('/api/users/invitations').set(bearer(a.admin.accessToken)).send({ email: 'x@y.test', role: 'ops', tenantId: b.tenantId }).expect(400);
    expect(res.body.errors).toEqual([expect.objectContaining({ path: 'body' })]);
    const users = await api.http().get(`/api/users?tenantId=${b.tenantId}`).set(bearer(a.admin.accessToken)).expect(200);
    expect(users.body.data.every((u: { email: string }) => u.email.endsWith(`${a.slug}.test`))).toBe(true);
  });
});

describe("another tenant's id", () => {
  /** Every tenant route with an id, and the test below that tries it (the smoke probe is the platform operators'). */
  const COVERED = [
    'DELETE /api/api-keys/:id',
    'PATCH /api/users/:id',
    'GET /api/payments/:id',
    'POST /api/payments/:id/capture',
    'POST /api/payments/:id/cancel',
    'POST /api/payments/:id/review',
    'POST /api/payments/:id/refunds',
    'GET /api/credit/applications/:id',
    'GET /api/credit/applications/:id/applicant',
    'POST /api/credit/applications/:id/decision',
    'DELETE /api/credit/deny-list/:id',
    'POST /api/accounting/drafts/:id/approve',
    'POST /api/accounting/drafts/:id/reject',
    'GET /api/accounting/reports/accounts/:id/ledger',
    'GET /api/invoices/:id',
    'GET /api/invoices/:id/document',
    'PATCH /api/invoices/:id',
    'POST /api/invoices/:id/issue',
    'POST /api/invoices/:id/void',
    'POST /api/invoices/:id/write-off',
    'POST /api/invoices/:id/payments',
    'POST /api/invoices/:id/credit-notes',
    'POST /api/invoices/:id/apply-credit',
  ];

  it('is tried on every route that takes one', () => {
    const withIds = apiRoutes(api.deps)
      .filter((r) => r.path.includes(':id') && r.access !== 'operator')
      .map((r) => `${r.method.toUpperCase()} ${r.path}`);
    expect(withIds.sort()).toEqual([...COVERED].sort());
  });

  it("cannot change or disable B's people: 404, and they keep their role and status", async () => {
    const users = async () => (await api.http().get('/api/users').set(bearer(b.admin.accessToken)).expect(200)).body.data;
    const before = await users();
    for (const user of before) {
      await expectNotFoundForA(api.http().patch(`/api/users/${user.id}`).send({ status: 'disabled', role: 'client' }));
    }
    expect(await users()).toEqual(before);
    await api.http().get('/api/me').set(bearer(b.admin.accessToken)).expect(200);
  });

  it("cannot revoke B's API key: 404, and the key keeps working", async () => {
    await expectNotFoundForA(api.http().delete(`/api/api-keys/${bKey.id}`));
    await api.http().get('/api/me').set(bearer(bKey.key)).expect(200);
    const keys = await api.http().get('/api/api-keys').set(bearer(b.admin.accessToken)).expect(200);
    expect(keys.body.data).toEqual([expect.objectContaining({ id: bKey.id, revokedAt: null })]);
  });

  it("cannot read or list B's payments", async () => {
    await expectNotFoundForA(api.http().get(`/api/payments/${bOwns.succeeded}`));
    const listed = await api.http().get('/api/payments').set(bearer(a.admin.accessToken)).expect(200);
    expect(listed.body.data).toEqual([]);
  });

  it.each(['capture', 'cancel'])("cannot %s B's authorised payment: 404, and it stays authorised", async (action) => {
    const before = await asSeenByB(`/api/payments/${bOwns.authorized}`);
    expect(before.status).toBe('authorized');
    await expectNotFoundForA(api.http().post(`/api/payments/${bOwns.authorized}/${action}`));
    expect(await asSeenByB(`/api/payments/${bOwns.authorized}`)).toEqual(before);
  });

  it("cannot decide B's payment review: 404, and it stays in review", async () => {
    const before = await asSeenByB(`/api/payments/${bOwns.inReview}`);
    expect(before.status).toBe('in_review');
    await expectNotFoundForA(api.http().post(`/api/payments/${bOwns.inReview}/review`).send({ decision: 'approve' }));
    expect(await asSeenByB(`/api/payments/${bOwns.inReview}`)).toEqual(before);
  });

  it("cannot read, change, pay, credit, void or write off B's invoice: 404, and it stays as it was", async () => {
    const path = `/api/invoices/${bOwns.invoice}`;
    const before = await asSeenByB(path);
    expect(before.status).toBe('issued');
    await expectNotFoundForA(api.http().get(path));
    await expectNotFoundForA(api.http().get(`${path}/document`));
    await expectNotFoundForA(api.http().patch(path).send({ note: 'A was here' }));
    for (const action of ['issue', 'void', 'write-off']) await expectNotFoundForA(api.http().post(`${path}/${action}`));
    await expectNotFoundForA(api.http().post(`${path}/payments`).set('Idempotency-Key', randomUUID()).send({ amountMinor: 1000, method: 'cash' }));
    await expectNotFoundForA(api.http().post(`${path}/credit-notes`).set('Idempotency-Key', randomUUID()).send({ amountMinor: 1000 }));
    await expectNotFoundForA(api.http().post(`${path}/apply-credit`).set('Idempotency-Key', randomUUID()));
    expect(await asSeenByB(path)).toEqual(before);
    expect((await api.http().get('/api/invoices').set(bearer(a.admin.accessToken)).expect(200)).body.data).toEqual([]);
  });

  it("cannot refund B's payment: 404, and nothing is refunded", async () => {
    const before = await asSeenByB(`/api/payments/${bOwns.succeeded}`);
    expect(before).toMatchObject({ status: 'succeeded', amountRefundedMinor: 0 });
    await expectNotFoundForA(api.http().post(`/api/payments/${bOwns.succeeded}/refunds`).set('Idempotency-Key', randomUUID()).send({}));
    expect(await asSeenByB(`/api/payments/${bOwns.succeeded}`)).toEqual(before);
  });

  it("cannot read, list or decide B's credit application, or read its applicant: 404, and it stays in review", async () => {
    const before = await asSeenByB(`/api/credit/applications/${bOwns.application}`);
    expect(before).toMatchObject({ status: 'in_review', decision: null });
    await expectNotFoundForA(api.http().get(`/api/credit/applications/${bOwns.application}`));
    await expectNotFoundForA(api.http().get(`/api/credit/applications/${bOwns.application}/applicant`));
    const listed = await api.http().get('/api/credit/applications').set(bearer(a.admin.accessToken)).expect(200);
    expect(listed.body.data).toEqual([]);
    await expectNotFoundForA(api.http().post(`/api/credit/applications/${bOwns.application}/decision`).send({ decision: 'approve', approvedLimitMinor: 1_000_000 }));
    expect(await asSeenByB(`/api/credit/applications/${bOwns.application}`)).toEqual(before);
  });

  it("cannot remove B's deny-list entry: 404, and the entry stays", async () => {
    await expectNotFoundForA(api.http().delete(`/api/credit/deny-list/${bOwns.denied}`));
    // Listing the same identity again finds B's entry still there.
    const again = await api.http().post('/api/credit/deny-list').set(bearer(b.admin.accessToken)).send(bOwns.deniedIdentity).expect(200);
    expect(again.body.id).toBe(bOwns.denied);
  });

  it("cannot approve or reject B's manual entry draft: 404, and it stays a draft", async () => {
    const drafts = async () => (await api.http().get('/api/accounting/drafts').set(bearer(b.admin.accessToken)).expect(200)).body.data;
    const before = await drafts();
    expect(before).toEqual([expect.objectContaining({ id: bOwns.draft, status: 'draft' })]);
    await expectNotFoundForA(api.http().post(`/api/accounting/drafts/${bOwns.draft}/approve`));
    await expectNotFoundForA(api.http().post(`/api/accounting/drafts/${bOwns.draft}/reject`).send({ reason: 'not yours' }));
    expect(await drafts()).toEqual(before);
  });

  it("cannot read B's account ledger, nor find B's draft in its own lists", async () => {
    await expectNotFoundForA(api.http().get(`/api/accounting/reports/accounts/${bOwns.cash}/ledger?from=2025-01-01&to=2025-12-31`));
    const mine = await api.http().get('/api/accounting/drafts').set(bearer(a.admin.accessToken)).expect(200);
    expect(mine.body.data).toEqual([]);
  });
});
