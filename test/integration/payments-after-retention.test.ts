/**
 * The same request after Temporal has forgotten the workflow (its history deleted, as retention does a week after it
 * closed): the database row is the truth. A repeat of a final payment answers it as it is and starts no saga, charges
 * nothing; a repeat of a finished refund answers it as it is and pays nothing out. Retention is simulated by deleting
 * the closed execution (DeleteWorkflowExecution), the very thing retention does.
 *
 * The file owns its task queues (only its worker, with a fault-injecting provider, runs them) and its tenant.
 */
import { randomUUID } from 'node:crypto';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import type { Response } from 'supertest';
import { createRefundActivities, FaultInjectingProvider } from '../../activities/payments';
import { createPool, withTenant, type Pool } from '../../platform/db/pool';
import { accountBalance } from '../../platform/ledger';
import { connectWorker, createWorkers, paymentProvider, riskPolicy } from '../../workers/create-workers';
import { paymentWorkflowId } from '../../workflows/payments/payment.contract';
import { refundWorkflowId } from '../../workflows/payments/refund.contract';
import { apiKeyWithRole, bearer, registerTenant, settledResource, startApi, type RegisteredTenant, type TestApi } from '../support/api';
import { testConfig } from '../support/env';
import { eventually } from '../support/eventually';

const base = testConfig();
const env = { TEMPORAL_TASK_QUEUE_PREFIX: `${base.TEMPORAL_TASK_QUEUE_PREFIX}after-retention-`, PAYMENT_SYNC_WAIT_MS: '30000' };
const cfg = testConfig(env);
let api: TestApi;
let db: Pool;
let provider: FaultInjectingProvider;
let worker: Worker;
let running: Promise<void>;
let closeConnection: () => Promise<void>;
let tenant: RegisteredTenant;
let clientKey: string;

beforeAll(async () => {
  api = startApi(env);
  db = createPool(cfg.DATABASE_URL, 4);
  provider = new FaultInjectingProvider(paymentProvider(cfg, db));
  const connection = await connectWorker(cfg);
  closeConnection = () => connection.close();
  worker = (await createWorkers(cfg, connection, { db, provider, risk: riskPolicy(cfg) }, ['payments']))[0]!;
  running = worker.run();
  tenant = await registerTenant(api);
  clientKey = (await apiKeyWithRole(api, tenant, 'finance')).key;
});

afterAll(async () => {
  worker?.shutdown();
  await running;
  await closeConnection?.();
  await db?.end();
  await api?.close();
});

const body = (overrides: object = {}) => ({ amountMinor: 2500, currency: 'EUR', customerId: `cus_${randomUUID().slice(0, 8)}`, paymentMethod: 'pm_card_visa', ...overrides });
const pay = (key: string, b: object) => api.http().post('/api/payments').set(bearer(clientKey)).set('Idempotency-Key', key).send(b);
const refund = (paymentId: string, key: string, b: object) => api.http().post(`/api/payments/${paymentId}/refunds`).set(bearer(clientKey)).set('Idempotency-Key', key).send(b);
const payment = async (id: string) => (await api.http().get(`/api/payments/${id}`).set(bearer(clientKey)).expect(200)).body;
/** A loaded machine may answer 202: the outcome is then read from the payment until it is final. */
const final = (res: Response) => settledResource(api, clientKey, res, (p) => ['succeeded', 'failed'].includes(p.status), 120_000);
/** A refund's outcome: the answer when it came within the wait, else its row once final (and its workflow closed). */
async function refundOutcome(res: Response): Promise<{ refundId: string; amountMinor: number; status: string }> {
  expect([201, 202]).toContain(res.status);
  const { refundId, amountMinor } = res.body;
  if (res.status === 201) return res.body;
  await api.deps.temporal.workflow.getHandle(refundWorkflowId(tenant.tenantId, refundId)).result();
  const { rows } = await withTenant(db, tenant.tenantId, (tx) => tx.query<{ status: string }>('SELECT status FROM payment_refunds WHERE id = $1', [refundId]));
  return { refundId, amountMinor, status: rows[0]!.status };
}

/** Deletes a closed execution, as the namespace's retention does, and waits until Temporal no longer knows it. */
async function forget(workflowId: string) {
  const client = api.deps.temporal;
  // The row is final a moment before the execution closes: retention only ever deletes closed ones.
  await client.workflow.getHandle(workflowId).result().catch(() => undefined);
  expect((await client.workflow.getHandle(workflowId).describe()).status.name).not.toBe('RUNNING');
  await client.workflowService.deleteWorkflowExecution({ namespace: cfg.TEMPORAL_NAMESPACE, workflowExecution: { workflowId } });
  await eventually(`${workflowId} to be deleted`, () => isUnknown(workflowId), 60_000);
}
const isUnknown = (workflowId: string) =>
  api.deps.temporal.workflow
    .getHandle(workflowId)
    .describe()
    .then(
      () => false,
      (err: unknown) => err instanceof WorkflowNotFoundError,
    );

