/**
 * Separation of duties over HTTP (issue 13.5): nobody checks what they made (an AML-held payment, a credit
 * application, a journal draft), not even through an API key of their own; a client's credentials see only the
 * payments they (or the person who made the key) created; and an Idempotency-Key belongs to its caller, so another
 * caller can neither probe it nor get the first caller's payment with it. The file runs its own workers on private
 * task queues.
 */
import { randomUUID } from 'node:crypto';
import type { NativeConnection, Worker } from '@temporalio/worker';
import { EXAMPLE_APPLICATION } from '../../api/credit/routes';
import { createPool, type Pool } from '../../platform/db/pool';
import { connectWorker, createWorkers, workerDeps } from '../../workers/create-workers';
import { apiKeyWithRole, bearer, registerTenant, startApi, userWithRole, type RegisteredTenant, type TestApi } from '../support/api';
import { testConfig } from '../support/env';
import { eventually } from '../support/eventually';

const overrides = {
  TEMPORAL_TASK_QUEUE_PREFIX: `${process.env.TEMPORAL_TASK_QUEUE_PREFIX}duties-${randomUUID().slice(0, 8)}-`,
  // Every scored application waits for an underwriter.
  CREDIT_APPROVE_BELOW_PD: '0.00001',
  // A review is answered once the saga has moved the payment on; a generous wait on a loaded machine.
  PAYMENT_SYNC_WAIT_MS: '30000',
  CREDIT_DECLINE_AT_OR_ABOVE_PD: '0.99999',
};
const cfg = testConfig(overrides);
const DEADLINE_MS = 60_000;

let api: TestApi;
let db: Pool;
let connection: NativeConnection;
let workers: Worker[];
let runs: Promise<void>[];
let t: RegisteredTenant;
/** Credentials of one tenant: the admin (every permission), its keys, and people of other roles. */
const as = {} as { admin: string; adminClientKey: string; otherClientKey: string; clientUser: string; ops: string; underwriter: string; finance: string };

beforeAll(async () => {
  api = startApi(overrides);
  db = createPool(cfg.DATABASE_URL, 4);
  connection = await connectWorker(cfg);
  workers = await createWorkers(cfg, connection, await workerDeps(cfg, db, ['payments', 'credit']), ['payments', 'credit']);
  runs = workers.map((w) => w.run());
  t = await registerTenant(api);
  as.admin = t.admin.accessToken;
  as.adminClientKey = (await apiKeyWithRole(api, t, 'client')).key;
  as.otherClientKey = (await apiKeyWithRole(api, t, 'client')).key;
  as.clientUser = await userWithRole(api, t, 'client');
  as.ops = await userWithRole(api, t, 'ops');
  as.underwriter = await userWithRole(api, t, 'underwriter');
  as.finance = await userWithRole(api, t, 'finance');
}, 2 * DEADLINE_MS);

afterAll(async () => {
  for (const w of workers ?? []) w.shutdown();
  await Promise.all(runs ?? []);
  await connection?.close();
  await api?.close();
  await db?.end();
});

const pay = async (token: string, body: object = {}, key: string = randomUUID()) =>
  api
    .http()
    .post('/api/payments')
    .set(bearer(token))
    .set('Idempotency-Key', key)
    .send({ amountMinor: 700, currency: 'EUR', customerId: 'cus_duties', paymentMethod: 'pm_card_visa', ...body });
const statusOf = async (path: string) => (await api.http().get(path).set(bearer(as.admin)).expect(200)).body.status as string;
const awaitStatus = (path: string, status: string) => eventually(`${path} ${status}`, async () => (await statusOf(path)) === status, DEADLINE_MS);

async function heldPayment(token: string): Promise<string> {
  const created = await pay(token, { amountMinor: cfg.RISK_REVIEW_AMOUNT_MINOR });
  expect([201, 202]).toContain(created.status);
  await awaitStatus(`/api/payments/${created.body.id}`, 'in_review');
  return created.body.id as string;
}

const problem = (res: { status: number; body: { type?: string }; headers: Record<string, string> }) =>
  `${res.status} ${res.body.type} ${res.headers['content-type']?.split(';')[0]}`;
const FORBIDDEN = '403 urn:finflow:problem:forbidden application/problem+json';

describe('an AML-held payment', () => {
  it('cannot be approved by the person who created it: 403, still held; another reviewer approves it, answered once the saga moved on', async () => {
    const id = await heldPayment(as.admin);
    const own = await api.http().post(`/api/payments/${id}/review`).set(bearer(as.admin)).send({ decision: 'approve' });
    expect(problem(own)).toBe(FORBIDDEN);
    expect(await statusOf(`/api/payments/${id}`)).toBe('in_review');
    const approved = await api.http().post(`/api/payments/${id}/review`).set(bearer(as.ops)).send({ decision: 'approve' }).expect(200);
    expect(approved.body.status).not.toBe('in_review');
    await awaitStatus(`/api/payments/${id}`, 'succeeded');
  }, 3 * DEADLINE_MS);

  it("cannot be approved by the person whose API key created it, nor rejected (a checker's decision either way)", async () => {
    const id = await heldPayment(as.adminClientKey);
    for (const decision of ['approve', 'reject']) {
      const own = await api.http().post(`/api/payments/${id}/review`).set(bearer(as.admin)).send({ decision });
      expect({ decision, problem: problem(own) }).toEqual({ decision, problem: FORBIDDEN });
    }
    expect(await statusOf(`/api/payments/${id}`)).toBe('in_review');
  }, 3 * DEADLINE_MS);
});

