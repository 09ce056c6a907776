/**
 * Walks every route of the router with a credential of every role and checks the answer against a table written
 * here by hand, from what each role is for: 403 exactly where the table says the role may not call the route,
 * otherwise neither 401 nor 403. The table is deliberately not derived from core/identity/rbac.ts: a wrong grant
 * there must make this test fail, not move its expectations along with it.
 */
import { randomUUID } from 'node:crypto';
import { apiRoutes } from '../../api/app';
import { buildRouter, type AnyRoute } from '../../api/routing';
import { ROLES, type Role } from '../../core/identity/rbac';
import { bearer, OPERATOR_TOKEN, PASSWORD, registerTenant, startApi, userWithRole, type RegisteredTenant, type TestApi } from '../support/api';

const everyone: Role[] = ['admin', 'finance', 'ops', 'underwriter', 'client'];

/** Who may call each protected route. Public routes are not listed; a new protected route must be added here. */
const MAY_CALL: Record<string, Role[]> = {
  'POST /api/auth/logout': everyone,
  'GET /api/me': everyone,
  // Administering people and keys stays with the tenant's admin.
  'GET /api/users': ['admin'],
  'POST /api/users/invitations': ['admin'],
  'PATCH /api/users/:id': ['admin'],
  'GET /api/api-keys': ['admin'],
  'POST /api/api-keys': ['admin'],
  'DELETE /api/api-keys/:id': ['admin'],
  // Taking money: finance and client servers; ops reads payments and decides AML reviews; underwriters never.
  'POST /api/payments': ['admin', 'finance', 'client'],
  'GET /api/payments': ['admin', 'finance', 'ops', 'client'],
  'GET /api/payments/:id': ['admin', 'finance', 'ops', 'client'],
  'POST /api/payments/:id/capture': ['admin', 'finance', 'client'],
  'POST /api/payments/:id/cancel': ['admin', 'finance', 'client'],
  'POST /api/payments/:id/review': ['admin', 'ops'],
  'POST /api/payments/:id/refunds': ['admin', 'finance', 'client'],
  // Payments whose compensation did not complete: ops (and the admin) finish them by hand.
  'GET /api/ops/payments/needs-attention': ['admin', 'ops'],
  // Credit: clients apply, everyone reads (clients only their own), underwriters decide, the admin keeps the deny list.
  'POST /api/credit/applications': ['admin', 'client'],
  'GET /api/credit/applications': everyone,
  'GET /api/credit/applications/:id': everyone,
  // The applicant's identity (decrypted): readers of every application only, never a client.
  'GET /api/credit/applications/:id/applicant': ['admin', 'finance', 'ops', 'underwriter'],
  'POST /api/credit/applications/:id/decision': ['admin', 'underwriter'],
  'POST /api/credit/deny-list': ['admin'],
  'DELETE /api/credit/deny-list/:id': ['admin'],
  // The books: finance and the admin read the statements, add accounts, draft and approve manual entries (never
  // their own: the database refuses that) and enter exchange rates; nobody else sees the ledger.
  'GET /api/accounting/accounts': ['admin', 'finance'],
  'GET /api/accounting/periods': ['admin', 'finance'],
  // Finance closes the books; only an admin reopens them or moves their time zone.
  'POST /api/accounting/periods/:start/lock': ['admin', 'finance'],
  'POST /api/accounting/periods/:start/close': ['admin', 'finance'],
  'POST /api/accounting/periods/:start/reopen': ['admin'],
  'GET /api/accounting/closes': ['admin', 'finance'],
  'POST /api/accounting/closes': ['admin', 'finance'],
  'GET /api/accounting/closes/:start': ['admin', 'finance'],
  'POST /api/accounting/closes/:start/sign-off': ['admin', 'finance'],
  'POST /api/accounting/closes/:start/reopen': ['admin'],
  'GET /api/accounting/closes/:start/statements': ['admin', 'finance'],
  'GET /api/accounting/settings': ['admin', 'finance'],
  'PATCH /api/accounting/settings': ['admin'],
  'POST /api/accounting/accounts': ['admin', 'finance'],
  'GET /api/accounting/drafts': ['admin', 'finance'],
  'POST /api/accounting/drafts': ['admin', 'finance'],
  'POST /api/accounting/drafts/:id/approve': ['admin', 'finance'],
  'POST /api/accounting/drafts/:id/reject': ['admin', 'finance'],
  'GET /api/accounting/fx-rates': ['admin', 'finance'],
  'PUT /api/accounting/fx-rates': ['admin', 'finance'],
  'POST /api/accounting/fx-rates/import': ['admin', 'finance'],
  'GET /api/accounting/reports/trial-balance': ['admin', 'finance'],
  'GET /api/accounting/reports/balance-sheet': ['admin', 'finance'],
  'GET /api/accounting/reports/income-statement': ['admin', 'finance'],
  'GET /api/accounting/reports/cash-summary': ['admin', 'finance'],
  'GET /api/accounting/reports/accounts/:id/ledger': ['admin', 'finance'],
  'GET /api/accounting/reports/journal': ['admin', 'finance'],
  'GET /api/accounting/reports/journal.csv': ['admin', 'finance'],
  // Invoices: finance (and the admin) bill, record payments, credit, void and write off; ops reads them; clients and
  // underwriters never see the tenant's receivables.
  'POST /api/invoices': ['admin', 'finance'],
  'GET /api/invoices': ['admin', 'finance', 'ops'],
  'GET /api/invoices/ageing': ['admin', 'finance', 'ops'],
  'GET /api/invoices/dunning-policy': ['admin', 'finance', 'ops'],
  'PUT /api/invoices/dunning-policy': ['admin', 'finance'],
  'GET /api/invoices/:id': ['admin', 'finance', 'ops'],
  'GET /api/invoices/:id/document': ['admin', 'finance', 'ops'],
  'PATCH /api/invoices/:id': ['admin', 'finance'],
  'POST /api/invoices/:id/issue': ['admin', 'finance'],
  'POST /api/invoices/:id/void': ['admin', 'finance'],
  'POST /api/invoices/:id/write-off': ['admin', 'finance'],
  'POST /api/invoices/:id/payments': ['admin', 'finance'],
  'POST /api/invoices/:id/credit-notes': ['admin', 'finance'],
  'POST /api/invoices/:id/apply-credit': ['admin', 'finance'],
  // Operating the platform: the smoke probe is the platform operators' alone; a tenant's admin and ops decode their
  // own tenant's payloads.
  'POST /api/smoke': [],
  'GET /api/smoke/:id': [],
  'POST /api/codec/decode': ['admin', 'ops'],
  'POST /api/codec/encode': ['admin', 'ops'],
  // Suspending or closing an organisation is the platform operators' alone.
  'PATCH /api/platform/tenants/:id': [],
};

