/**
 * Walks every route of the router with a credential of every role and checks the answer against the
 * role-permission table: 403 exactly when the role lacks the route's permission, otherwise not 401/403.
 */
import { randomUUID } from 'node:crypto';
import { apiRoutes } from '../../api/app';
import { buildRouter, type AnyRoute } from '../../api/routing';
import { can, ROLES, type Role } from '../../core/identity/rbac';
import { bearer, PASSWORD, registerTenant, startApi, userWithRole, type RegisteredTenant, type TestApi } from '../support/api';

let api: TestApi;
let tenant: RegisteredTenant;
const tokens = {} as Record<Role, string>;

beforeAll(async () => {
  api = startApi();
  tenant = await registerTenant(api);
  for (const role of ROLES) tokens[role] = await userWithRole(api, tenant, role);
});
afterAll(() => api.close());

const routes = () => apiRoutes(api.deps);

/** Logging out ends the session the rest of the walk uses, so that route gets a fresh session of the role. */
async function tokenFor(route: AnyRoute, role: Role): Promise<string> {
  if (route.path !== '/api/auth/logout') return tokens[role];
  if (role !== 'admin') return userWithRole(api, tenant, role);
  const login = await api.http().post('/api/auth/login').send({ email: tenant.adminEmail, password: PASSWORD }).expect(200);
  return login.body.accessToken as string;
}

function concretePath(route: AnyRoute): string {
  return route.path.replace(/:id\b/g, randomUUID()).replace(/:file\b/g, 'swagger-ui.css');
}

describe('every protected route, for every role', () => {
  it('answers 403 exactly when the role lacks the permission', async () => {
    const protectedRoutes = routes().filter((r) => r.access !== 'public');
    expect(protectedRoutes.length).toBeGreaterThanOrEqual(8);
    const table: string[] = [];
    for (const route of protectedRoutes) {
      if (route.access === 'public') continue;
      for (const role of ROLES) {
        const res = await api
          .http()
          [route.method](concretePath(route))
          .set(bearer(await tokenFor(route, role)))
          .send(route.example?.body ?? undefined);
        const allowed = can(role, route.access.permission);
        table.push(`${route.method.toUpperCase()} ${route.path} as ${role}: ${res.status}`);
        if (allowed) expect([401, 403]).not.toContain(res.status);
        else expect(res.status).toBe(403);
        if (allowed) expect(res.status).toBeLessThan(500);
      }
    }
    expect(table.length).toBe(protectedRoutes.length * ROLES.length);
  });

  it('answers 401 on every protected route without a credential', async () => {
    for (const route of routes().filter((r) => r.access !== 'public')) {
      const res = await api.http()[route.method](concretePath(route)).send(route.example?.body ?? undefined);
      expect(`${route.method} ${route.path} ${res.status}`).toBe(`${route.method} ${route.path} 401`);
    }
  });
});

describe('a route without an access rule', () => {
  it('stops the router from being built', () => {
    const sloppy = { method: 'get', path: '/api/oops', summary: 'x', tag: 'x', responses: {}, handler: async () => undefined } as unknown as AnyRoute;
    expect(() => buildRouter([sloppy])).toThrow('GET /api/oops declares no access rule');
  });
});
