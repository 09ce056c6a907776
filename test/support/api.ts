/**
 * A real API for tests: createApp over real clients (Postgres, Redis, Temporal...), driven through supertest,
 * plus helpers that register tenants and produce a credential for every role the way a customer would.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import request, { type Response } from 'supertest';
import type Koa from 'koa';
import { createApp } from '../../api/app';
import { createApiDeps } from '../../api/deps';
import type { Role } from '../../core/identity/rbac';
import type { Config } from '../../platform/config';
import { createLogger } from '../../platform/logger';
import { testConfig } from './env';
import { eventually } from './eventually';

export const PASSWORD = 'correct horse battery staple';

export interface TestApi {
  app: Koa;
  http: () => ReturnType<typeof request>;
  /** Where it listens, for callers outside the process's supertest (a Stripe double sending webhooks). */
  url: () => string;
  deps: ReturnType<typeof createApiDeps<Config>>;
  close(): Promise<void>;
}

/** A platform operator's token, known to every API startApi builds (unless PLATFORM_OPERATORS is overridden). */
export const OPERATOR_TOKEN = `ffo_${randomBytes(32).toString('base64url')}`;
const operators = `test-operator:${createHash('sha256').update(OPERATOR_TOKEN).digest('hex')}`;

export function startApi(overrides: NodeJS.ProcessEnv = {}): TestApi {
  const deps = createApiDeps(testConfig({ PLATFORM_OPERATORS: operators, ...overrides }), createLogger({ level: 'silent', service: 'test' }));
  const app = createApp(deps);
  const server = app.listen(0, '127.0.0.1');
  return {
    app,
    deps,
    http: () => request(server),
    url: () => `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      server.close();
      await deps.close();
    },
  };
}

export interface RegisteredTenant {
  tenantId: string;
  slug: string;
  adminEmail: string;
  admin: { accessToken: string; refreshToken: string };
}

export async function registerTenant(api: TestApi): Promise<RegisteredTenant> {
  const slug = `t-${randomUUID().slice(0, 12)}`;
  const adminEmail = `admin@${slug}.test`;
  const res = await api
    .http()
    .post('/api/auth/register')
    .send({ organisation: { name: `Org ${slug}`, slug, defaultCurrency: 'EUR' }, admin: { email: adminEmail, password: PASSWORD, displayName: 'Admin' } })
    .expect(201);
  return { tenantId: res.body.tenantId, slug, adminEmail, admin: res.body.tokens };
}

/** A person of `role` in the tenant: invited by its admin, then accepting the invitation. */
export async function userWithRole(api: TestApi, tenant: RegisteredTenant, role: Role): Promise<string> {
  if (role === 'admin') return tenant.admin.accessToken;
  const invitation = await api
    .http()
    .post('/api/users/invitations')
    .set('Authorization', `Bearer ${tenant.admin.accessToken}`)
    .send({ email: `${role}-${randomUUID().slice(0, 8)}@${tenant.slug}.test`, role })
    .expect(201);
  const accepted = await api
    .http()
    .post('/api/auth/invitations/accept')
    .send({ token: invitation.body.token, password: PASSWORD, displayName: role })
    .expect(201);
  return accepted.body.accessToken as string;
}

export async function apiKeyWithRole(api: TestApi, tenant: RegisteredTenant, role: Exclude<Role, 'admin'>): Promise<{ id: string; key: string }> {
  const res = await api
    .http()
    .post('/api/api-keys')
    .set('Authorization', `Bearer ${tenant.admin.accessToken}`)
    .send({ name: `${role} key`, role })
    .expect(201);
  return { id: res.body.id, key: res.body.key };
}

export const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

/**
 * The settled state of a resource a create request started. The API answers 201 with the outcome when its
 * workflow settles within a short wait and 202 with a Location otherwise (a loaded machine, a slow provider):
 * both are accepted, and unless the answer already satisfies `settled`, the Location is polled until it does.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a JSON body, checked by the caller
export async function settledResource<T = Record<string, any>>(api: TestApi, token: string, created: Response, settled: (body: T) => boolean, timeoutMs = 60_000): Promise<T> {
  if (created.status !== 201 && created.status !== 202) throw new Error(`expected 201 or 202, got ${created.status}: ${JSON.stringify(created.body)}`);
  if (settled(created.body as T)) return created.body as T;
  const location = created.headers.location;
  if (!location) throw new Error(`a ${created.status} without a Location to poll`);
  return eventually(
    `${location} to settle`,
    async () => {
      const res = await api.http().get(location).set(bearer(token)).expect(200);
      return settled(res.body as T) && (res.body as T);
    },
    timeoutMs,
  );
}
