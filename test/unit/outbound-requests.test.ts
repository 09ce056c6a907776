/**
 * Server-side request forgery (OWASP API7): FinFlow fetches no URL a caller gives it. The only outbound HTTP client
 * in product code is the Stripe SDK, pointed at Stripe or, locally, at the configured STRIPE_MOCK_URL; a webhook is
 * received, never sent, and a 3-D Secure redirectUrl is handed to the client, never followed. This reads the product
 * code: a new HTTP client (fetch, node:http's request, axios...) anywhere fails here until it is reviewed.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.join(__dirname, '../..');
const PRODUCT = ['api', 'activities', 'core', 'modules', 'platform', 'workers', 'workflows'];
const files = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)) : /\.(ts|mts|js)$/.test(e.name) ? [path.join(dir, e.name)] : []));
const source = PRODUCT.flatMap((d) => files(path.join(ROOT, d))).map((f) => ({ file: path.relative(ROOT, f), text: readFileSync(f, 'utf8') }));

/** Ways to open an outbound connection from Node. */
const CLIENTS = [
  /\bfetch\s*\(/,
  /XMLHttpRequest|WebSocket\s*\(/,
  /from ['"](node:)?(https?|http2|net|tls|dgram)['"]|require\(['"](node:)?(https?|http2|net|tls|dgram)['"]\)/,
  /from ['"](axios|undici|got|node-fetch|superagent|request|ky)['"]/,
  /from ['"]stripe['"]/,
];
/** The reviewed ones, and why each cannot reach an address a caller chose. */
const REVIEWED: Record<string, string> = {
  'activities/payments/provider/stripe.ts': 'the Stripe SDK: Stripe itself, or the configured STRIPE_MOCK_URL',
  'activities/payments/provider/sandbox.ts': 'the Stripe SDK client it is given (the stripe-mock sandbox)',
  'api/webhooks/stripe-service.ts': 'the Stripe SDK only to verify webhook signatures (no request)',
  'platform/health/server.ts': 'node:http as a server (the workers’ health port), never a client',
};

describe('outbound requests', () => {
  it('are made only by the reviewed modules', () => {
    expect(source.length).toBeGreaterThan(100);
    const clients = source.filter((s) => CLIENTS.some((c) => c.test(s.text))).map((s) => s.file);
    expect(clients.sort()).toEqual(Object.keys(REVIEWED).sort());
  });

  it('the health server only listens', () => {
    const health = source.find((s) => s.file === 'platform/health/server.ts')!.text;
    expect(health).toContain('http.createServer(');
    expect(health).not.toMatch(/http\.(request|get)\s*\(/);
  });

  it('the Stripe client is built from configuration only, never from a request', () => {
    const builds = source.filter((s) => /stripeClient(At)?\(/.test(s.text.replace(/export function stripeClient(At)?\(/g, '')));
    const calls = builds.flatMap((s) => [...s.text.matchAll(/stripeClient(?:At)?\(([^)]*)\)/g)].map((m) => `${s.file}: ${m[1]}`)).filter((c) => !/url: string|opts: \{/.test(c));
    expect(calls.length).toBeGreaterThan(0);
    for (const call of calls) expect(call).toMatch(/cfg\.STRIPE_(API_KEY|MOCK_URL)|opts\.mockUrl/);
  });
});
