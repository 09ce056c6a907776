/**
 * A payment end to end over HTTP on the real local stack: API -> Temporal -> worker -> the Stripe SDK against
 * stripe-mock (sandbox state in Postgres) -> ledger -> outbox -> relay -> Kafka, where payment.succeeded is read.
 */
import { randomUUID } from 'node:crypto';
import { withTenant, type Pool } from '../../platform/db/pool';
import type { CloudEvent } from '../../platform/events/cloudevent';
import { accountBalance } from '../../platform/ledger';
import { apiKeyWithRole, bearer, registerTenant, startApi, type RegisteredTenant, type TestApi } from '../support/api';
import { testConfig } from '../support/env';
import { eventually } from '../support/eventually';
import { startPipeline, type Pipeline } from '../support/pipeline';

const cfg = testConfig();
let api: TestApi;
let pipeline: Pipeline;
let db: Pool;
let received: CloudEvent[];
let tenant: RegisteredTenant;
let clientKey: string;

beforeAll(async () => {
  api = startApi();
  pipeline = await startPipeline(cfg, ['payments'], 'payment.events');
  ({ db, received } = pipeline);
  tenant = await registerTenant(api);
  clientKey = (await apiKeyWithRole(api, tenant, 'client')).key;
});

afterAll(async () => {
  await pipeline.close();
  await api.close();
});

const pay = (key: string, body: object) => api.http().post('/api/payments').set(bearer(clientKey)).set('Idempotency-Key', key).send(body);
const body = (overrides: object = {}) => ({ amountMinor: 1099, currency: 'EUR', customerId: 'cus_e2e', paymentMethod: 'pm_card_visa', ...overrides });

