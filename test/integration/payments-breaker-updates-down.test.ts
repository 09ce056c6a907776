/**
 * Capture and cancel of one authorised payment, both asked for. The first the saga takes wins; the other is refused
 * (409), never answered as applied:
 * - a capture sent while the cancellation is still releasing the authorisation at the provider (the saga's status
 *   still `authorized` meanwhile) was accepted, and answered 202 ("under way") or 200 with the payment `canceled`:
 *   a client reading the status code believes it captured the money;
 * - a client that changes its mind while no payments worker runs cancels (503: "it may still apply"), then captures
 *   (503 too): when a worker returns, the cancellation sent first wins, nothing is captured or booked, and the
 *   capture repeated afterwards is refused;
 * - the other way round (capture, then cancel, both 503), the capture sent first wins: before, both were accepted in
 *   the worker's first task and the cancellation won.
 */
import { randomUUID } from 'node:crypto';
import { createPool, withTenant, type Pool } from '../../platform/db/pool';
import { paymentProvider } from '../../workers/create-workers';
import { apiKeyWithRole, bearer, registerTenant, startApi, type RegisteredTenant, type TestApi } from '../support/api';
import { testConfig } from '../support/env';
import { eventually } from '../support/eventually';
import { preparePaymentsWorker, type RunningWorker } from '../support/payments-worker';

const env = {
  TEMPORAL_TASK_QUEUE_PREFIX: `${testConfig().TEMPORAL_TASK_QUEUE_PREFIX}breaker-down-`,
  PAYMENT_SYNC_WAIT_MS: '0',
  WORKFLOW_UPDATE_WAIT_MS: '4000',
  LOG_LEVEL: 'error',
};
const cfg = testConfig(env);
const DEADLINE_MS = 120_000;
let api: TestApi;
let db: Pool;
let tenant: RegisteredTenant;
let clientKey: string;
let worker: RunningWorker | undefined;

/** While set, the provider's cancel (the release of an authorisation) says it was reached, then waits to be let through. */
let gate: { reached: () => void; open: Promise<void> } | undefined;

async function startWorker() {
  const base = paymentProvider(cfg, db);
  const provider: typeof base = Object.create(base);
  provider.cancel = async (input) => {
    if (gate) {
      gate.reached();
      await gate.open;
    }
    return base.cancel(input);
  };
  worker = (await preparePaymentsWorker(cfg, db, api.deps.temporal, provider)).run();
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

const read = async (id: string) => (await api.http().get(`/api/payments/${id}`).set(bearer(clientKey))).body;
const post = (id: string, action: 'capture' | 'cancel') => api.http().post(`/api/payments/${id}/${action}`).set(bearer(clientKey)).timeout(60_000);

const authorisedManualPayment = async (amountMinor: number) => {
  const created = await api
    .http()
    .post('/api/payments')
    .set(bearer(clientKey))
    .set('Idempotency-Key', randomUUID())
    .send({ amountMinor, currency: 'EUR', customerId: 'cus_mind', paymentMethod: 'pm_card_visa', captureMethod: 'manual' });
  const id = created.body.id as string;
  await eventually('the payment to be authorised', async () => (await read(id)).status === 'authorized', DEADLINE_MS);
  return id;
};
const providerIntent = async (id: string) => (await db.query('SELECT status, amount_captured_minor FROM provider_sandbox.intents WHERE payment_id = $1', [id])).rows;
const entriesOf = (id: string) =>
  withTenant(db, tenant.tenantId, async (tx) => Number((await tx.query('SELECT count(*) FROM journal_entries WHERE source_id = $1', [id])).rows[0].count));

describe('a capture sent while the cancellation releases the authorisation', () => {
  it('is refused (409), not answered 200 with the payment cancelled', async () => {
    await startWorker();
    const id = await authorisedManualPayment(5300);
    let reached!: () => void;
    const cancelAtProvider = new Promise<void>((r) => (reached = r));
    let open!: () => void;
    gate = { reached, open: new Promise<void>((r) => (open = r)) };
    try {
      const cancel = post(id, 'cancel').then((r) => r);
      await cancelAtProvider;
      const capture = await post(id, 'capture');
      open();
      expect({ status: capture.status, type: capture.headers['content-type'] }).toEqual({ status: 409, type: 'application/problem+json' });
      expect((await cancel).status).toBe(200);
    } finally {
      open();
      gate = undefined;
    }
    expect(await read(id)).toMatchObject({ status: 'canceled', amountCapturedMinor: 0 });
    expect(await providerIntent(id)).toEqual([{ status: 'canceled', amount_captured_minor: '0' }]);
    expect(await entriesOf(id)).toBe(0);
  }, 3 * DEADLINE_MS);
});

describe('a cancellation and then a capture sent while no payments worker runs', () => {
  it('apply as the cancellation: the authorisation released, nothing captured or booked, the capture refused when repeated', async () => {
    await startWorker();
    const id = await authorisedManualPayment(5200);
    await worker!.stop();
    worker = undefined;

    const cancel = await post(id, 'cancel');
    const capture = await post(id, 'capture');
    expect([cancel.status, capture.status]).toEqual([503, 503]);

    await startWorker();
    await eventually('the payment to end', async () => ['canceled', 'succeeded'].includes((await read(id)).status), DEADLINE_MS);
    expect(await read(id)).toMatchObject({ status: 'canceled', amountCapturedMinor: 0 });
    expect(await providerIntent(id)).toEqual([{ status: 'canceled', amount_captured_minor: '0' }]);
    expect(await entriesOf(id)).toBe(0);
    const again = await post(id, 'capture');
    expect(again.status).toBe(409);
  }, 4 * DEADLINE_MS);
});

describe('a capture and then a cancellation sent while no payments worker runs', () => {
  it('apply as the capture: captured and booked once, the cancellation refused when repeated', async () => {
    await startWorker();
    const id = await authorisedManualPayment(5400);
    await worker!.stop();
    worker = undefined;

    const capture = await post(id, 'capture');
    const cancel = await post(id, 'cancel');
    expect([capture.status, cancel.status]).toEqual([503, 503]);

    await startWorker();
    await eventually('the payment to end', async () => ['canceled', 'succeeded'].includes((await read(id)).status), DEADLINE_MS);
    expect(await read(id)).toMatchObject({ status: 'succeeded', amountCapturedMinor: 5400 });
    expect(await providerIntent(id)).toEqual([{ status: 'succeeded', amount_captured_minor: '5400' }]);
    expect(await entriesOf(id)).toBe(1);
    expect((await post(id, 'cancel')).status).toBe(409);
  }, 4 * DEADLINE_MS);
});