describe('a credit application in review', () => {
  it('cannot be decided by the person who submitted it: 403, still in review; an underwriter decides it', async () => {
    const created = await api.http().post('/api/credit/applications').set(bearer(as.admin)).set('Idempotency-Key', randomUUID()).send(EXAMPLE_APPLICATION);
    expect([201, 202]).toContain(created.status);
    const path = `/api/credit/applications/${created.body.id}`;
    await awaitStatus(path, 'in_review');
    const own = await api.http().post(`${path}/decision`).set(bearer(as.admin)).send({ decision: 'approve' });
    expect(problem(own)).toBe(FORBIDDEN);
    expect(await statusOf(path)).toBe('in_review');
    await api.http().post(`${path}/decision`).set(bearer(as.underwriter)).send({ decision: 'decline' }).expect(200);
    expect(await statusOf(path)).toBe('declined');
  }, 3 * DEADLINE_MS);
});

describe('a journal draft', () => {
  it('cannot be approved by the principal that made it (four eyes): 403, still a draft', async () => {
    const draft = await api
      .http()
      .post('/api/accounting/drafts')
      .set(bearer(as.admin))
      .send({ accountingDate: '2025-01-31', description: 'four eyes', postings: [{ accountCode: '1000', currency: 'EUR', amountMinor: 100 }, { accountCode: '4000', currency: 'EUR', amountMinor: -100 }] })
      .expect(201);
    const own = await api.http().post(`/api/accounting/drafts/${draft.body.id}/approve`).set(bearer(as.admin)).send({});
    expect(problem(own)).toBe(FORBIDDEN);
    expect(own.body.reason).toBe('four-eyes');
    const drafts = await api.http().get('/api/accounting/drafts').set(bearer(as.admin)).expect(200);
    expect(drafts.body.data.find((d: { id: string }) => d.id === draft.body.id)).toMatchObject({ status: 'draft' });
  });
});

describe("a client's payments", () => {
  it('are seen by the client that created them (and by the person whose key it is), by readers of every payment, and by no other client', async () => {
    const mine = (await pay(as.otherClientKey)).body.id as string;
    const admins = (await pay(as.admin)).body.id as string;
    const viaAdminsKey = (await pay(as.adminClientKey)).body.id as string;
    const ids = [mine, admins, viaAdminsKey];
    const visible = async (token: string) => {
      const listed = new Set<string>();
      for (let cursor: string | null = null, first = true; first || cursor; first = false) {
        const res: { body: { data: { id: string }[]; nextCursor: string | null } } = await api.http().get(`/api/payments?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`).set(bearer(token)).expect(200);
        for (const p of res.body.data) listed.add(p.id);
        cursor = res.body.nextCursor;
      }
      const got = [];
      for (const id of ids) got.push((await api.http().get(`/api/payments/${id}`).set(bearer(token))).status);
      return { listed: ids.filter((id) => listed.has(id)), got };
    };
    // Each key sees its own payments and those of the person who made it (the admin made both), not the other key's.
    expect(await visible(as.otherClientKey)).toEqual({ listed: [mine, admins], got: [200, 200, 404] });
    expect(await visible(as.adminClientKey)).toEqual({ listed: [admins, viaAdminsKey], got: [404, 200, 200] });
    expect(await visible(as.clientUser)).toEqual({ listed: [], got: [404, 404, 404] });
    expect(await visible(as.finance)).toEqual({ listed: ids, got: [200, 200, 200] });
    expect(await visible(as.ops)).toEqual({ listed: ids, got: [200, 200, 200] });
    // Nor may another client act on one: its refund is as absent as its payment.
    await awaitStatus(`/api/payments/${mine}`, 'succeeded');
    const refund = await api.http().post(`/api/payments/${mine}/refunds`).set(bearer(as.clientUser)).set('Idempotency-Key', randomUUID()).send({});
    expect(refund.status).toBe(404);
  }, 3 * DEADLINE_MS);
});

describe('an Idempotency-Key', () => {
  it("is the caller's own: another client reusing it, with another request or the same one, gets a payment of its own", async () => {
    const key = `shared-${randomUUID()}`;
    const first = await pay(as.otherClientKey, { amountMinor: 701 }, key);
    expect([201, 202]).toContain(first.status);
    // Another request under the key: no 422 telling the second caller the key is taken.
    const other = await pay(as.clientUser, { amountMinor: 999 }, key);
    expect({ status: other.status, sameId: other.body.id === first.body.id }).toEqual({ status: other.status === 202 ? 202 : 201, sameId: false });
    expect(other.body.amountMinor).toBe(999);
    // The very same request: not the first caller's payment.
    const same = await pay(as.adminClientKey, { amountMinor: 701 }, key);
    expect([201, 202]).toContain(same.status);
    expect(same.body.id).not.toBe(first.body.id);
    // The first caller still repeats its own request to its own payment, and is refused another request under it.
    expect((await pay(as.otherClientKey, { amountMinor: 701 }, key)).body.id).toBe(first.body.id);
    expect((await pay(as.otherClientKey, { amountMinor: 702 }, key)).status).toBe(422);
  }, 3 * DEADLINE_MS);

  it("is the caller's own for credit applications too", async () => {
    const key = `shared-${randomUUID()}`;
    const first = await api.http().post('/api/credit/applications').set(bearer(as.otherClientKey)).set('Idempotency-Key', key).send(EXAMPLE_APPLICATION);
    expect([201, 202]).toContain(first.status);
    const changed = { ...EXAMPLE_APPLICATION, requestedLimit: { ...EXAMPLE_APPLICATION.requestedLimit, amountMinor: 4_000_000 } };
    const other = await api.http().post('/api/credit/applications').set(bearer(as.clientUser)).set('Idempotency-Key', key).send(changed);
    expect({ status: [201, 202].includes(other.status), sameId: other.body.id === first.body.id }).toEqual({ status: true, sameId: false });
  }, 3 * DEADLINE_MS);
});
