/**
 * The front door's limits, with their defaults, on a private Redis key prefix so no other test counts. The limiter
 * counts in fixed one-minute windows, and a burst may start anywhere in a minute: each test sends until it is
 * refused and then checks the window the refusal came in (the `limit` answers just before it), so a burst that
 * straddles two windows needs no waiting for a fresh one.
 */
import { randomUUID } from 'node:crypto';
import type { Response } from 'supertest';
import { bearer, PASSWORD, registerTenant, startApi, type TestApi } from '../support/api';
import { eventually } from '../support/eventually';

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

describe('the client address behind proxies', () => {
  it('is the one the trusted proxy saw: a spoofed X-Forwarded-For mints no new bucket', async () => {
    // TRUST_PROXY=true: one load balancer, which appends the address it saw to what the client sent.
    const api = startApi({ TRUST_PROXY: 'true', RATE_LIMIT_IP_PER_MINUTE: '5', REDIS_KEY_PREFIX: `finflow:test:rl:${randomUUID()}:` });
    try {
      const viaProxy = (clientSent: string) => api.http().get('/.well-known/jwks.json').set('X-Forwarded-For', `${clientSent}, 203.0.113.7`);
      const { allowed, refused } = await untilRefused(() => viaProxy(`198.51.100.${Math.floor(Math.random() * 250)}, 10.0.${Math.floor(Math.random() * 250)}.1`), 5);
      expectAFullWindowBefore(allowed, 5, 'ip');
      expectRefusal(refused, 'ip', 5);
    } finally {
      await api.close();
    }
  });

  it('gives each client behind a shared ingress its own bucket (two trusted hops), whatever it writes itself', async () => {
    // A CDN in front of the load balancer: the header ends "<client>, <CDN edge>" and every request reaches the API
    // from the one load balancer address.
    const api = startApi({ TRUST_PROXY_HOPS: '2', RATE_LIMIT_IP_PER_MINUTE: '5', REDIS_KEY_PREFIX: `finflow:test:rl:${randomUUID()}:` });
    try {
      const from = (client: string) => api.http().get('/.well-known/jwks.json').set('X-Forwarded-For', `${randomUUID().slice(0, 8)}, ${client}, 192.0.2.10`);
      const { allowed, refused } = await untilRefused(() => from('198.51.100.1'), 5);
      expectAFullWindowBefore(allowed, 5, 'ip');
      expectRefusal(refused, 'ip', 5);
      const other = await from('198.51.100.2').expect(200);
      expect(other.headers.ratelimit).toMatch(/^"ip";r=4;t=\d+$/);
    } finally {
      await api.close();
    }
  });
});

describe('logging in', () => {
  // A first wait of a minute: the attempt right after the fifth is refused however slow the machine.
  const throttled = (env: NodeJS.ProcessEnv = {}) =>
    startApi({ TRUST_PROXY_HOPS: '1', AUTH_LOGIN_BACKOFF_SECONDS: '60', REDIS_KEY_PREFIX: `finflow:test:rl:${randomUUID()}:`, ...env });
  const login = (api: TestApi, email: string, password: string, ip = '198.51.100.1') =>
    api.http().post('/api/auth/login').set('X-Forwarded-For', ip).send({ email, password });

  it('is throttled per account after repeated wrong passwords, from any address, even with the right password', async () => {
    const api = throttled();
    try {
      const [victim, bystander] = [await registerTenant(api), await registerTenant(api)];
      for (let i = 0; i < 5; i++) await login(api, victim.adminEmail, `wrong password ${i}`, `198.51.100.${i}`).expect(401);
      const refused = await login(api, victim.adminEmail, PASSWORD, '198.51.100.77');
      expect(refused.status).toBe(429);
      expect(refused.body).toMatchObject({ type: 'urn:finflow:problem:rate-limited', status: 429 });
      expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(60);
      expect(refused.body.accessToken).toBeUndefined();
      // Another account, from the same addresses, is not affected.
      await login(api, bystander.adminEmail, PASSWORD, '198.51.100.0').expect(200);
    } finally {
      await api.close();
    }
  });

  it('lets the right password in once the wait is over, which clears the count', async () => {
    const api = throttled({ AUTH_LOGIN_BACKOFF_SECONDS: '1' });
    try {
      const victim = await registerTenant(api);
      for (let i = 0; i < 5; i++) await login(api, victim.adminEmail, `wrong password ${i}`).expect(401);
      await eventually('the login wait to end', async () => (await login(api, victim.adminEmail, PASSWORD)).status === 200, 30_000);
      for (let i = 0; i < 5; i++) await login(api, victim.adminEmail, `wrong again ${i}`).expect(401);
    } finally {
      await api.close();
    }
  });

  it('answers an unknown email the same way, so throttling reveals no account', async () => {
    const api = throttled();
    try {
      const email = `nobody-${randomUUID().slice(0, 8)}@example.test`;
      for (let i = 0; i < 5; i++) await login(api, email, `guess ${i}`).expect(401);
      await login(api, email, 'guess 5').expect(429);
    } finally {
      await api.close();
    }
  });
});

describe('registering', () => {
  it('is limited per client address', async () => {
    const api = startApi({ TRUST_PROXY_HOPS: '1', RATE_LIMIT_REGISTRATIONS_PER_HOUR: '3', REDIS_KEY_PREFIX: `finflow:test:rl:${randomUUID()}:` });
    try {
      const register = (ip: string) => {
        const slug = `t-${randomUUID().slice(0, 12)}`;
        return api
          .http()
          .post('/api/auth/register')
          .set('X-Forwarded-For', ip)
          .send({ organisation: { name: `Org ${slug}`, slug }, admin: { email: `admin@${slug}.test`, password: PASSWORD, displayName: 'Admin' } });
      };
      const { refused } = await untilRefused(() => register('198.51.100.9'), 3);
      expect(refused.body).toMatchObject({ type: 'urn:finflow:problem:rate-limited', status: 429 });
      expect(refused.headers['ratelimit-policy']).toContain('"registration";q=3;w=3600');
      await register('198.51.100.10').expect(201);
    } finally {
      await api.close();
    }
  });
});
