/**
 * Amounts as Stripe counts them. FinFlow keeps ISO 4217 minor units (core/money: ISK has none, JPY none, EUR two).
 * Stripe's API mostly agrees, but not for ISK: Stripe keeps it a two-decimal currency in its API ("an ISK amount of
 * 100 will continue to represent 1 króna", and amounts must be multiples of 100, Stripe support, "Deprecation of
 * fractional ISK charges and refunds"). Sent as it is, a payment of 500 krónur would ask Stripe for 5 krónur.
 * The real StripeProvider against the Stripe double (test/support/stripe-double), which keeps the amounts it was sent.
 */
import { randomUUID } from 'node:crypto';
import type { Currency } from '../../core/money';
import { StripeProvider } from '../../activities/payments/provider/stripe';
import { withTenant } from '../../platform/db/pool';
import { accountBalance } from '../../platform/ledger';
import { registerTenant, startApi, type RegisteredTenant, type TestApi } from '../support/api';
import { signature, startStripeDouble, type StripeDouble } from '../support/stripe-double';

const SECRET = 'whsec_breakerUnits';
let double: StripeDouble;
let stripe: StripeProvider;
let api: TestApi;
let tenant: RegisteredTenant;

beforeAll(async () => {
  api = startApi({ STRIPE_WEBHOOK_SECRET: SECRET, LOG_LEVEL: 'error' });
  double = await startStripeDouble({ webhookSecret: SECRET }); // no endpoint: the test posts the events it means
  stripe = new StripeProvider(double.client());
  tenant = await registerTenant(api);
});
afterAll(async () => {
  await double?.close();
  await api?.close();
});

/** Charges `amountMinor` (FinFlow's minor units) at once, refunds `refundMinor` of it, and reads the intent back. */
async function chargeAndRefund(currency: Currency, amountMinor: number, refundMinor: number) {
  const paymentId = randomUUID();
  const created = await stripe.createIntent({ paymentId, amountMinor, currency, paymentMethod: 'pm_card_visa', captureMethod: 'automatic', idempotencyKey: `${paymentId}:create` });
  const charged = await stripe.authorize({ paymentId, providerRef: created.providerRef, idempotencyKey: `${paymentId}:confirm` });
  await stripe.refund({ paymentId, providerRef: created.providerRef, refundId: randomUUID(), amountMinor: refundMinor, idempotencyKey: `${paymentId}:refund` });
  const read = await stripe.retrieve({ paymentId, providerRef: created.providerRef });
  const atStripe = double.book.get(created.providerRef);
  return { created, charged, read, atStripe, chargeAtStripe: double.book.charges.get(atStripe.latest_charge!)! };
}

describe('the Stripe adapter, in Stripe’s units', () => {
  it('asks Stripe for an ISK payment in its two-decimal ISK (500 krónur is 50000) and reads its answers back in krónur', async () => {
    const { created, charged, read, atStripe, chargeAtStripe } = await chargeAndRefund('ISK', 500, 200);
    expect(atStripe).toMatchObject({ currency: 'isk', amount: 50_000, amount_received: 50_000 });
    expect(chargeAtStripe).toMatchObject({ amount_captured: 50_000, amount_refunded: 20_000 });
    expect(created).toMatchObject({ amountMinor: 500, currency: 'ISK' });
    expect(charged).toMatchObject({ status: 'succeeded', amountMinor: 500, amountCapturedMinor: 500 });
    expect(read).toMatchObject({ amountMinor: 500, amountCapturedMinor: 500, amountRefundedMinor: 200 });
  });

  it('sends zero-decimal JPY and two-decimal EUR as they are', async () => {
    const jpy = await chargeAndRefund('JPY', 500, 200);
    expect(jpy.atStripe).toMatchObject({ currency: 'jpy', amount: 500 });
    expect(jpy.chargeAtStripe).toMatchObject({ amount_refunded: 200 });
    expect(jpy.read).toMatchObject({ amountCapturedMinor: 500, amountRefundedMinor: 200 });
    const eur = await chargeAndRefund('EUR', 1099, 99);
    expect(eur.atStripe).toMatchObject({ currency: 'eur', amount: 1099 });
    expect(eur.read).toMatchObject({ amountCapturedMinor: 1099, amountRefundedMinor: 99 });
  });
});

