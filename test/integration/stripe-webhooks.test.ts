/**
 * POST /api/webhooks/stripe on the real API, fed by the Stripe double's signed webhooks: the signature is checked
 * over the raw body with the endpoint secret (wrong secret, stale timestamp, altered body, none: 400), each event is
 * acted on once, and events after a saga ended are handled (a dispute booked when Stripe takes the money, once
 * whichever of its events comes first, an inquiry booking nothing, a refund made elsewhere recorded for ops). The payments here are rows with a stored intent id, as the saga leaves them; the saga itself meets the
 * webhooks in payments-stripe.test.ts.
 */
import { randomUUID } from 'node:crypto';
import { withTenant, type Pool } from '../../platform/db/pool';
import { accountBalance } from '../../platform/ledger';
import { bearer, registerTenant, startApi, type RegisteredTenant, type TestApi } from '../support/api';
import { signature, startStripeDouble, type StripeDouble } from '../support/stripe-double';

const SECRET = 'whsec_webhookRouteTest';
let api: TestApi;
let double: StripeDouble;
let db: Pool;
let tenant: RegisteredTenant;

beforeAll(async () => {
  api = startApi({ STRIPE_WEBHOOK_SECRET: SECRET });
  db = api.deps.db;
  double = await startStripeDouble({ webhookSecret: SECRET });
  tenant = await registerTenant(api);
});
afterAll(async () => {
  await double.close();
  await api.close();
});

/** Runs `fn` with the double's webhooks off: its events are kept, not sent. */
async function quietly<T>(fn: () => T): Promise<T> {
  double.webhooks.url = undefined;
  try {
    const result = fn();
    await double.webhooks.settled();
    return result;
  } finally {
    double.webhooks.url = `${api.url()}/api/webhooks/stripe`;
  }
}

/** A payment whose saga has ended `status` (or, `authorized`, is still running), its intent charged at the double. */
async function payment(status: 'succeeded' | 'authorized' | 'failed', amountMinor = 2000) {
  const paymentId = randomUUID();
  const intent = await quietly(() =>
    double.book.create({ amount: amountMinor, currency: 'eur', payment_method: 'pm_card_visa', capture_method: 'automatic', metadata: { finflow_payment_id: paymentId }, confirm: true }),
  );
  await withTenant(db, tenant.tenantId, (tx) =>
    tx.query(
      `INSERT INTO payments (id, tenant_id, idempotency_key, request_hash, customer_id, amount_minor, currency, capture_method, status, provider, provider_ref, amount_captured_minor)
       VALUES ($1, $2, $3, '\\x00', 'cus_hooks', $4, 'EUR', 'automatic', $5, 'stripe', $6, $7)`,
      [paymentId, tenant.tenantId, `k-${paymentId}`, amountMinor, status, intent.id, status === 'succeeded' ? amountMinor : 0],
    ),
  );
  return { paymentId, intentId: intent.id };
}
/** The last event of `type` about the intent the double emitted. */
const lastEvent = (type: string, intentId: string) =>
  [...double.webhooks.events.values()].filter((e) => e.type === type && (e.data.object.id === intentId || e.data.object.payment_intent === intentId)).at(-1)!;

const recorded = (eventId: string) =>
  withTenant(db, tenant.tenantId, async (tx) => (await tx.query('SELECT outcome, detail, payment_id FROM payment_provider_events WHERE event_id = $1', [eventId])).rows);
const row = (paymentId: string) =>
  withTenant(db, tenant.tenantId, async (tx) => (await tx.query('SELECT status, amount_disputed_minor FROM payments WHERE id = $1', [paymentId])).rows[0]);
/** The dispute's outcome on the payment row (a column only since disputes close). */
const disputeStatus = (paymentId: string) =>
  withTenant(db, tenant.tenantId, async (tx) => (await tx.query('SELECT dispute_status FROM payments WHERE id = $1', [paymentId])).rows[0].dispute_status);
const balance = (key: string) => withTenant(db, tenant.tenantId, (tx) => accountBalance(tx, key, 'EUR'));
const outbox = (paymentId: string, type: string) =>
  withTenant(db, tenant.tenantId, async (tx) => Number((await tx.query('SELECT count(*) FROM outbox WHERE aggregate_id = $1 AND event_type = $2', [paymentId, type])).rows[0].count));
