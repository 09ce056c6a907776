/**
 * A client acts on a payment (capture, cancel) while no payments worker runs: the worker was killed or is being
 * redeployed. The update cannot be accepted until a worker returns. The API must not answer 500: it waits for a
 * worker within the request, and when none comes back in time it says so (503 + Retry-After, problem+json), and
 * the same request repeated later does the thing once.
 */
import { randomUUID } from 'node:crypto';
import { createPool, type Pool } from '../../platform/db/pool';
import { apiKeyWithRole, bearer, registerTenant, startApi, type RegisteredTenant, type TestApi } from '../support/api';
import { testConfig } from '../support/env';
import { eventually } from '../support/eventually';
import { preparePaymentsWorker, type RunningWorker } from '../support/payments-worker';

const env = {
  TEMPORAL_TASK_QUEUE_PREFIX: `${testConfig().TEMPORAL_TASK_QUEUE_PREFIX}updates-down-`,
  PAYMENT_SYNC_WAIT_MS: '0',
  // How long a request waits for the update to be taken by a worker before it answers 503.
  WORKFLOW_UPDATE_WAIT_MS: '8000',
  LOG_LEVEL: 'error',
};
const cfg = testConfig(env);
const DEADLINE_MS = 120_000;
let api: TestApi;
let db: Pool;
let tenant: RegisteredTenant;
let clientKey: string;
let worker: RunningWorker | undefined;

async function startWorker() {
  worker = (await preparePaymentsWorker(cfg, db, api.deps.temporal)).run();
}

beforeAll(async () => {
  api = startApi(env);
  db = createPool(cfg.DATABASE_URL, 4);
  tenant = await registerTenant(api);
  clientKey = (await apiKeyWithRole(api, tenant, 'client')).key;
});

afterEach(async () => {
  await worker?.stop();
  worker = undefined;
});

afterAll(async () => {
  await db?.end();
  await api?.close();
});

async function authorisedManualPayment(): Promise<string> {
  const created = await api
    .http()
    .post('/api/payments')
    .set(bearer(clientKey))
    .set('Idempotency-Key', randomUUID())
    .send({ amountMinor: 5100, currency: 'EUR', customerId: 'cus_down', paymentMethod: 'pm_card_visa', captureMethod: 'manual' });
  expect([201, 202]).toContain(created.status);
  const id = created.body.id as string;
  await eventually('the payment to be authorised', async () => (await api.http().get(`/api/payments/${id}`).set(bearer(clientKey))).body.status === 'authorized', DEADLINE_MS);
  return id;
}

describe('payment updates while the payments worker is down', () => {
  it('captures once when the worker returns during the request, never answering 500', async () => {
    await startWorker();
    const id = await authorisedManualPayment();
    const next = await preparePaymentsWorker(cfg, db, api.deps.temporal); // built now: its start below takes no time from the request's wait
    await worker!.stop();
    worker = undefined;
    const capture = api.http().post(`/api/payments/${id}/capture`).set(bearer(clientKey)).then((r) => r);
    await new Promise((r) => setTimeout(r, 2000));
    worker = next.run();
    const res = await capture;
    expect({ status: res.status, type: res.headers['content-type'] }).toMatchObject({ status: 200 });
    expect(res.body.status).toBe('succeeded');
  }, 3 * DEADLINE_MS);

  it('answers 503 with Retry-After when no worker takes the capture in time; the capture then happens once', async () => {
    await startWorker();
    const id = await authorisedManualPayment();
    await worker!.stop();
    worker = undefined;
    // Bounded: before the fix the request hung for as long as the worker was away.
    const res = await api.http().post(`/api/payments/${id}/capture`).set(bearer(clientKey)).timeout(60_000);
    expect({ status: res.status, type: res.headers['content-type'], retryAfter: res.headers['retry-after'], problem: res.body.type }).toEqual({
      status: 503,
      type: 'application/problem+json',
      retryAfter: '5',
      problem: 'urn:finflow:problem:dependency-unavailable',
    });
    expect(res.body.detail).toMatch(/may still apply/);

    // The worker returns; the client repeats the request as told. Whichever of the two captures the worker takes
    // first applies; the other is refused or joins it. The money moves once.
    await startWorker();
    const again = await api.http().post(`/api/payments/${id}/capture`).set(bearer(clientKey)).timeout(60_000);
    expect([200, 409]).toContain(again.status);
    await eventually('the payment to succeed', async () => (await api.http().get(`/api/payments/${id}`).set(bearer(clientKey))).body.status === 'succeeded', DEADLINE_MS);
    const intents = await db.query<{ n: number; captured: string }>(
      'SELECT count(*)::int AS n, sum(amount_captured_minor)::text AS captured FROM provider_sandbox.intents WHERE payment_id = $1',
      [id],
    );
    expect(intents.rows[0]).toEqual({ n: 1, captured: '5100' });
    const third = await api.http().post(`/api/payments/${id}/capture`).set(bearer(clientKey));
    expect(third.status).toBe(409);
  }, 4 * DEADLINE_MS);
});
