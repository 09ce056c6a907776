/** The Stripe adapter's requests against stripe-mock (Stripe's own OpenAPI server), with the sandbox's state. */
import { randomUUID } from 'node:crypto';
import { FaultInjectingProvider } from '../../activities/payments/provider/fault-injection';
import { ProviderError, PROVIDER_DECLINED, PROVIDER_INVALID_REQUEST, PROVIDER_UNAVAILABLE } from '../../activities/payments/provider/port';
import { StripeMockSandboxProvider } from '../../activities/payments/provider/sandbox';
import { StripeProvider, stripeClient } from '../../activities/payments/provider/stripe';
import { createPool, type Pool } from '../../platform/db/pool';
import { testConfig } from '../support/env';

const cfg = testConfig();
const stripe = stripeClient({ mockUrl: cfg.STRIPE_MOCK_URL });
let db: Pool;
let sandbox: StripeMockSandboxProvider;

beforeAll(() => {
  db = createPool(cfg.DATABASE_URL, 4);
  sandbox = new StripeMockSandboxProvider(stripe, db);
});
afterAll(() => db.end());

/** Creates the payment's intent unconfirmed, then confirms it, as the saga's authorisation does. */
async function authorize(paymentId: string, paymentMethod = 'pm_card_visa', captureMethod: 'manual' | 'automatic' = 'manual', amountMinor = 2500) {
  const created = await sandbox.createIntent({ paymentId, amountMinor, currency: 'EUR', paymentMethod, captureMethod, idempotencyKey: `${paymentId}:create` });
  return sandbox.authorize({ paymentId, providerRef: created.providerRef, idempotencyKey: `${paymentId}:confirm` });
}

describe('StripeProvider against stripe-mock', () => {
  it('sends requests Stripe’s API accepts (create, confirm, retrieve, capture, cancel, refund)', async () => {
    const wire = new StripeProvider(stripe);
    const paymentId = randomUUID();
    const pi = await wire.createIntent({ paymentId, amountMinor: 1000, currency: 'USD', paymentMethod: 'pm_card_visa', captureMethod: 'manual', idempotencyKey: randomUUID() });
    expect(pi.providerRef).toMatch(/^pi_/);
    const ref = { paymentId, providerRef: pi.providerRef };
    await wire.authorize({ ...ref, idempotencyKey: randomUUID() });
    await wire.retrieve(ref);
    await wire.capture({ ...ref, idempotencyKey: randomUUID() });
    await wire.cancel({ ...ref, idempotencyKey: randomUUID() });
    expect((await wire.refund({ ...ref, refundId: 'r', amountMinor: 100, idempotencyKey: randomUUID() })).refundRef).toMatch(/^re_/);
  });

  it('classifies a request Stripe refuses as a non-retryable invalid request', async () => {
    const wire = new StripeProvider(stripe);
    // stripe-mock validates types (not business ranges): a fractional amount is refused as Stripe would.
    const error = await wire
      .createIntent({ paymentId: 'x', amountMinor: 1.5, currency: 'USD', paymentMethod: 'pm_card_visa', captureMethod: 'manual', idempotencyKey: randomUUID() })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).type).toBe(PROVIDER_INVALID_REQUEST);
  });
});

