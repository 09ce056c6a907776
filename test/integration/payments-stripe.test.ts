/**
 * Payments over HTTP where Stripe behaves like Stripe: the real API, a worker with the real StripeProvider pointed
 * at the Stripe double (Search lagging a minute behind writes, the intent state machine, webhooks sent after the
 * fact to the API's webhook route), the real PaymentSaga, ledger and outbox. The file owns its task queue, so no
 * other file's worker (on stripe-mock) takes its payments.
 */
import { randomUUID } from 'node:crypto';
import type { Response } from 'supertest';
import { StripeProvider } from '../../activities/payments';
import type { PaymentView } from '../../api/payments/service';
import { withTenant, type Pool } from '../../platform/db/pool';
import { accountBalance } from '../../platform/ledger';
import { PAYMENT_FAILURES, paymentWorkflowId } from '../../workflows/payments/payment.contract';
import { apiKeyWithRole, bearer, registerTenant, settledResource, startApi, type RegisteredTenant, type TestApi } from '../support/api';
import { testConfig } from '../support/env';
import { eventually } from '../support/eventually';
import { startPipeline, type Pipeline } from '../support/pipeline';
import { startStripeDouble, type StripeDouble } from '../support/stripe-double';

const SECRET = 'whsec_paymentsAgainstTheDouble';
const env = { STRIPE_WEBHOOK_SECRET: SECRET, TEMPORAL_TASK_QUEUE_PREFIX: `${testConfig().TEMPORAL_TASK_QUEUE_PREFIX}stripe-double-` };
const DEADLINE_MS = 60_000;
let api: TestApi;
let double: StripeDouble;
let pipeline: Pipeline;
let db: Pool;
let tenant: RegisteredTenant;
let key: string;

beforeAll(async () => {
  api = startApi(env);
  double = await startStripeDouble({ webhookSecret: SECRET, searchLagMs: 60_000 });
  double.webhooks.url = `${api.url()}/api/webhooks/stripe`;
  pipeline = await startPipeline(testConfig(env), ['payments'], 'payment.events', { provider: new StripeProvider(double.client()) });
  db = pipeline.db;
  tenant = await registerTenant(api);
  key = (await apiKeyWithRole(api, tenant, 'client')).key;
});
afterAll(async () => {
  await pipeline?.close();
  await double?.close();
  await api?.close();
});

const pay = (paymentMethod: string, amountMinor = 1999) =>
  api.http().post('/api/payments').set(bearer(key)).set('Idempotency-Key', randomUUID()).send({ amountMinor, currency: 'EUR', customerId: 'cus_double', paymentMethod });
const FINAL = ['succeeded', 'failed', 'canceled', 'expired', 'needs_attention', 'disputed'];
const until = (res: Response, statuses: string[]) => settledResource<PaymentView>(api, key, res, (p) => statuses.includes(p.status), DEADLINE_MS);
const get = async (id: string) => (await api.http().get(`/api/payments/${id}`).set(bearer(key)).expect(200)).body as PaymentView;
const intentOf = (paymentId: string) => [...double.book.intents.values()].find((i) => i.metadata.finflow_payment_id === paymentId)!;
const balance = (account: string) => withTenant(db, tenant.tenantId, (tx) => accountBalance(tx, account, 'EUR'));
const holds = (paymentId: string) => withTenant(db, tenant.tenantId, async (tx) => (await tx.query('SELECT 1 FROM ledger_holds WHERE source_id = $1', [paymentId])).rowCount);
const entries = (paymentId: string) => withTenant(db, tenant.tenantId, async (tx) => (await tx.query('SELECT 1 FROM journal_entries WHERE source_id = $1', [paymentId])).rowCount);
const delivered = (type: string, intentId: string) =>
  eventually(`${type} answered by the webhook route`, () => double.webhooks.deliveries.find((d) => d.type === type && d.intentId === intentId), DEADLINE_MS);

