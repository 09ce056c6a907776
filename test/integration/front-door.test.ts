/**
 * The front door's checks when they share one Redis round trip (api/middleware/front-door.ts): what the per-IP
 * limit, the session check and the per-tenant limit did one by one still holds for an access token.
 */
import { randomUUID } from 'node:crypto';
import { bearer, PASSWORD, registerTenant, startApi } from '../support/api';

const prefix = () => `finflow:test:front-door:${randomUUID()}:`;

describe('the front door, for an access token', () => {
  it("does not count a closed session's requests against its tenant's limit", async () => {
    const api = startApi({ RATE_LIMIT_TENANT_PER_MINUTE: '3', RATE_LIMIT_IP_PER_MINUTE: '1000', REDIS_KEY_PREFIX: prefix() });
    try {
      const tenant = await registerTenant(api);
      // A second session of the same person; the first one then logs out.
      const other = await api.http().post('/api/auth/login').send({ email: tenant.adminEmail, password: PASSWORD }).expect(200);
      await api.http().post('/api/auth/logout').set(bearer(tenant.admin.accessToken)).expect(204);
      for (let i = 0; i < 6; i++) await api.http().get('/api/me').set(bearer(tenant.admin.accessToken)).expect(401);
      // Only the logout was counted (it was let in): the open session has the rest of the window.
      const me = await api.http().get('/api/me').set(bearer(other.body.accessToken)).expect(200);
      expect(me.headers.ratelimit).toMatch(/^"tenant";r=1;t=\d+$/);
    } finally {
      await api.close();
    }
  });

  it('counts a request whose token fails verification against its IP, and refuses it past the limit', async () => {
    const api = startApi({ RATE_LIMIT_IP_PER_MINUTE: '3', REDIS_KEY_PREFIX: prefix() });
    try {
      const tenant = await registerTenant(api); // the registration is the window's first request
      const [head, payload, signature] = tenant.admin.accessToken.split('.') as [string, string, string];
      const forged = `${head}.${payload}.${signature.slice(0, -2)}${signature.endsWith('AA') ? 'BB' : 'AA'}`;
      const answers: number[] = [];
      for (let i = 0; i < 3; i++) answers.push((await api.http().get('/api/me').set(bearer(forged))).status);
      // Two more fit in the window of 3; the third is refused, whichever window the burst straddles.
      expect(answers).toContain(429);
      expect(answers.every((s) => s === 401 || s === 429)).toBe(true);
    } finally {
      await api.close();
    }
  });
});