describe('the stripe-mock sandbox', () => {
  it('authorises, then captures once, with manual capture', async () => {
    const id = randomUUID();
    const intent = await authorize(id);
    expect(intent).toMatchObject({ status: 'requires_capture', amountCapturedMinor: 0 });
    expect(await authorize(id)).toEqual(intent); // a retried authorisation (the same keys) finds the same intent, confirmed once
    const captured = await sandbox.capture({ paymentId: id, providerRef: intent.providerRef, idempotencyKey: `${id}:capture` });
    expect(captured).toMatchObject({ status: 'succeeded', amountCapturedMinor: 2500 });
    expect(await sandbox.capture({ paymentId: id, providerRef: intent.providerRef, idempotencyKey: `${id}:capture` })).toEqual(captured);
  });

  it.each([
    ['pm_card_chargeDeclined', 'generic_decline'],
    ['pm_card_chargeDeclinedInsufficientFunds', 'insufficient_funds'],
  ])('declines %s with %s', async (pm, code) => {
    const error = await authorize(randomUUID(), pm).catch((e: unknown) => e);
    expect(error).toMatchObject({ type: PROVIDER_DECLINED, code });
  });

  it.each([
    ['pm_card_threeDSecure2Required', 'payment_method_not_supported_by_sandbox'],
    ['pm_unknown_to_stripe', 'resource_missing'],
  ])('refuses %s, a payment method it does not play, as an invalid request (%s), making no intent', async (pm, code) => {
    const paymentId = randomUUID();
    await expect(authorize(paymentId, pm)).rejects.toMatchObject({ type: PROVIDER_INVALID_REQUEST, code });
    expect(await sandbox.findIntent(paymentId)).toBeUndefined();
  });

  it('refunds partially and fully, never more than captured, also when two refunds race', async () => {
    const id = randomUUID();
    const intent = await authorize(id, 'pm_card_visa', 'automatic', 1000);
    const refund = (refundId: string, amountMinor: number) => sandbox.refund({ paymentId: id, providerRef: intent.providerRef, refundId, amountMinor, idempotencyKey: refundId });
    await refund('r1', 300);
    await refund('r1', 300); // same refund id: the same refund
    const racing = await Promise.allSettled([refund('r2', 600), refund('r3', 600)]);
    expect(racing.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect((await sandbox.findIntent(id))!.amountRefundedMinor).toBe(900);
    await expect(refund('r4', 101)).rejects.toMatchObject({ type: PROVIDER_INVALID_REQUEST, code: 'amount_too_large' });
    await refund('r5', 100);
    expect((await sandbox.findIntent(id))!.amountRefundedMinor).toBe(1000);
  });

  it('answers two attempts of the same refund at once with that one refund (a retry while the first still runs)', async () => {
    for (let round = 0; round < 5; round++) {
      const id = randomUUID();
      const intent = await authorize(id, 'pm_card_visa', 'automatic', 1000);
      const attempt = () => sandbox.refund({ paymentId: id, providerRef: intent.providerRef, refundId: `${id}-r`, amountMinor: 600, idempotencyKey: `${id}-r` });
      const [a, b] = await Promise.all([attempt(), attempt()]);
      expect(a.refundRef).toBe(b.refundRef);
      expect((await sandbox.findIntent(id))!.amountRefundedMinor).toBe(600);
    }
  });

  it('cannot capture a cancelled authorisation', async () => {
    const id = randomUUID();
    const intent = await authorize(id);
    await sandbox.cancel({ paymentId: id, providerRef: intent.providerRef, idempotencyKey: `${id}:cancel` });
    await expect(sandbox.capture({ paymentId: id, providerRef: intent.providerRef, idempotencyKey: `${id}:capture` })).rejects.toMatchObject({ type: PROVIDER_INVALID_REQUEST });
  });
});

describe('FaultInjectingProvider', () => {
  it('injects outages and declines per payment and counts calls', async () => {
    const faulty = new FaultInjectingProvider(sandbox);
    const id = randomUUID();
    faulty.inject(id, { method: 'authorize', kind: 'unavailable', times: 2 });
    const created = await faulty.createIntent({ paymentId: id, amountMinor: 100, currency: 'EUR', paymentMethod: 'pm_card_visa', captureMethod: 'automatic', idempotencyKey: id });
    const args = { paymentId: id, providerRef: created.providerRef, idempotencyKey: `${id}:confirm` };
    await expect(faulty.authorize(args)).rejects.toMatchObject({ type: PROVIDER_UNAVAILABLE });
    await expect(faulty.authorize(args)).rejects.toMatchObject({ type: PROVIDER_UNAVAILABLE });
    await expect(faulty.authorize(args)).resolves.toMatchObject({ status: 'succeeded' });
    expect(faulty.callsFor(id).authorize).toBe(3);
  });
});