/** The last delivery of `type` about the intent, once the double has had its answer. */
async function delivery(type: string, intentId: string) {
  await double.webhooks.settled();
  return double.webhooks.deliveries.filter((d) => d.type === type && d.intentId === intentId).at(-1)!;
}
const eventOf = (eventId: string) => double.webhooks.events.get(eventId)!;
/** The same event as Stripe would send it again under a new event id (another event about the same dispute). */
const anotherEvent = (eventId: string) => ({ ...eventOf(eventId), id: `evt_${randomUUID().replace(/-/g, '')}` });
const entries = (paymentId: string) =>
  withTenant(db, tenant.tenantId, async (tx) => (await tx.query('SELECT kind FROM journal_entries WHERE source_id = $1 ORDER BY posted_at, kind DESC', [paymentId])).rows.map((r) => r.kind));
const outboxData = (paymentId: string, type: string) =>
  withTenant(db, tenant.tenantId, async (tx) => (await tx.query('SELECT event FROM outbox WHERE aggregate_id = $1 AND event_type = $2', [paymentId, type])).rows.map((r) => r.event.data));

describe('POST /api/webhooks/stripe', () => {
  describe('with a signature that does not hold', () => {
    /** A dispute event the double signed for this test but never sent, under an id never seen. */
    async function unsentEvent(): Promise<string> {
      const { intentId } = await payment('succeeded');
      await quietly(() => double.book.dispute(intentId));
      return JSON.stringify({ ...lastEvent('charge.dispute.created', intentId), id: `evt_${randomUUID().replace(/-/g, '')}` });
    }
    const post = (body: string, header?: string) => {
      const req = api.http().post('/api/webhooks/stripe').set('Content-Type', 'application/json; charset=utf-8');
      return (header ? req.set('Stripe-Signature', header) : req).send(body);
    };

    it.each([
      ['signed with another secret', (body: string) => ({ body, header: signature(body, 'whsec_someoneElse') })],
      ['signed more than five minutes ago', (body: string) => ({ body, header: signature(body, SECRET, Math.floor(Date.now() / 1000) - 301) })],
      ['altered after signing', (body: string) => ({ body: body.replace('"amount":2000', '"amount":1'), header: signature(body, SECRET) })],
      ['without a signature', (body: string) => ({ body, header: undefined })],
    ])('refuses a body %s with a 400 naming the header, and does nothing', async (_name, forge) => {
      const signed = await unsentEvent();
      const { body, header } = forge(signed);
      const res = await post(body, header).expect(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body.errors.map((e: { path: string }) => e.path)).toEqual(['headers.stripe-signature']);
      expect(await recorded(JSON.parse(body).id)).toEqual([]);
    });

    it('accepts the same body signed with the endpoint secret just now', async () => {
      const body = await unsentEvent();
      expect((await post(body, signature(body, SECRET)).expect(200)).body).toEqual({ received: true, outcome: 'disputed' });
    });
  });

  it('books a dispute once: the repeat delivery is answered duplicate and moves nothing', async () => {
    const { paymentId, intentId } = await payment('succeeded');
    const [disputes, clearing] = [await balance('disputes'), await balance('provider_clearing')];
    double.book.dispute(intentId, 800); // a part: twice would still fit within the capture
    const first = await delivery('charge.dispute.created', intentId);
    expect(first).toMatchObject({ status: 200, body: { received: true, outcome: 'disputed' } });
    const again = await double.webhooks.deliver(eventOf(first.eventId));
    expect(again).toMatchObject({ status: 200, body: { outcome: 'duplicate' } });
    expect(await row(paymentId)).toMatchObject({ status: 'disputed', amount_disputed_minor: '800' });
    expect(await balance('disputes')).toBe(disputes + 800);
    expect(await balance('provider_clearing')).toBe(clearing - 800);
    expect(await outbox(paymentId, 'payment.disputed')).toBe(1);
    expect(await recorded(first.eventId)).toEqual([{ outcome: 'disputed', detail: null, payment_id: paymentId }]);
  });

  it('answers a dispute on a payment still being processed with 409, so Stripe sends it again, and keeps nothing', async () => {
    const { paymentId, intentId } = await payment('authorized');
    double.book.dispute(intentId);
    const answer = await delivery('charge.dispute.created', intentId);
    expect(answer.status).toBe(409);
    expect(await recorded(answer.eventId)).toEqual([]);
    await withTenant(db, tenant.tenantId, (tx) => tx.query("UPDATE payments SET status = 'succeeded', amount_captured_minor = amount_minor WHERE id = $1", [paymentId]));
    expect(await double.webhooks.deliver(eventOf(answer.eventId))).toMatchObject({ status: 200, body: { outcome: 'disputed' } });
  });

  it('records a dispute on a payment that did not go through for ops, booking nothing', async () => {
    const { paymentId, intentId } = await payment('failed');
    const disputes = await balance('disputes');
    double.book.dispute(intentId);
    const answer = await delivery('charge.dispute.created', intentId);
    expect(answer).toMatchObject({ status: 200, body: { outcome: 'needs_review' } });
    expect(await recorded(answer.eventId)).toEqual([{ outcome: 'needs_review', detail: 'a dispute on a failed payment', payment_id: paymentId }]);
    expect(await balance('disputes')).toBe(disputes);
  });

  it('records a refund made outside FinFlow (the dashboard) for ops, and knows its own', async () => {
    const { paymentId, intentId } = await payment('succeeded');
    // FinFlow's own refund: reserved on the payment before it reaches the provider.
    await withTenant(db, tenant.tenantId, (tx) => tx.query('UPDATE payments SET amount_refunded_minor = 500 WHERE id = $1', [paymentId]));
    double.book.refund({ payment_intent: intentId, amount: 500, metadata: {} });
    const own = await delivery('charge.refunded', intentId);
    expect(own).toMatchObject({ status: 200, body: { outcome: 'refund_known' } });
    double.book.refund({ payment_intent: intentId, amount: 300, metadata: {} }); // someone refunds in the dashboard
    const elsewhere = await delivery('charge.refunded', intentId);
    expect(elsewhere).toMatchObject({ status: 200, body: { outcome: 'needs_review' } });
    expect((await recorded(elsewhere.eventId))[0].detail).toMatch(/800 minor units refunded, FinFlow refunded 500/);
  });

  describe('when the provider disputes more than is still with FinFlow', () => {
    it('books only what was captured and not refunded, flags the rest for review, and a won dispute returns what was booked', async () => {
      const { paymentId, intentId } = await payment('succeeded', 10000);
      // 4000 refunded by FinFlow before the dispute (reserved on the payment, paid out by the provider).
      await withTenant(db, tenant.tenantId, (tx) => tx.query('UPDATE payments SET amount_refunded_minor = 4000 WHERE id = $1', [paymentId]));
      await quietly(() => double.book.refund({ payment_intent: intentId, amount: 4000, metadata: {} }));
      const [disputes, clearing] = [await balance('disputes'), await balance('provider_clearing')];
      const dispute = double.book.dispute(intentId, 10000);
      const answer = await delivery('charge.dispute.created', intentId);
      expect(answer).toMatchObject({ status: 200, body: { received: true, outcome: 'needs_review' } });
      expect(await row(paymentId)).toMatchObject({ status: 'disputed', amount_disputed_minor: '6000' });
      expect(await balance('disputes')).toBe(disputes + 6000);
      expect(await balance('provider_clearing')).toBe(clearing - 6000);
      expect((await recorded(answer.eventId))[0]).toMatchObject({
        outcome: 'needs_review',
        detail: 'the provider disputes 10000 minor units, 6000 were left (captured 10000, refunded 4000, disputed before 0): 6000 booked',
      });
      expect(await outboxData(paymentId, 'payment.disputed')).toEqual([expect.objectContaining({ amountMinor: 6000, disputedMinor: 10000 })]);

      double.book.closeDispute(dispute.id as string, 'won');
      expect(await delivery('charge.dispute.closed', intentId)).toMatchObject({ status: 200, body: { outcome: 'dispute_closed' } });
      expect(await row(paymentId)).toMatchObject({ status: 'succeeded', amount_disputed_minor: '0' });
      expect(await balance('disputes')).toBe(disputes);
      expect(await balance('provider_clearing')).toBe(clearing);
    });
  });

  describe('when a dispute closes (charge.dispute.closed)', () => {
    /** A succeeded payment of 2000 with a dispute of `amount` booked through the webhook. */
    async function disputed(amount: number) {
      const p = await payment('succeeded');
      const dispute = double.book.dispute(p.intentId, amount);
      expect(await delivery('charge.dispute.created', p.intentId)).toMatchObject({ status: 200, body: { outcome: 'disputed' } });
      return { ...p, disputeId: dispute.id as string };
    }

    // A chargeback closes won or lost; warning_closed ends an inquiry, which booked nothing (see 'inquiries' below).
    it.each(['won'] as const)(
      'returns the money when it closes %s: the entry reversed, the payment succeeded again, payment.dispute_closed once, however often it is told',
      async (outcome) => {
        const [disputes, clearing] = [await balance('disputes'), await balance('provider_clearing')];
        const { paymentId, intentId, disputeId } = await disputed(800);
        expect(await balance('disputes')).toBe(disputes + 800);

        double.book.closeDispute(disputeId, outcome);
        const closed = await delivery('charge.dispute.closed', intentId);
        expect(closed).toMatchObject({ status: 200, body: { received: true, outcome: 'dispute_closed' } });
        expect(await row(paymentId)).toMatchObject({ status: 'succeeded', amount_disputed_minor: '0' });
        expect(await disputeStatus(paymentId)).toBe(outcome);
        expect(await balance('disputes')).toBe(disputes);
        expect(await balance('provider_clearing')).toBe(clearing);
        expect(await entries(paymentId)).toEqual(['standard', 'reversal']);

        // The same event again, another event closing the same dispute, the dispute's creation under a new event id:
        // nothing moves a second time.
        expect(await double.webhooks.deliver(eventOf(closed.eventId))).toMatchObject({ status: 200, body: { outcome: 'duplicate' } });
        expect(await double.webhooks.deliver(anotherEvent(closed.eventId))).toMatchObject({ status: 200, body: { outcome: 'duplicate' } });
        expect(await double.webhooks.deliver(anotherEvent(lastEvent('charge.dispute.created', intentId).id))).toMatchObject({ status: 200, body: { outcome: 'duplicate' } });
        expect(await row(paymentId)).toMatchObject({ status: 'succeeded', amount_disputed_minor: '0' });
        expect(await balance('disputes')).toBe(disputes);
        expect(await entries(paymentId)).toEqual(['standard', 'reversal']);
        expect(await outboxData(paymentId, 'payment.dispute_closed')).toEqual([
          { paymentId, disputeId, customerId: 'cus_hooks', outcome, amountMinor: 800, currency: 'EUR', status: 'succeeded' },
        ]);
      },
    );

    it('keeps the booking when it closes lost: the payment stays disputed (dispute lost), payment.dispute_closed says lost', async () => {
      const disputes = await balance('disputes');
      const { paymentId, intentId, disputeId } = await disputed(2000);
      double.book.closeDispute(disputeId, 'lost');
      const closed = await delivery('charge.dispute.closed', intentId);
      expect(closed).toMatchObject({ status: 200, body: { outcome: 'dispute_closed' } });
      expect(await double.webhooks.deliver(anotherEvent(closed.eventId))).toMatchObject({ status: 200, body: { outcome: 'duplicate' } });
      expect(await row(paymentId)).toMatchObject({ status: 'disputed', amount_disputed_minor: '2000' });
      expect(await disputeStatus(paymentId)).toBe('lost');
      expect(await balance('disputes')).toBe(disputes + 2000);
      expect(await entries(paymentId)).toEqual(['standard']);
      expect(await outboxData(paymentId, 'payment.dispute_closed')).toEqual([expect.objectContaining({ disputeId, outcome: 'lost', amountMinor: 2000, status: 'disputed' })]);
    });

    it('books nothing for a dispute whose win arrived before its creation (Stripe does not order events)', async () => {
      const disputes = await balance('disputes');
      const { paymentId, intentId } = await payment('succeeded');
      const dispute = await quietly(() => double.book.dispute(intentId, 800)); // its creation is held back
      double.book.closeDispute(dispute.id as string, 'won');
      expect(await delivery('charge.dispute.closed', intentId)).toMatchObject({ status: 200, body: { outcome: 'dispute_closed' } });
      const late = await double.webhooks.deliver(lastEvent('charge.dispute.created', intentId));
      expect(late).toMatchObject({ status: 200, body: { outcome: 'duplicate' } });
      expect(await row(paymentId)).toMatchObject({ status: 'succeeded', amount_disputed_minor: '0' });
      expect(await balance('disputes')).toBe(disputes);
      expect(await entries(paymentId)).toEqual([]);
    });

    it('books a dispute whose loss arrived before its creation, once: the money is gone', async () => {
      const disputes = await balance('disputes');
      const { paymentId, intentId } = await payment('succeeded');
      const dispute = await quietly(() => double.book.dispute(intentId, 800));
      double.book.closeDispute(dispute.id as string, 'lost');
      expect(await delivery('charge.dispute.closed', intentId)).toMatchObject({ status: 200, body: { outcome: 'dispute_closed' } });
      expect(await double.webhooks.deliver(lastEvent('charge.dispute.created', intentId))).toMatchObject({ status: 200, body: { outcome: 'duplicate' } });
      expect(await row(paymentId)).toMatchObject({ status: 'disputed', amount_disputed_minor: '800' });
      expect(await disputeStatus(paymentId)).toBe('lost');
      expect(await balance('disputes')).toBe(disputes + 800);
      expect(await entries(paymentId)).toEqual(['standard']);
    });

    it('records a dispute closed with a status it does not know for ops, moving nothing', async () => {
      const { paymentId, intentId, disputeId } = await disputed(800);
      const disputes = await balance('disputes');
      await quietly(() => double.book.closeDispute(disputeId, 'won')); // held back: sent below as Stripe might one day
      const held = lastEvent('charge.dispute.closed', intentId);
      const odd = { ...held, id: `evt_${randomUUID().replace(/-/g, '')}`, data: { object: { ...held.data.object, status: 'prevented' } } };
      expect(await double.webhooks.deliver(odd)).toMatchObject({ status: 200, body: { outcome: 'needs_review' } });
      expect(await recorded(odd.id)).toEqual([{ outcome: 'needs_review', detail: 'a dispute closed prevented', payment_id: paymentId }]);
      expect(await row(paymentId)).toMatchObject({ status: 'disputed', amount_disputed_minor: '800' });
      expect(await balance('disputes')).toBe(disputes);
    });
  });

  describe('when Stripe moves the money (inquiries, funds withdrawn and reinstated)', () => {
    const send = (eventId: string) => double.webhooks.deliver(eventOf(eventId));
    /** The events the double emitted about the dispute, newest last. */
    const eventsOf = (disputeId: string, type: string) => [...double.webhooks.events.values()].filter((e) => e.type === type && e.data.object.id === disputeId);
    const heldEvent = (disputeId: string, type: string) => eventsOf(disputeId, type).at(-1)!.id;
    /** An inquiry of `amount` on a new succeeded payment of 2000, its creation delivered. */
    async function inquiry(amount = 800) {
      const p = await payment('succeeded');
      const dispute = double.book.dispute(p.intentId, amount, 'warning_needs_response');
      const created = await delivery('charge.dispute.created', p.intentId);
      return { ...p, disputeId: dispute.id as string, created };
    }

    it('records an inquiry without moving money (the payment succeeded, disputeStatus inquiry on the API), and its warning_closed closes it with nothing to reverse', async () => {
      const [disputes, clearing] = [await balance('disputes'), await balance('provider_clearing')];
      const { paymentId, intentId, disputeId, created } = await inquiry();
      expect(created).toMatchObject({ status: 200, body: { received: true, outcome: 'inquiry' } });
      expect(await recorded(created.eventId)).toEqual([{ outcome: 'inquiry', detail: null, payment_id: paymentId }]);
      expect(await row(paymentId)).toMatchObject({ status: 'succeeded', amount_disputed_minor: '0' });
      expect(await disputeStatus(paymentId)).toBe('inquiry');
      const shown = await api.http().get(`/api/payments/${paymentId}`).set(bearer(tenant.admin.accessToken)).expect(200);
      expect(shown.body).toMatchObject({ status: 'succeeded', disputeStatus: 'inquiry', amountDisputedMinor: 0 });
      expect(await balance('disputes')).toBe(disputes);
      expect(await balance('provider_clearing')).toBe(clearing);
      expect(await entries(paymentId)).toEqual([]);
      expect(await outbox(paymentId, 'payment.disputed')).toBe(0);
      // Its creation again under another event id: still nothing.
      expect(await double.webhooks.deliver(anotherEvent(created.eventId))).toMatchObject({ status: 200, body: { outcome: 'duplicate' } });

      double.book.closeDispute(disputeId, 'warning_closed');
      expect(await delivery('charge.dispute.closed', intentId)).toMatchObject({ status: 200, body: { outcome: 'dispute_closed' } });
      expect(await row(paymentId)).toMatchObject({ status: 'succeeded', amount_disputed_minor: '0' });
      expect(await disputeStatus(paymentId)).toBe('warning_closed');
      expect(await balance('disputes')).toBe(disputes);
      expect(await balance('provider_clearing')).toBe(clearing);
      expect(await entries(paymentId)).toEqual([]);
      expect(await outboxData(paymentId, 'payment.dispute_closed')).toEqual([
        { paymentId, disputeId, customerId: 'cus_hooks', outcome: 'warning_closed', amountMinor: 0, currency: 'EUR', status: 'succeeded' },
      ]);
    });

    it.each([
      ['charge.dispute.updated, then funds_withdrawn', ['charge.dispute.updated', 'charge.dispute.funds_withdrawn']],
      ['funds_withdrawn, then charge.dispute.updated', ['charge.dispute.funds_withdrawn', 'charge.dispute.updated']],
      ['charge.dispute.updated alone', ['charge.dispute.updated']],
    ])('books an inquiry that becomes a chargeback once (%s), and its win returns it once', async (_name, order) => {
      const [disputes, clearing] = [await balance('disputes'), await balance('provider_clearing')];
      const { paymentId, intentId, disputeId } = await inquiry();
      await quietly(() => {
        double.book.escalate(disputeId);
        double.book.withdrawFunds(disputeId);
      });
      const answers = [];
      for (const type of order) answers.push(await send(heldEvent(disputeId, type)));
      expect(answers.map((a) => a!.body)).toEqual([{ received: true, outcome: 'disputed' }, ...order.slice(1).map(() => ({ received: true, outcome: 'duplicate' }))]);
      expect(await row(paymentId)).toMatchObject({ status: 'disputed', amount_disputed_minor: '800' });
      expect(await disputeStatus(paymentId)).toBe('open');
      expect(await balance('disputes')).toBe(disputes + 800);
      expect(await balance('provider_clearing')).toBe(clearing - 800);
      expect(await entries(paymentId)).toEqual(['standard']);
      expect(await outboxData(paymentId, 'payment.disputed')).toEqual([expect.objectContaining({ disputeId, amountMinor: 800, disputedMinor: 800 })]);

      double.book.closeDispute(disputeId, 'won');
      expect(await delivery('charge.dispute.closed', intentId)).toMatchObject({ status: 200, body: { outcome: 'dispute_closed' } });
      double.book.reinstateFunds(disputeId);
      expect(await delivery('charge.dispute.funds_reinstated', intentId)).toMatchObject({ status: 200, body: { outcome: 'duplicate' } });
      expect(await row(paymentId)).toMatchObject({ status: 'succeeded', amount_disputed_minor: '0' });
      expect(await disputeStatus(paymentId)).toBe('won');
      expect(await balance('disputes')).toBe(disputes);
      expect(await balance('provider_clearing')).toBe(clearing);
      expect(await entries(paymentId)).toEqual(['standard', 'reversal']);
    });

    it.each([
      ['charge.dispute.created, then funds_withdrawn', ['charge.dispute.created', 'charge.dispute.funds_withdrawn']],
      ['funds_withdrawn, then charge.dispute.created', ['charge.dispute.funds_withdrawn', 'charge.dispute.created']],
      ['funds_withdrawn alone', ['charge.dispute.funds_withdrawn']],
    ])('books a chargeback once whichever of its events arrives first (%s)', async (_name, order) => {
      const [disputes, clearing] = [await balance('disputes'), await balance('provider_clearing')];
      const { paymentId, intentId } = await payment('succeeded');
      const dispute = await quietly(() => double.book.dispute(intentId, 800));
      await quietly(() => double.book.withdrawFunds(dispute.id as string));
      const answers = [];
      for (const type of order) answers.push(await send(heldEvent(dispute.id as string, type)));
      expect(answers.map((a) => a!.body)).toEqual([{ received: true, outcome: 'disputed' }, ...order.slice(1).map(() => ({ received: true, outcome: 'duplicate' }))]);
      expect(await row(paymentId)).toMatchObject({ status: 'disputed', amount_disputed_minor: '800' });
      expect(await disputeStatus(paymentId)).toBe('open');
      expect(await balance('disputes')).toBe(disputes + 800);
      expect(await balance('provider_clearing')).toBe(clearing - 800);
      expect(await entries(paymentId)).toEqual(['standard']);
      expect(await outbox(paymentId, 'payment.disputed')).toBe(1);
    });

    it.each([
      ['charge.dispute.closed won, then funds_reinstated', ['charge.dispute.closed', 'charge.dispute.funds_reinstated']],
      ['funds_reinstated, then charge.dispute.closed won', ['charge.dispute.funds_reinstated', 'charge.dispute.closed']],
    ])('returns a won chargeback once whichever of its events arrives first (%s)', async (_name, order) => {
      const [disputes, clearing] = [await balance('disputes'), await balance('provider_clearing')];
      const { paymentId, intentId } = await payment('succeeded');
      const dispute = double.book.dispute(intentId, 800);
      expect(await delivery('charge.dispute.created', intentId)).toMatchObject({ status: 200, body: { outcome: 'disputed' } });
      await quietly(() => {
        double.book.closeDispute(dispute.id as string, 'won');
        double.book.reinstateFunds(dispute.id as string);
      });
      const answers = [];
      for (const type of order) answers.push(await send(heldEvent(dispute.id as string, type)));
      expect(answers.map((a) => a!.body)).toEqual([
        { received: true, outcome: 'dispute_closed' },
        { received: true, outcome: 'duplicate' },
      ]);
      expect(await row(paymentId)).toMatchObject({ status: 'succeeded', amount_disputed_minor: '0' });
      expect(await disputeStatus(paymentId)).toBe('won');
      expect(await balance('disputes')).toBe(disputes);
      expect(await balance('provider_clearing')).toBe(clearing);
      expect(await entries(paymentId)).toEqual(['standard', 'reversal']);
      expect(await outboxData(paymentId, 'payment.dispute_closed')).toEqual([expect.objectContaining({ disputeId: dispute.id, outcome: 'won', amountMinor: 800, status: 'succeeded' })]);
    });
  });

  it('answers an event about an intent no payment has with 200, recorded unmatched', async () => {
    double.book.create({ amount: 700, currency: 'eur', payment_method: 'pm_card_visa', capture_method: 'automatic', metadata: {}, confirm: true });
    await double.webhooks.settled();
    const last = double.webhooks.deliveries.at(-1)!;
    expect(last).toMatchObject({ type: 'payment_intent.succeeded', status: 200, body: { outcome: 'unmatched' } });
  });

  it('answers an intent event for a payment whose saga has ended with 200, recorded saga_ended', async () => {
    const { paymentId, intentId } = await payment('succeeded');
    // Its payment_intent.succeeded, kept back so far, arrives late: no saga runs for it any more.
    const answer = await double.webhooks.deliver(lastEvent('payment_intent.succeeded', intentId));
    expect(answer).toMatchObject({ status: 200, body: { outcome: 'saga_ended' } });
    expect(await recorded(answer!.eventId)).toEqual([{ outcome: 'saga_ended', detail: null, payment_id: paymentId }]);
  });
});