/** A succeeded ISK payment of 500 krónur (its row as the saga leaves it), charged at the double in Stripe's units. */
async function iskPayment() {
  const paymentId = randomUUID();
  const intent = double.book.create({ amount: 50_000, currency: 'isk', payment_method: 'pm_card_visa', capture_method: 'automatic', metadata: { finflow_payment_id: paymentId }, confirm: true });
  await withTenant(api.deps.db, tenant.tenantId, (tx) =>
    tx.query(
      `INSERT INTO payments (id, tenant_id, idempotency_key, request_hash, customer_id, amount_minor, currency, capture_method, status, provider, provider_ref, amount_captured_minor)
       VALUES ($1, $2, $3, '\\x00', 'cus_units', 500, 'ISK', 'automatic', 'succeeded', 'stripe', $4, 500)`,
      [paymentId, tenant.tenantId, `k-${paymentId}`, intent.id],
    ),
  );
  return { paymentId, intent };
}
const post = (body: string) => api.http().post('/api/webhooks/stripe').set('Content-Type', 'application/json').set('Stripe-Signature', signature(body, SECRET)).send(body);
const paymentRow = (paymentId: string) =>
  withTenant(api.deps.db, tenant.tenantId, async (tx) => (await tx.query('SELECT status, amount_disputed_minor FROM payments WHERE id = $1', [paymentId])).rows[0]);
const disputesBooked = () => withTenant(api.deps.db, tenant.tenantId, (tx) => accountBalance(tx, 'disputes', 'ISK'));
const disputeEvent = async (intentId: string) => {
  await double.webhooks.settled();
  return [...double.webhooks.events.values()].find((e) => e.type === 'charge.dispute.created' && e.data.object.payment_intent === intentId)!;
};

describe('Stripe’s webhooks, in Stripe’s units', () => {
  it('books a dispute of 200 of an ISK payment of 500 krónur as 200 krónur (Stripe says 20000), and a charge refunded to the rest as known', async () => {
    const { paymentId, intent } = await iskPayment();
    const before = await disputesBooked();
    double.book.dispute(intent.id, 20_000);
    const booked = await post(JSON.stringify(await disputeEvent(intent.id)));
    expect(booked.status).toBe(200);
    expect(booked.body.outcome).toBe('disputed');
    expect(await paymentRow(paymentId)).toEqual({ status: 'disputed', amount_disputed_minor: '200' });
    expect(await disputesBooked()).toBe(before + 200);

    // FinFlow refunded the other 300 krónur; Stripe's charge says amount_refunded 30000, in its units.
    await withTenant(api.deps.db, tenant.tenantId, (tx) => tx.query('UPDATE payments SET amount_refunded_minor = 300 WHERE id = $1', [paymentId]));
    const refunded = JSON.stringify({
      id: `evt_${randomUUID().replace(/-/g, '')}`,
      object: 'event',
      type: 'charge.refunded',
      data: { object: { id: intent.latest_charge, object: 'charge', payment_intent: intent.id, amount_refunded: 30_000, currency: 'isk' } },
    });
    const known = await post(refunded);
    expect(known.status).toBe(200);
    expect(known.body.outcome).toBe('refund_known');
  });

  it('refuses a signed ISK dispute that is not a whole number of krónur with a 400, booking nothing', async () => {
    const { paymentId, intent } = await iskPayment();
    const before = await disputesBooked();
    double.book.dispute(intent.id, 12_345);
    const res = await post(JSON.stringify(await disputeEvent(intent.id)));
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([expect.objectContaining({ path: 'body.data.object.amount' })]);
    expect(await paymentRow(paymentId)).toEqual({ status: 'succeeded', amount_disputed_minor: '0' });
    expect(await disputesBooked()).toBe(before);
  });
});
