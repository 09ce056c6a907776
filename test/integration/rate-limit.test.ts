/** The front door's limits, with their defaults, on a private Redis key prefix so no other test counts. */
import { randomUUID } from 'node:crypto';
import { bearer, registerTenant, startApi } from '../support/api';

/** Fixed one-minute windows: start a burst early in a window so it cannot straddle two. */
async function startOfAFreshWindowSoon() {
  const intoMinute = Date.now() % 60_000;
  if (intoMinute > 45_000) await new Promise((r) => setTimeout(r, 60_000 - intoMinute + 50));
}

describe('rate limiting', () => {
  it('answers the 101st request in a minute from one IP with 429, Retry-After and RateLimit headers', async () => {
    const api = startApi({ RATE_LIMIT_IP_PER_MINUTE: '', REDIS_KEY_PREFIX: `finflow:test:rl:${randomUUID()}:` });
    try {
      expect(api.deps.config.RATE_LIMIT_IP_PER_MINUTE).toBe(100); // the default, as the seed asks
      await startOfAFreshWindowSoon();
      for (let i = 1; i <= 100; i++) {
        const ok = await api.http().get('/.well-known/jwks.json').expect(200);
        expect(ok.headers['ratelimit-policy']).toBe('"ip";q=100;w=60');
        expect(ok.headers.ratelimit).toMatch(new RegExp(`^"ip";r=${100 - i};t=\\d+$`));
      }
      const limited = await api.http().get('/.well-known/jwks.json').expect(429);
      expect(limited.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(limited.body.type).toBe('urn:finflow:problem:rate-limited');
      expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
      expect(limited.headers.ratelimit).toMatch(/^"ip";r=0;t=\d+$/);
      // Probes stay answerable for the orchestrator even while the client is throttled.
      await api.http().get('/health').expect(200);
    } finally {
      await api.close();
    }
  });

  it('limits each tenant on its own', async () => {
    const api = startApi({ RATE_LIMIT_TENANT_PER_MINUTE: '5', REDIS_KEY_PREFIX: `finflow:test:rl:${randomUUID()}:` });
    try {
      await startOfAFreshWindowSoon();
      const [a, b] = [await registerTenant(api), await registerTenant(api)];
      for (let i = 0; i < 5; i++) await api.http().get('/api/me').set(bearer(a.admin.accessToken)).expect(200);
      const limited = await api.http().get('/api/me').set(bearer(a.admin.accessToken)).expect(429);
      expect(limited.headers['ratelimit-policy']).toBe('"tenant";q=5;w=60');
      await api.http().get('/api/me').set(bearer(b.admin.accessToken)).expect(200);
    } finally {
      await api.close();
    }
  });
});
