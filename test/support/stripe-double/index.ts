/**
 * FOR TESTS: a Stripe double, for what stripe-mock cannot do (it is stateless: canned answers, no intent state, no
 * webhooks). An HTTP server on port 0 speaking the subset of Stripe's REST API the adapter uses (form-encoded
 * requests, Stripe's error objects, Idempotency-Key replays): payment intents create / confirm / retrieve / capture /
 * cancel / search, refunds. It keeps Stripe's intent state machine (intents.ts), lags Search behind writes as
 * Stripe documents (about a minute; `searchLagMs`), and sends signed webhooks after the fact to `webhookUrl`
 * (webhooks.ts). The real StripeProvider points at it through the SDK's host/port/protocol options; stripe-mock stays
 * the local default server.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type Stripe from 'stripe';
import { stripeClientAt } from '../../../activities/payments/provider/stripe';
import { IntentBook, StripeFailure, type Intent } from './intents';
import { WebhookSender } from './webhooks';

export { signature } from './webhooks';
export type { Delivery, StripeEvent } from './webhooks';

export interface StripeDouble {
  url: string;
  /** A Stripe SDK client pointed at the double. */
  client(): Stripe;
  book: IntentBook;
  webhooks: WebhookSender;
  /** How many requests reached each route (`POST /v1/payment_intents/:id/capture`...), per intent id where there is one. */
  requests: { method: string; route: string; intentId?: string }[];
  count(route: string, intentId?: string): number;
  close(): Promise<void>;
}

type Params = Record<string, string>;

/** Stripe's form encoding, flattened: `metadata[finflow_payment_id]`, `expand[0]`. */
const flat = (raw: string): Params => Object.fromEntries(new URLSearchParams(raw));
const nested = (p: Params, key: string): Record<string, string> =>
  Object.fromEntries(Object.entries(p).filter(([k]) => k.startsWith(`${key}[`)).map(([k, v]) => [k.slice(key.length + 1, -1), v]));
const expands = (p: Params) => Object.values(nested(p, 'expand'));

async function body(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startStripeDouble(opts: { webhookSecret: string; webhookUrl?: string; searchLagMs?: number }): Promise<StripeDouble> {
  const webhooks = new WebhookSender(opts.webhookUrl, opts.webhookSecret);
  const book = new IntentBook(webhooks);
  const searchLagMs = opts.searchLagMs ?? 60_000;
  const idempotent = new Map<string, { request: string; status: number; body: unknown }>();
  const requests: StripeDouble['requests'] = [];

  function route(method: string, path: string, p: Params): { route: string; intentId?: string; run: () => unknown } | undefined {
    const m = /^\/v1\/payment_intents\/(pi_[A-Za-z0-9]+)(?:\/(confirm|capture|cancel))?$/.exec(path);
    if (method === 'POST' && path === '/v1/payment_intents') {
      const run = () =>
        book.expanded(
          book.create({ amount: Number(p.amount), currency: p.currency!, payment_method: p.payment_method, capture_method: p.capture_method, metadata: nested(p, 'metadata'), confirm: p.confirm === 'true' }),
          expands(p),
        );
      return { route: 'POST /v1/payment_intents', run };
    }
    if (method === 'GET' && path === '/v1/payment_intents/search') return { route: 'GET /v1/payment_intents/search', run: () => search(p.query ?? '') };
    if (m && method === 'GET' && !m[2]) return { route: 'GET /v1/payment_intents/:id', intentId: m[1], run: () => book.expanded(book.get(m[1]!), expands(p)) };
    if (m && method === 'POST' && m[2]) {
      const act = { confirm: () => book.confirm(m[1]!), capture: () => book.capture(m[1]!), cancel: () => book.cancel(m[1]!) }[m[2] as 'confirm' | 'capture' | 'cancel'];
      return { route: `POST /v1/payment_intents/:id/${m[2]}`, intentId: m[1], run: () => book.expanded(act(), expands(p)) };
    }
    if (method === 'POST' && path === '/v1/refunds') {
      const run = () => book.refund({ payment_intent: p.payment_intent!, amount: p.amount ? Number(p.amount) : undefined, metadata: nested(p, 'metadata') });
      return { route: 'POST /v1/refunds', intentId: p.payment_intent, run };
    }
    return undefined;
  }

  /** Stripe Search: only intents indexed by now, i.e. created at least `searchLagMs` ago. */
  function search(query: string) {
    const m = /^metadata\['([^']+)'\]:'([^']*)'$/.exec(query);
    const indexedBefore = Date.now() - searchLagMs;
    const data = [...book.intents.values()].filter((i: Intent) => m && i.metadata[m[1]!] === m[2] && i.created * 1000 <= indexedBefore);
    return { object: 'search_result', data, has_more: false, next_page: null, url: '/v1/payment_intents/search' };
  }

  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url!, 'http://double');
      const raw = req.method === 'GET' ? url.search.slice(1) : await body(req);
      const found = route(req.method!, url.pathname, flat(raw));
      const answer = (status: number, payload: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json', 'request-id': `req_${Date.now()}` });
        res.end(JSON.stringify(payload));
      };
      if (!found) return answer(404, { error: { type: 'invalid_request_error', message: `Unrecognized request URL (${req.method}: ${url.pathname})` } });
      requests.push({ method: req.method!, route: found.route, intentId: found.intentId });
      const key = req.headers['idempotency-key'] as string | undefined;
      const fingerprint = `${req.method} ${url.pathname} ${raw}`;
      const seen = key ? idempotent.get(key) : undefined;
      if (seen && seen.request !== fingerprint) {
        return answer(400, { error: { type: 'idempotency_error', message: 'Keys for idempotent requests can only be used with the same parameters they were first used with.' } });
      }
      if (seen) return answer(seen.status, seen.body);
      let status = 200;
      let payload: unknown;
      try {
        payload = found.run();
      } catch (err) {
        if (!(err instanceof StripeFailure)) throw err;
        [status, payload] = [err.status, { error: err.error }];
      }
      if (key && req.method === 'POST') idempotent.set(key, { request: fingerprint, status, body: payload });
      answer(status, payload);
    })().catch((err: unknown) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { type: 'api_error', message: String(err) } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    client: () => stripeClientAt(url, 'sk_test_double'),
    book,
    webhooks,
    requests,
    count: (r, intentId) => requests.filter((q) => q.route === r && (intentId === undefined || q.intentId === intentId)).length,
    async close() {
      await webhooks.settled();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
