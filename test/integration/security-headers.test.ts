/**
 * Security misconfiguration (OWASP API8): every answer carries the API's security headers, problems and public routes
 * included, and CORS answers only the configured origins.
 */
import { startApi, type TestApi } from '../support/api';

const ALLOWED = 'https://app.finflow.example';
let api: TestApi;
beforeAll(() => {
  api = startApi({ CORS_ORIGINS: ALLOWED });
});
afterAll(() => api.close());

describe('every answer', () => {
  it.each([
    ['a public route', '/health', 200],
    ['a protected route without a credential', '/api/me', 401],
    ['an unknown route', '/api/nope', 404],
  ])('carries the security headers: %s', async (_name, url, status) => {
    const res = await api.http().get(url).expect(status);
    expect(res.headers).toMatchObject({
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer',
      'strict-transport-security': expect.stringMatching(/^max-age=\d{8,}/),
      'cross-origin-resource-policy': 'same-origin',
      'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
      'cache-control': 'no-store',
    });
    expect(res.headers['x-powered-by']).toBeUndefined();
  });
});

describe('CORS', () => {
  it('answers the configured origin, preflight included', async () => {
    const res = await api.http().get('/health').set('Origin', ALLOWED).expect(200);
    expect(res.headers['access-control-allow-origin']).toBe(ALLOWED);
    const preflight = await api.http().options('/api/payments').set('Origin', ALLOWED).set('Access-Control-Request-Method', 'POST');
    expect(preflight.headers['access-control-allow-origin']).toBe(ALLOWED);
    expect(preflight.headers['access-control-allow-headers']).toContain('Authorization');
  });

  it('gives any other origin no CORS permission, preflight included', async () => {
    for (const origin of ['https://evil.example', 'null', `${ALLOWED}.evil.example`]) {
      const res = await api.http().get('/health').set('Origin', origin).expect(200);
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
      const preflight = await api.http().options('/api/payments').set('Origin', origin).set('Access-Control-Request-Method', 'POST');
      expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
      expect(preflight.headers['access-control-allow-credentials']).toBeUndefined();
    }
  });
});