/** What the provider did for a payment, from its own records: charges taken, refunds paid out. */
async function atProvider(paymentId: string) {
  const intents = await db.query<{ n: number; captured: string | null }>(
    'SELECT count(*)::int AS n, sum(amount_captured_minor)::text AS captured FROM provider_sandbox.intents WHERE payment_id = $1',
    [paymentId],
  );
  const refunds = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM provider_sandbox.refunds WHERE payment_id = $1', [paymentId]);
  return { intents: intents.rows[0]!.n, capturedMinor: Number(intents.rows[0]!.captured ?? 0), refunds: refunds.rows[0]!.n };
}
const entriesFor = (sourceId: string) =>
  withTenant(db, tenant.tenantId, async (tx) => (await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM journal_entries WHERE source_id = $1', [sourceId])).rows[0]!.n);

describe('a repeated request after the workflow history is gone', () => {
  it('answers a succeeded payment as it is: no second saga, no second charge, one ledger entry', async () => {
    const key = randomUUID();
    const b = body();
    const first = { body: await final(await pay(key, b)) };
    expect(first.body.status).toBe('succeeded');
    const sagaId = paymentWorkflowId(tenant.tenantId, first.body.id);
    await forget(sagaId);

    const again = await pay(key, b);
    expect(again.status).toBe(201);
    expect(again.body).toMatchObject({ id: first.body.id, status: 'succeeded', amountCapturedMinor: 2500 });
    expect(await isUnknown(sagaId)).toBe(true); // no saga was started again
    expect(await atProvider(first.body.id)).toEqual({ intents: 1, capturedMinor: 2500, refunds: 0 });
    expect(provider.callsFor(first.body.id).authorize).toBe(1);
    expect(await entriesFor(first.body.id)).toBe(1);
    expect(await payment(first.body.id)).toMatchObject({ status: 'succeeded', amountCapturedMinor: 2500, amountRefundedMinor: 0 });
  });

  it('answers a declined payment as failed: no second saga, no second authorisation', async () => {
    const key = randomUUID();
    const b = body({ paymentMethod: 'pm_card_chargeDeclined' });
    const first = { body: await final(await pay(key, b)) };
    expect(first.body).toMatchObject({ status: 'failed' });
    const sagaId = paymentWorkflowId(tenant.tenantId, first.body.id);
    await forget(sagaId);

    const again = await pay(key, b);
    expect(again.status).toBe(201);
    expect(again.body).toMatchObject({ id: first.body.id, status: 'failed', failureCode: first.body.failureCode });
    expect(await isUnknown(sagaId)).toBe(true);
    expect(provider.callsFor(first.body.id).authorize).toBe(1);
    expect((await atProvider(first.body.id)).capturedMinor).toBe(0);
  });

  it('answers a succeeded refund as it is: no second refund workflow, one payout, booked once', async () => {
    const paid = await final(await pay(randomUUID(), body()));
    expect(paid.status).toBe('succeeded');
    const booked = await withTenant(db, tenant.tenantId, (tx) => accountBalance(tx, 'refunds', 'EUR'));
    const key = randomUUID();
    const first = { body: await refundOutcome(await refund(paid.id, key, { amountMinor: 700 })) };
    expect(first.body).toMatchObject({ amountMinor: 700, status: 'succeeded' });
    const refundFlow = refundWorkflowId(tenant.tenantId, first.body.refundId);
    await forget(refundFlow);

    const again = await refund(paid.id, key, { amountMinor: 700 });
    expect({ status: again.status, body: again.body }).toEqual({ status: 201, body: first.body });
    expect(await isUnknown(refundFlow)).toBe(true);
    expect((await atProvider(paid.id)).refunds).toBe(1);
    expect(await payment(paid.id)).toMatchObject({ amountRefundedMinor: 700 });
    expect(await withTenant(db, tenant.tenantId, (tx) => accountBalance(tx, 'refunds', 'EUR'))).toBe(booked + 700);
  });

  it('answers a refund the provider refused as failed: no second refund workflow, nothing paid out, nothing reserved', async () => {
    const paid = await final(await pay(randomUUID(), body()));
    expect(paid.status).toBe('succeeded');
    provider.inject(paid.id, { method: 'refund', kind: 'decline', times: 1 });
    const key = randomUUID();
    const first = { body: await refundOutcome(await refund(paid.id, key, { amountMinor: 900 })) };
    expect(first.body).toMatchObject({ amountMinor: 900, status: 'failed' });
    const refundFlow = refundWorkflowId(tenant.tenantId, first.body.refundId);
    await forget(refundFlow);

    // The provider would take the refund now: the repeat must not ask it again.
    const again = await refund(paid.id, key, { amountMinor: 900 });
    expect({ status: again.status, body: again.body }).toEqual({ status: 201, body: first.body });
    expect(await isUnknown(refundFlow)).toBe(true);
    expect(provider.callsFor(paid.id).refund).toBe(1);
    expect((await atProvider(paid.id)).refunds).toBe(0);
    expect(await payment(paid.id)).toMatchObject({ amountRefundedMinor: 0 });
    expect(await entriesFor(first.body.refundId)).toBe(0);
  });
});

describe('a refund refused as more than is left, repeated after its workflow history is gone', () => {
  it('is refused again with the same answer, though the money it was refused for has since come free: nothing is paid out', async () => {
    const paid = await final(await pay(randomUUID(), body()));
    expect(paid.status).toBe('succeeded');
    // A refund of 2000 holds its reservation while the provider is out (five attempts), then the provider refuses it.
    provider.inject(paid.id, { method: 'refund', kind: 'unavailable', times: 5 });
    provider.inject(paid.id, { method: 'refund', kind: 'decline', times: 1 });
    const held = refund(paid.id, randomUUID(), { amountMinor: 2000 }).then((res) => res);
    await eventually('the first refund to hold 2000', async () => (await payment(paid.id)).amountRefundedMinor === 2000, 60_000);

    // Meanwhile 1000 more is asked: only 500 is left, so it is refused.
    const key = randomUUID();
    const refused = await refund(paid.id, key, { amountMinor: 1000 });
    expect(refused.status).toBe(422);
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(refused.body.detail).toBe('The refund exceeds what is left to refund on this payment');
    expect((await refundOutcome(await held)).status).toBe('failed'); // its reservation released: 2500 is refundable again
    expect(await payment(paid.id)).toMatchObject({ amountRefundedMinor: 0 });
    const { rows } = await withTenant(db, tenant.tenantId, (tx) => tx.query<{ id: string }>('SELECT id FROM payment_refund_requests WHERE idempotency_key = $1', [key]));
    const refusedFlow = refundWorkflowId(tenant.tenantId, rows[0]!.id);
    await forget(refusedFlow);

    const again = await refund(paid.id, key, { amountMinor: 1000 });
    const answer = (res: Response) => ({ status: res.status, body: { ...res.body, requestId: undefined } });
    expect(answer(again)).toEqual(answer(refused));
    expect(await isUnknown(refusedFlow)).toBe(true);
    expect((await atProvider(paid.id)).refunds).toBe(0);
    expect(await payment(paid.id)).toMatchObject({ amountRefundedMinor: 0 });
    expect(await entriesFor(rows[0]!.id)).toBe(0);
  });
});

describe('RefundWorkflow run again for a refund that ended (its history gone, so nothing refused the start)', () => {
  it.each(['failed', 'succeeded'])('refuses to reserve a %s refund again, so nothing reaches the provider', async (ended) => {
    const activities = createRefundActivities({ db, provider });
    const paymentId = randomUUID();
    const refundId = randomUUID();
    await withTenant(db, tenant.tenantId, async (tx) => {
      await tx.query(
        `INSERT INTO payments (id, tenant_id, idempotency_key, request_hash, customer_id, amount_minor, currency, capture_method, status, provider_ref, amount_captured_minor, amount_refunded_minor)
         VALUES ($1, $2, $3, '\\x00', 'cus_rerun', 1000, 'EUR', 'automatic', 'succeeded', 'pi_rerun', 1000, $4)`,
        [paymentId, tenant.tenantId, `k-${paymentId}`, ended === 'succeeded' ? 400 : 0],
      );
      await tx.query('INSERT INTO payment_refunds (id, tenant_id, payment_id, idempotency_key, amount_minor, status) VALUES ($1, $2, $3, $4, 400, $5)', [
        refundId,
        tenant.tenantId,
        paymentId,
        `r-${refundId}`,
        ended,
      ]);
    });
    await expect(activities.reserveRefund({ tenantId: tenant.tenantId, paymentId, refundId, amountMinor: 400, idempotencyKey: `r-${refundId}` })).rejects.toMatchObject({
      type: 'RefundEnded',
      nonRetryable: true,
    });
    const { rows } = await withTenant(db, tenant.tenantId, (tx) => tx.query('SELECT amount_refunded_minor FROM payments WHERE id = $1', [paymentId]));
    expect(Number(rows[0].amount_refunded_minor)).toBe(ended === 'succeeded' ? 400 : 0);
  });
});