/** What a platform operator (configured, no tenant) may call; every other protected route answers it 403. */
const OPERATOR_MAY_CALL = ['POST /api/smoke', 'GET /api/smoke/:id', 'POST /api/codec/decode', 'POST /api/codec/encode', 'PATCH /api/platform/tenants/:id'];

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
const protectedRoutes = () => routes().filter((r) => r.access !== 'public');
const routeKey = (route: AnyRoute) => `${route.method.toUpperCase()} ${route.path}`;

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
  it('is listed in the hand-written table, and the table lists nothing else', () => {
    expect(protectedRoutes().map(routeKey).sort()).toEqual(Object.keys(MAY_CALL).sort());
    expect(ROLES).toEqual(everyone);
  });

  it('answers 403 exactly when the table says the role may not call it', async () => {
    const mismatches: string[] = [];
    for (const route of protectedRoutes()) {
      const allowed = MAY_CALL[routeKey(route)] ?? [];
      for (const role of ROLES) {
        const res = await api
          .http()
          [route.method](concretePath(route))
          .set(bearer(await tokenFor(route, role)))
          .send(route.example?.body ?? undefined);
        const ok = allowed.includes(role)
          ? ![401, 403].includes(res.status) && res.status < 500
          : res.status === 403 && res.body.type === 'urn:finflow:problem:forbidden';
        if (!ok) mismatches.push(`${routeKey(route)} as ${role}: ${res.status} (${allowed.includes(role) ? 'should be allowed' : 'should be 403'})`);
      }
    }
    expect(mismatches).toEqual([]);
  });

  it('lets a platform operator call only the routes of the platform, and answers 403 on every tenant route', async () => {
    const mismatches: string[] = [];
    for (const route of protectedRoutes()) {
      const allowed = OPERATOR_MAY_CALL.includes(routeKey(route));
      const res = await api.http()[route.method](concretePath(route)).set(bearer(OPERATOR_TOKEN)).send(route.example?.body ?? undefined);
      const ok = allowed ? ![401, 403].includes(res.status) && res.status < 500 : res.status === 403 && res.body.type === 'urn:finflow:problem:forbidden';
      if (!ok) mismatches.push(`${routeKey(route)} as an operator: ${res.status} (${allowed ? 'should be allowed' : 'should be 403'})`);
    }
    expect(mismatches).toEqual([]);
  });

  it('answers 401 on every protected route without a credential', async () => {
    for (const route of protectedRoutes()) {
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
