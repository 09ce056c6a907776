/**
 * The double's webhook side: events built as Stripe builds them (`evt_...`, `data.object`), signed with Stripe's
 * documented scheme (header `Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" keyed by the
 * endpoint secret>`), and POSTed to the endpoint after the fact, as Stripe does. Every delivery and the endpoint's
 * answer are kept, so tests can wait for them and send one again.
 */
import { createHmac, randomBytes } from 'node:crypto';

export interface StripeEvent {
  id: string;
  object: 'event';
  type: string;
  created: number;
  livemode: false;
  api_version: string;
  pending_webhooks: number;
  request: { id: null; idempotency_key: null };
  data: { object: Record<string, unknown> };
}

export interface Delivery {
  eventId: string;
  type: string;
  /** The id of the object the event is about (a pi_..., ch_... or dp_...), and the intent it belongs to. */
  objectId: string;
  intentId: string | undefined;
  status: number;
  body: unknown;
}

export const stripeId = (prefix: string) => `${prefix}_${randomBytes(12).toString('hex')}`;

export function signature(body: string, secret: string, timestamp = Math.floor(Date.now() / 1000)): string {
  const v1 = createHmac('sha256', secret).update(`${timestamp}.${body}`, 'utf8').digest('hex');
  return `t=${timestamp},v1=${v1}`;
}

export class WebhookSender {
  readonly deliveries: Delivery[] = [];
  readonly events = new Map<string, StripeEvent>();
  private inFlight = new Set<Promise<void>>();

  constructor(
    public url: string | undefined,
    private readonly secret: string,
  ) {}

  /** Records the event and delivers it once the current request has been answered (after the fact, as Stripe does). */
  emit(type: string, object: Record<string, unknown>): StripeEvent {
    const event: StripeEvent = {
      id: stripeId('evt'),
      object: 'event',
      type,
      created: Math.floor(Date.now() / 1000),
      livemode: false,
      api_version: '2026-10-28.endive',
      pending_webhooks: 1,
      request: { id: null, idempotency_key: null },
      data: { object: structuredClone(object) },
    };
    this.events.set(event.id, event);
    const sending = new Promise<void>((resolve) => setImmediate(resolve)).then(async () => void (await this.deliver(event)));
    this.inFlight.add(sending);
    void sending.finally(() => this.inFlight.delete(sending));
    return event;
  }

  /** Sends an event (again), signed now. */
  async deliver(event: StripeEvent): Promise<Delivery | undefined> {
    if (!this.url) return undefined;
    const body = JSON.stringify(event);
    return this.post(event, body, signature(body, this.secret));
  }

  /** Sends an event with a signature of the test's choosing (a wrong secret, a stale timestamp, none). */
  async post(event: StripeEvent, body: string, header: string | undefined): Promise<Delivery> {
    const object = event.data.object;
    const delivery: Delivery = {
      eventId: event.id,
      type: event.type,
      objectId: String(object.id),
      intentId: object.object === 'payment_intent' ? String(object.id) : (object.payment_intent as string | undefined),
      status: 0,
      body: undefined,
    };
    try {
      const res = await fetch(this.url!, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-8', 'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)', ...(header ? { 'stripe-signature': header } : {}) },
        body,
      });
      delivery.status = res.status;
      delivery.body = await res.json().catch(() => undefined);
    } catch (err) {
      delivery.body = String(err);
    }
    this.deliveries.push(delivery);
    return delivery;
  }

  async settled(): Promise<void> {
    while (this.inFlight.size) await Promise.all([...this.inFlight]);
  }
}
