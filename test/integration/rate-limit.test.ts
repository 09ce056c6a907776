/**
 * The front door's limits, with their defaults, on a private Redis key prefix so no other test counts. The limiter
 * counts in fixed one-minute windows, and a burst may start anywhere in a minute: each test sends until it is
 * refused and then checks the window the refusal came in (the `limit` answers just before it), so a burst that
 * straddles two windows needs no waiting for a fresh one.
 */
import { randomUUID } from 'node:crypto';
import type { Response } from 'supertest';
import { bearer, registerTenant, startApi } from '../support/api';

const RATE_LIMIT = /^"(ip|tenant)";r=(\d+);t=(\d+)$/;

/**
 * Sends requests one at a time until one is answered 429, and returns the refusal with the answers before it.
 * A window that started mid-burst holds at most `limit` allowed requests, so more than 2 * limit + 1 answers
 * without a refusal means the limit is not enforced.
 */
async function untilRefused(send: () => Promise<Response>, limit: number): Promise<{ allowed: Response[]; refused: Response }> {
  const allowed: Response[] = [];
  while (allowed.length <= 2 * limit) {
    const res = await send();
    if (res.status === 429) return { allowed, refused: res };
    expect(res.status).toBeLessThan(400);
    allowed.push(res);
  }
  throw new Error(`${allowed.length} requests in a row were allowed with a limit of ${limit} per minute`);
}

/** The window of the refusal holds exactly the `limit` answers before it, counting down to 0 remaining. */
function expectAFullWindowBefore(allowed: Response[], limit: number, scope: 'ip' | 'tenant') {
  const window = allowed.slice(-limit);
  expect(window.map((r) => r.headers['ratelimit-policy'])).toEqual(window.map(() => `"${scope}";q=${limit};w=60`));
  expect(window.map((r) => RATE_LIMIT.exec(r.headers.ratelimit ?? '')?.slice(1, 3))).toEqual(window.map((_, i) => [scope, String(limit - 1 - i)]));
}

function expectRefusal(refused: Response, scope: 'ip' | 'tenant', limit: number) {
  expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(refused.body).toMatchObject({ type: 'urn:finflow:problem:rate-limited', status: 429 });
  expect(refused.headers['ratelimit-policy']).toBe(`"${scope}";q=${limit};w=60`);
  expect(refused.headers.ratelimit).toMatch(new RegExp(`^"${scope}";r=0;t=\\d+$`));
  const retryAfter = Number(refused.headers['retry-after']);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
  expect(refused.body.retryAfterSeconds).toBe(retryAfter);
}

describe('rate limiting', () => {
  it('answers the 101st request in a minute from one IP with 429, Retry-After and RateLimit headers', async () => {
    const api = startApi({ RATE_LIMIT_IP_PER_MINUTE: '', REDIS_KEY_PREFIX: `finflow:test:rl:${randomUUID()}:` });
    try {
      expect(api.deps.config.RATE_LIMIT_IP_PER_MINUTE).toBe(100); // the default, as the seed asks
      const { allowed, refused } = await untilRefused(() => api.http().get('/.well-known/jwks.json'), 100);
      expect(allowed.length).toBeGreaterThanOrEqual(100);
      expectAFullWindowBefore(allowed, 100, 'ip');
      expectRefusal(refused, 'ip', 100);
      // Probes stay answerable for the orchestrator even while the client is throttled.
      await api.http().get('/health').expect(200);
    } finally {
      await api.close();
    }
  });

  it('limits each tenant on its own', async () => {
    const api = startApi({ RATE_LIMIT_TENANT_PER_MINUTE: '5', REDIS_KEY_PREFIX: `finflow:test:rl:${randomUUID()}:` });
    try {
      const [a, b] = [await registerTenant(api), await registerTenant(api)];
      const { allowed, refused } = await untilRefused(() => api.http().get('/api/me').set(bearer(a.admin.accessToken)), 5);
      expectAFullWindowBefore(allowed, 5, 'tenant');
      expectRefusal(refused, 'tenant', 5);
      const other = await api.http().get('/api/me').set(bearer(b.admin.accessToken)).expect(200);
      expect(other.headers.ratelimit).toMatch(/^"tenant";r=4;t=\d+$/);
    } finally {
      await api.close();
    }
  });
});