describe('a payment against a Stripe that behaves like Stripe', () => {
  it('succeeds with automatic capture while Search still lags: charged once, never captured again, never searched', async () => {
    const clearing = await balance('provider_clearing');
    const payment = await until(await pay('pm_card_visa'), FINAL);
    expect(payment).toMatchObject({ status: 'succeeded', amountCapturedMinor: 1999 });
    const intent = intentOf(payment.id);
    expect(intent).toMatchObject({ status: 'succeeded', amount_received: 1999 });
    expect(double.count('POST /v1/payment_intents/:id/capture', intent.id)).toBe(0);
    expect(double.count('POST /v1/refunds', intent.id)).toBe(0);
    expect(double.count('GET /v1/payment_intents/search')).toBe(0);
    expect(await balance('provider_clearing')).toBe(clearing + 1999);
  });

  it('waits for 3-D Secure with the client secret for the caller, and succeeds once the customer authenticates', async () => {
    const clearing = await balance('provider_clearing');
    const waiting = await until(await pay('pm_card_threeDSecure2Required'), ['requires_action', ...FINAL]);
    const intent = intentOf(waiting.id);
    expect(waiting).toMatchObject({ status: 'requires_action', nextAction: { type: 'use_stripe_sdk', clientSecret: intent.client_secret } });
    expect(await get(waiting.id)).toMatchObject({ status: 'requires_action', nextAction: { clientSecret: intent.client_secret } });
    expect(await entries(waiting.id)).toBe(0);

    double.book.completeAuthentication(intent.id, 'succeeds'); // in the customer's browser; Stripe's webhook follows
    expect(await delivered('payment_intent.succeeded', intent.id)).toMatchObject({ status: 200, body: { outcome: 'delivered' } });
    const done = await eventually('the payment to succeed', async () => ((await get(waiting.id)).status === 'succeeded' ? get(waiting.id) : undefined), DEADLINE_MS);
    expect(done).toMatchObject({ amountCapturedMinor: 1999, nextAction: null });
    expect(double.count('POST /v1/payment_intents/:id/capture', intent.id)).toBe(0);
    expect(await balance('provider_clearing')).toBe(clearing + 1999);
  });

  it('fails when an asynchronous payment fails after processing: declined, the intent cancelled, nothing booked', async () => {
    const clearing = await balance('provider_clearing');
    const processing = await until(await pay('pm_double_processing'), ['processing', ...FINAL]);
    expect(processing).toMatchObject({ status: 'processing', nextAction: null });
    const intent = intentOf(processing.id);

    double.book.settleProcessing(intent.id, 'fails'); // days later on Stripe
    expect(await delivered('payment_intent.payment_failed', intent.id)).toMatchObject({ status: 200, body: { outcome: 'delivered' } });
    const failed = await eventually('the payment to fail', async () => ((await get(processing.id)).status === 'failed' ? get(processing.id) : undefined), DEADLINE_MS);
    expect(failed).toMatchObject({ failureCode: PAYMENT_FAILURES.declined, amountCapturedMinor: 0 });
    // Declined by the provider's own answer after the wait, never treated as authorised meanwhile (no hold, no capture).
    const saga = api.deps.temporal.workflow.getHandle(paymentWorkflowId(tenant.tenantId, processing.id));
    expect(await saga.result()).toMatchObject({ status: 'failed', failure: { reason: PAYMENT_FAILURES.declined, message: expect.stringContaining('insufficient_funds') } });
    expect(await holds(processing.id)).toBe(0);
    expect(double.count('POST /v1/payment_intents/:id/capture', intent.id)).toBe(0);
    expect(double.book.get(intent.id).status).toBe('canceled');
    expect(await entries(processing.id)).toBe(0);
    expect(await balance('provider_clearing')).toBe(clearing);
  });

  it('books a dispute on a captured payment: disputed, the amount moved to disputes, payment.disputed once on Kafka', async () => {
    const payment = await until(await pay('pm_card_visa', 2500), FINAL);
    expect(payment.status).toBe('succeeded');
    const [clearing, disputes] = [await balance('provider_clearing'), await balance('disputes')];
    const intent = intentOf(payment.id);
    double.book.dispute(intent.id);
    const answer = await delivered('charge.dispute.created', intent.id);
    expect(answer).toMatchObject({ status: 200, body: { outcome: 'disputed' } });
    await double.webhooks.deliver(double.webhooks.events.get(answer.eventId)!); // Stripe delivers again
    expect(await get(payment.id)).toMatchObject({ status: 'disputed', amountDisputedMinor: 2500 });
    expect(await balance('provider_clearing')).toBe(clearing - 2500);
    expect(await balance('disputes')).toBe(disputes + 2500);
    const event = await eventually('payment.disputed on Kafka', () => pipeline.received.find((e) => e.type === 'payment.disputed' && e.subject === `payment/${payment.id}`), DEADLINE_MS);
    expect(event.data).toMatchObject({ paymentId: payment.id, amountMinor: 2500, currency: 'EUR', status: 'disputed', reason: 'fraudulent' });
    expect(new Set(pipeline.received.filter((e) => e.type === 'payment.disputed' && e.subject === `payment/${payment.id}`).map((e) => e.id)).size).toBe(1);
  });
});
