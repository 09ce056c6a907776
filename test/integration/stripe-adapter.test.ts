/**
 * The real Stripe adapter and the saga's provider activities, against the Stripe double (test/support/stripe-double),
 * where stripe-mock cannot behave like Stripe: Search lags behind writes, intents keep their state, a capture of a
 * succeeded intent is refused. Payment rows are real (test database).
 */
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/activity';
import { createPaymentActivities } from '../../activities/payments';
import { PROVIDER_UNEXPECTED, INTENT_STATUSES } from '../../activities/payments/provider/port';
import { StripeProvider } from '../../activities/payments/provider/stripe';
import { createPool, withTenant, type Pool } from '../../platform/db/pool';
import type { PaymentInput } from '../../workflows/payments/payment.contract';
import { createTenant, testConfig } from '../support/env';
import { startStripeDouble, type StripeDouble } from '../support/stripe-double';

const cfg = testConfig();
let db: Pool;
let double: StripeDouble;
let tenantId: string;
let stripe: StripeProvider;
let activities: ReturnType<typeof createPaymentActivities>;

beforeAll(async () => {
  db = createPool(cfg.DATABASE_URL, 3);
  double = await startStripeDouble({ webhookSecret: 'whsec_adapterTest', searchLagMs: 60_000 });
  stripe = new StripeProvider(double.client());
  activities = createPaymentActivities({ db, provider: stripe, risk: { maxAmountMinor: 1e9, reviewAmountMinor: 1e9, velocityPerHour: 1e6, deniedCustomers: new Set() } });
  tenantId = await createTenant(db);
});
afterAll(async () => {
  await double.close();
  await db.end();
});

async function payment(overrides: Partial<PaymentInput> = {}): Promise<PaymentInput> {
  const input: PaymentInput = {
    paymentId: randomUUID(),
    tenantId,
    customerId: 'cus_adapter',
    amountMinor: 1500,
    currency: 'EUR',
    paymentMethod: 'pm_card_visa',
    captureMethod: 'automatic',
    reviewTimeoutSeconds: 3600,
    authorizationTtlSeconds: 3600,
    ...overrides,
  };
  await withTenant(db, tenantId, (tx) =>
    tx.query(
      `INSERT INTO payments (id, tenant_id, idempotency_key, request_hash, customer_id, amount_minor, currency, capture_method) VALUES ($1, $2, $3, '\\x00', $4, $5, $6, $7)`,
      [input.paymentId, tenantId, `k-${input.paymentId}`, input.customerId, input.amountMinor, input.currency, input.captureMethod],
    ),
  );
  return input;
}
const row = (paymentId: string) =>
  withTenant(db, tenantId, async (tx) => (await tx.query('SELECT status, provider_ref, next_action FROM payments WHERE id = $1', [paymentId])).rows[0]);
const intentsOf = (paymentId: string) => [...double.book.intents.values()].filter((i) => i.metadata.finflow_payment_id === paymentId);

describe('the Stripe adapter', () => {
  it('maps every PaymentIntent status Stripe documents to itself', async () => {
    const input = await payment({ captureMethod: 'manual' });
    const intent = await activities.authorizePayment(input);
    for (const status of INTENT_STATUSES) {
      double.book.get(intent.providerRef).status = status;
      expect(await stripe.retrieve({ paymentId: input.paymentId, providerRef: intent.providerRef })).toMatchObject({ status });
    }
  });

  it('refuses a status it does not know as an unexpected answer, never as a success', async () => {
    const input = await payment();
    const intent = await activities.authorizePayment(input);
    double.book.get(intent.providerRef).status = 'requires_review_by_bank';
    const refused = await activities.captureCharge({ tenantId, paymentId: input.paymentId, providerRef: intent.providerRef }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ApplicationFailure);
    expect(refused).toMatchObject({ type: PROVIDER_UNEXPECTED, nonRetryable: true });
    expect(double.count('POST /v1/payment_intents/:id/capture', intent.providerRef)).toBe(0);
  });
});

describe('the provider activities against a Stripe whose Search lags', () => {
  it('authorise an automatic-capture payment once and never capture it again, without searching', async () => {
    const input = await payment();
    const intent = await activities.authorizePayment(input);
    expect(intent).toMatchObject({ status: 'succeeded', amountCapturedMinor: 1500 });
    expect(await row(input.paymentId)).toMatchObject({ provider_ref: intent.providerRef });
    const captured = await activities.captureCharge({ tenantId, paymentId: input.paymentId, providerRef: intent.providerRef });
    expect(captured).toMatchObject({ status: 'succeeded', amountCapturedMinor: 1500 });
    expect(double.count('POST /v1/payment_intents/:id/capture', intent.providerRef)).toBe(0);
    expect(double.count('GET /v1/payment_intents/search')).toBe(0);
  });

  it('find the intent a crashed attempt created before storing its id, through the idempotent create, and confirm it once', async () => {
    const input = await payment();
    // An earlier attempt created the intent and died before the id reached the payment row.
    const orphan = await stripe.createIntent({ ...input, idempotencyKey: `${input.paymentId}:create` });
    expect((await row(input.paymentId)).provider_ref).toBeNull();
    const intent = await activities.authorizePayment(input);
    expect(intent.providerRef).toBe(orphan.providerRef);
    expect(intentsOf(input.paymentId)).toHaveLength(1);
    // A retry after the answer was lost retrieves it by the stored id, and does not confirm again.
    expect(await activities.authorizePayment(input)).toMatchObject({ providerRef: orphan.providerRef, status: 'succeeded' });
    expect(double.count('POST /v1/payment_intents/:id/confirm', orphan.providerRef)).toBe(1);
  });

  it('compensate by the stored id: refund what is left of a charge, release an authorisation', async () => {
    const charged = await payment();
    const intent = await activities.authorizePayment(charged);
    await stripe.refund({ paymentId: charged.paymentId, providerRef: intent.providerRef, refundId: 'r1', amountMinor: 400, idempotencyKey: randomUUID() });
    expect(await activities.undoAtProvider({ tenantId, paymentId: charged.paymentId })).toBe('refunded');
    expect(double.book.charges.get(double.book.get(intent.providerRef).latest_charge!)).toMatchObject({ amount_refunded: 1500 });

    const held = await payment({ captureMethod: 'manual' });
    const auth = await activities.authorizePayment(held);
    expect(await activities.undoAtProvider({ tenantId, paymentId: held.paymentId })).toBe('released');
    expect(double.book.get(auth.providerRef).status).toBe('canceled');
    expect(double.count('GET /v1/payment_intents/search')).toBe(0);
  });

  it('record a payment that needs 3-D Secure as requires_action, with the next action on the row only', async () => {
    const input = await payment({ paymentMethod: 'pm_card_threeDSecure2Required' });
    const intent = await activities.authorizePayment(input);
    expect(intent).toMatchObject({ status: 'requires_action' });
    expect(JSON.stringify(intent)).not.toMatch(/secret/); // the workflow's history never holds the client secret
    const secret = double.book.get(intent.providerRef).client_secret;
    expect(await row(input.paymentId)).toMatchObject({ status: 'requires_action', next_action: { type: 'use_stripe_sdk', clientSecret: secret } });
  });
});
