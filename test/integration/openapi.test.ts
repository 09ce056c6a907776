/** The OpenAPI 3.1 document: valid, complete, and enforced (a body that violates a schema is a 4xx). */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { apiRoutes } from '../../api/app';
import { bearer, registerTenant, startApi, type RegisteredTenant, type TestApi } from '../support/api';

let api: TestApi;
let tenant: RegisteredTenant;
let doc: { openapi: string; paths: Record<string, Record<string, { requestBody?: unknown; parameters: { in: string; name: string }[]; responses: Record<string, unknown> }>> };

beforeAll(async () => {
  api = startApi();
  tenant = await registerTenant(api);
  doc = (await api.http().get('/api/openapi.json').expect(200)).body;
});
afterAll(() => api.close());

const operations = () =>
  Object.entries(doc.paths).flatMap(([p, methods]) => Object.entries(methods).map(([method, op]) => ({ path: p, method: method as 'get' | 'post' | 'delete', op })));

describe('GET /api/openapi.json', () => {
  it('is a valid OpenAPI 3.1 document', () => {
    const run = spawnSync(process.execPath, [path.join(__dirname, '../support/validate-openapi.mjs')], { input: JSON.stringify(doc), encoding: 'utf8' });
    expect(run.stderr).toBe('');
    const result = JSON.parse(run.stdout);
    expect(result).toEqual({ valid: true, version: '3.1', errors: [] });
  });

  it('lists every route with its error responses', () => {
    const documented = new Set(operations().map((o) => `${o.method} ${o.path}`));
    for (const route of apiRoutes(api.deps)) {
      const key = `${route.method} ${route.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`;
      expect(documented).toContain(key);
      const op = doc.paths[route.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}')]![route.method]!;
      for (const status of ['400', '429', '500']) expect(op.responses).toHaveProperty(status);
      if (route.access !== 'public') for (const status of ['401', '403']) expect(op.responses).toHaveProperty(status);
      if (route.body) expect(op.requestBody).toBeDefined();
    }
  });

  it('is served with a browsable docs page', async () => {
    const page = await api.http().get('/api/docs').expect(200);
    expect(page.text).toContain('/api/docs/init.js');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    const init = await api.http().get('/api/docs/init.js').expect(200);
    expect(init.text).toContain("url: '/api/openapi.json'");
    await api.http().get('/api/docs/assets/swagger-ui-bundle.js').expect(200);
  });
});

describe('every documented route', () => {
  it('answers a body that violates its schema with a 4xx problem', async () => {
    const withBodies = operations().filter((o) => o.op.requestBody);
    expect(withBodies.length).toBeGreaterThanOrEqual(7);
    for (const { path: p, method } of withBodies) {
      const url = p.replace(/\{[^}]+\}/g, '00000000-0000-4000-8000-000000000000');
      for (const bad of [{ unexpected: true }, [], { email: 42, password: null, message: { nested: 1 } }]) {
        const res = await api.http()[method](url).set(bearer(tenant.admin.accessToken)).send(bad);
        expect(`${method} ${p} -> ${res.status}`).toMatch(/ -> 4\d\d$/);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      }
    }
  });

  it('answers a path parameter that violates its schema with a 4xx problem', async () => {
    const withParams = operations().filter((o) => o.op.parameters.some((prm) => prm.in === 'path'));
    expect(withParams.length).toBeGreaterThanOrEqual(3);
    for (const { path: p, method } of withParams) {
      const res = await api.http()[method](p.replace(/\{[^}]+\}/g, "1%27%20OR%201%3D1--")).set(bearer(tenant.admin.accessToken));
      expect(`${method} ${p} -> ${res.status}`).toMatch(/ -> 4\d\d$/);
    }
  });
});