describe('a payment over HTTP', () => {
  it('succeeds, books the ledger, and its payment.succeeded CloudEvent arrives on Kafka', async () => {
    const before = await withTenant(db, tenant.tenantId, (tx) => accountBalance(tx, 'provider_clearing', 'EUR'));
    const res = await pay(randomUUID(), body()).expect(201);
    expect(res.body).toMatchObject({ status: 'succeeded', amountMinor: 1099, currency: 'EUR', amountCapturedMinor: 1099 });
    expect(res.headers.location).toBe(`/api/payments/${res.body.id}`);
    const event = await eventually('payment.succeeded on Kafka', () => received.find((e) => e.type === 'payment.succeeded' && e.subject === `payment/${res.body.id}`));
    expect(event).toMatchObject({ specversion: '1.0', tenantid: tenant.tenantId, data: { paymentId: res.body.id, amountMinor: 1099, currency: 'EUR', status: 'succeeded' } });
    await eventually('payment.created on Kafka', () => received.find((e) => e.type === 'payment.created' && e.subject === `payment/${res.body.id}`));
    expect(await withTenant(db, tenant.tenantId, (tx) => accountBalance(tx, 'provider_clearing', 'EUR'))).toBe(before + 1099);
    await api.http().get(`/api/payments/${res.body.id}`).set(bearer(clientKey)).expect(200);
  });

  it('fails cleanly for a declined card: failed status, payment.failed, no ledger entry', async () => {
    const res = await pay(randomUUID(), body({ paymentMethod: 'pm_card_chargeDeclined' })).expect(201);
    expect(res.body).toMatchObject({ status: 'failed', failureCode: 'PaymentDeclined' });
    await eventually('payment.failed on Kafka', () => received.find((e) => e.type === 'payment.failed' && e.subject === `payment/${res.body.id}`));
    const entries = await withTenant(db, tenant.tenantId, (tx) => tx.query('SELECT 1 FROM journal_entries WHERE source_id = $1', [res.body.id]));
    expect(entries.rowCount).toBe(0);
  });

  it('returns the same payment for the same key and body, and 422 for the same key with another body', async () => {
    const key = randomUUID();
    const first = await pay(key, body()).expect(201);
    const again = await pay(key, body()).expect(201);
    expect(again.body.id).toBe(first.body.id);
    const other = await pay(key, body({ amountMinor: 5000 })).expect(422);
    expect(other.body.type).toBe('urn:finflow:problem:unprocessable-entity');
  });

  it('never makes two payments from concurrent requests with one key', async () => {
    const key = randomUUID();
    const answers = await Promise.all([1, 2, 3].map(() => pay(key, body({ customerId: 'cus_race' }))));
    for (const a of answers) expect([201, 202, 409]).toContain(a.status);
    const ids = new Set(answers.filter((a) => a.status < 300).map((a) => a.body.id));
    expect(ids.size).toBe(1);
    const rows = await withTenant(db, tenant.tenantId, (tx) => tx.query('SELECT id FROM payments WHERE idempotency_key = $1', [key]));
    expect(rows.rowCount).toBe(1);
  });

  it('captures a manual payment on request, and refunds it in two parts', async () => {
    const created = await pay(randomUUID(), body({ captureMethod: 'manual', amountMinor: 2000 })).expect(201);
    expect(created.body.status).toBe('authorized');
    const captured = await api.http().post(`/api/payments/${created.body.id}/capture`).set(bearer(clientKey)).expect(200);
    expect(captured.body).toMatchObject({ status: 'succeeded', amountCapturedMinor: 2000 });
    const refund = (amountMinor: number) =>
      api.http().post(`/api/payments/${created.body.id}/refunds`).set(bearer(clientKey)).set('Idempotency-Key', randomUUID()).send({ amountMinor });
    await refund(1500).expect(201);
    const over = await refund(600).expect(422);
    expect(over.body.type).toBe('urn:finflow:problem:unprocessable-entity');
    await refund(500).expect(201);
    const after = await api.http().get(`/api/payments/${created.body.id}`).set(bearer(clientKey)).expect(200);
    expect(after.body.amountRefundedMinor).toBe(2000);
    await api.http().post(`/api/payments/${created.body.id}/capture`).set(bearer(clientKey)).expect(409);
  });

  it('lists payments with cursor pagination, newest first', async () => {
    const page1 = await api.http().get('/api/payments?limit=2').set(bearer(clientKey)).expect(200);
    expect(page1.body.data).toHaveLength(2);
    expect(page1.body.nextCursor).toEqual(expect.any(String));
    const page2 = await api.http().get(`/api/payments?limit=2&cursor=${page1.body.nextCursor}`).set(bearer(clientKey)).expect(200);
    const ids = [...page1.body.data, ...page2.body.data].map((p: { id: string }) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(Date.parse(page1.body.data[1].createdAt)).toBeGreaterThanOrEqual(Date.parse(page2.body.data[0].createdAt));
    await api.http().get('/api/payments?cursor=forged').set(bearer(clientKey)).expect(400);
  });

  describe('with bad input', () => {
    it.each([
      ['a float amount', { amountMinor: 10.5 }],
      ['a zero amount', { amountMinor: 0 }],
      ['a huge amount', { amountMinor: 2 ** 60 }],
      ['an amount as a string', { amountMinor: '1099' }],
      ['an unknown currency', { currency: 'XXX' }],
      ['a lower-case currency', { currency: 'eur' }],
      ['card data instead of a token', { paymentMethod: '4242424242424242' }],
      ['an email as customer id', { customerId: 'ada@example.com' }],
      ['an unknown field', { cardNumber: '4242' }],
    ])('refuses %s with a 4xx and starts nothing', async (_name, overrides) => {
      const key = randomUUID();
      const res = await pay(key, body(overrides)).expect(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      const rows = await withTenant(db, tenant.tenantId, (tx) => tx.query('SELECT 1 FROM payments WHERE idempotency_key = $1', [key]));
      expect(rows.rowCount).toBe(0);
    });

    it('requires an Idempotency-Key', async () => {
      const res = await api.http().post('/api/payments').set(bearer(clientKey)).send(body()).expect(400);
      expect(res.body.errors[0].path).toBe('headers.idempotency-key');
    });
  });
});
