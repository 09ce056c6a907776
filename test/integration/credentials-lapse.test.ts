/**
 * Credentials lapse, over HTTP against the real API (PostgreSQL + Redis): a refresh session has an absolute
 * lifetime; a disabled user and a suspended or closed organisation can neither refresh, call the API nor use their
 * API keys, whether the change came through the API (at once) or straight from the database (within the few seconds
 * the status is cached); API keys can expire; admins change roles and disable people, and the last admin stays.
 */
import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import { withTenant, type Pool } from '../../platform/db/pool';
import { bearer, OPERATOR_TOKEN, PASSWORD, registerTenant, startApi, type RegisteredTenant, type TestApi } from '../support/api';
import { ownerPool } from '../support/env';
import { eventually } from '../support/eventually';

const MAX_AGE_SECONDS = 3600;
let api: TestApi;
let owner: Pool;

beforeAll(() => {
  api = startApi({ AUTH_SESSION_MAX_AGE_SECONDS: String(MAX_AGE_SECONDS), AUTH_STATUS_CACHE_SECONDS: '2' });
  owner = ownerPool(api.deps.config);
});
afterAll(async () => {
  await owner.end();
  await api.close();
});

interface Person {
  userId: string;
  email: string;
  accessToken: string;
  refreshToken: string;
}

const me = (token: string) => api.http().get('/api/me').set(bearer(token));
const refresh = (refreshToken: string) => api.http().post('/api/auth/refresh').send({ refreshToken });
const login = (email: string) => api.http().post('/api/auth/login').send({ email, password: PASSWORD });
const patchUser = (token: string, userId: string, body: object) => api.http().patch(`/api/users/${userId}`).set(bearer(token)).send(body);

/** A person invited into the tenant with a role, with both of their tokens. */
async function invite(tenant: RegisteredTenant, role: string): Promise<Person> {
  const email = `${role}-${randomUUID().slice(0, 8)}@${tenant.slug}.test`;
  const invitation = await api.http().post('/api/users/invitations').set(bearer(tenant.admin.accessToken)).send({ email, role }).expect(201);
  const accepted = await api.http().post('/api/auth/invitations/accept').send({ token: invitation.body.token, password: PASSWORD, displayName: role }).expect(201);
  const who = await me(accepted.body.accessToken).expect(200);
  return { userId: who.body.user.id, email, accessToken: accepted.body.accessToken, refreshToken: accepted.body.refreshToken };
}

async function adminOf(tenant: RegisteredTenant): Promise<Person> {
  const who = await me(tenant.admin.accessToken).expect(200);
  return { userId: who.body.user.id, email: tenant.adminEmail, ...tenant.admin };
}

const activeAdmins = async (tenant: RegisteredTenant) =>
  (await withTenant(owner, tenant.tenantId, (tx) => tx.query("SELECT count(*)::int AS n FROM users WHERE role = 'admin' AND status = 'active'"))).rows[0].n as number;

async function apiKeyOf(token: string, body: object = { name: 'server', role: 'client' }): Promise<{ id: string; key: string }> {
  const res = await api.http().post('/api/api-keys').set(bearer(token)).send(body).expect(201);
  return { id: res.body.id, key: res.body.key };
}

const refusedNow = async (person: Person, keys: string[]) => {
  expect((await me(person.accessToken)).status).toBe(401);
  for (const key of keys) expect((await me(key)).status).toBe(401);
  expect((await refresh(person.refreshToken)).status).toBe(401);
  expect((await login(person.email)).status).toBe(401);
};

describe('a refresh session', () => {
  it('ends at its absolute lifetime, however often it was refreshed', async () => {
    const tenant = await registerTenant(api);
    const once = await refresh(tenant.admin.refreshToken).expect(200);
    const twice = await refresh(once.body.refreshToken).expect(200);
    // Log in an hour ago: move the session's start back past its absolute lifetime.
    const sid = /^ffr_([0-9a-f-]{36})\./.exec(twice.body.refreshToken)![1]!;
    const redis = api.deps.redis as Redis;
    const key = `${api.deps.config.REDIS_KEY_PREFIX}session:${sid}`;
    expect(await redis.exists(key)).toBe(1);
    await redis.hset(key, 'createdAt', String(Date.now() - (MAX_AGE_SECONDS + 1) * 1000));
    const refused = await refresh(twice.body.refreshToken);
    expect(refused.status).toBe(401);
    expect(refused.body.type).toBe('urn:finflow:problem:unauthenticated');
    await me(twice.body.accessToken).expect(401);
  });
});

describe('a disabled user', () => {
  it('is refused at once: access token, refresh, login and the API keys they created', async () => {
    const tenant = await registerTenant(api);
    const second = await invite(tenant, 'admin');
    const key = await apiKeyOf(second.accessToken);
    await me(key.key).expect(200);
    const disabled = await patchUser(tenant.admin.accessToken, second.userId, { status: 'disabled' }).expect(200);
    expect(disabled.body).toMatchObject({ id: second.userId, status: 'disabled', role: 'admin' });
    await refusedNow(second, [key.key]);
    // Enabled again, they log in again (the refused refresh ended their old session), and their key works again.
    await patchUser(tenant.admin.accessToken, second.userId, { status: 'active' }).expect(200);
    await login(second.email).expect(200);
    await me(key.key).expect(200);
  });

  it('is refused within seconds when disabled in the database', async () => {
    const tenant = await registerTenant(api);
    const finance = await invite(tenant, 'finance');
    await me(finance.accessToken).expect(200);
    await withTenant(owner, tenant.tenantId, (tx) => tx.query("UPDATE users SET status = 'disabled' WHERE id = $1", [finance.userId]));
    await eventually('the disabled user to be refused', async () => (await me(finance.accessToken)).status === 401, 30_000);
    await refusedNow(finance, []);
  });
});

describe('a suspended or closed organisation', () => {
  it("is refused at once when a platform operator suspends it: its people, sessions and keys; a tenant's admin cannot", async () => {
    const [tenant, other] = [await registerTenant(api), await registerTenant(api)];
    const admin = await adminOf(tenant);
    const key = await apiKeyOf(admin.accessToken);
    await api.http().patch(`/api/platform/tenants/${tenant.tenantId}`).set(bearer(other.admin.accessToken)).send({ status: 'suspended' }).expect(403);
    await me(admin.accessToken).expect(200);
    const suspended = await api.http().patch(`/api/platform/tenants/${tenant.tenantId}`).set(bearer(OPERATOR_TOKEN)).send({ status: 'suspended' }).expect(200);
    expect(suspended.body).toEqual({ id: tenant.tenantId, status: 'suspended' });
    await refusedNow(admin, [key.key]);
    await me(other.admin.accessToken).expect(200); // another organisation is untouched
    await api.http().patch(`/api/platform/tenants/${tenant.tenantId}`).set(bearer(OPERATOR_TOKEN)).send({ status: 'active' }).expect(200);
    await me(key.key).expect(200);
    await login(admin.email).expect(200);
  });

  it('is refused within seconds when closed in the database', async () => {
    const tenant = await registerTenant(api);
    const admin = await adminOf(tenant);
    const key = await apiKeyOf(admin.accessToken);
    await me(key.key).expect(200);
    await withTenant(owner, tenant.tenantId, (tx) => tx.query("UPDATE tenants SET status = 'closed' WHERE id = $1", [tenant.tenantId]));
    await eventually('the closed organisation to be refused', async () => (await me(key.key)).status === 401, 30_000);
    await refusedNow(admin, [key.key]);
  });
});

describe('an API key with an expiry', () => {
  it('works until it expires, then is refused; an expiry in the past is refused at creation', async () => {
    const tenant = await registerTenant(api);
    const expiresAt = new Date(Date.now() + 3600_000).toISOString();
    const key = await apiKeyOf(tenant.admin.accessToken, { name: 'short-lived', role: 'client', expiresAt });
    await me(key.key).expect(200);
    const listed = await api.http().get('/api/api-keys').set(bearer(tenant.admin.accessToken)).expect(200);
    expect(listed.body.data).toEqual([expect.objectContaining({ id: key.id, expiresAt })]);
    await withTenant(owner, tenant.tenantId, (tx) => tx.query("UPDATE api_keys SET expires_at = created_at + interval '1 millisecond' WHERE id = $1", [key.id]));
    await me(key.key).expect(401);
    const past = await api
      .http()
      .post('/api/api-keys')
      .set(bearer(tenant.admin.accessToken))
      .send({ name: 'stale', role: 'client', expiresAt: new Date(Date.now() - 60_000).toISOString() })
      .expect(400);
    expect(past.body.errors).toEqual([expect.objectContaining({ path: 'body.expiresAt' })]);
  });
});

describe("an admin managing people (PATCH /api/users/:id)", () => {
  it("changes a person's role, which their current token carries at once", async () => {
    const tenant = await registerTenant(api);
    const person = await invite(tenant, 'finance');
    await api.http().get('/api/accounting/accounts').set(bearer(person.accessToken)).expect(200);
    const changed = await patchUser(tenant.admin.accessToken, person.userId, { role: 'ops' }).expect(200);
    expect(changed.body).toMatchObject({ id: person.userId, role: 'ops', status: 'active' });
    await api.http().get('/api/accounting/accounts').set(bearer(person.accessToken)).expect(403);
    expect((await me(person.accessToken).expect(200)).body.role).toBe('ops');
    const refreshed = await refresh(person.refreshToken).expect(200);
    expect((await me(refreshed.body.accessToken).expect(200)).body.role).toBe('ops');
  });

  it('cannot demote or disable the last active admin, not even themselves', async () => {
    const tenant = await registerTenant(api);
    const admin = await adminOf(tenant);
    for (const body of [{ role: 'finance' }, { status: 'disabled' }]) {
      const res = await patchUser(admin.accessToken, admin.userId, body).expect(409);
      expect(res.body.type).toBe('urn:finflow:problem:conflict');
    }
    await me(admin.accessToken).expect(200);
  });

  it('leaves one admin when two admins demote each other at the same time', async () => {
    const tenant = await registerTenant(api);
    const [first, second] = [await adminOf(tenant), await invite(tenant, 'admin')];
    const results = await Promise.all([
      patchUser(first.accessToken, second.userId, { role: 'finance' }),
      patchUser(second.accessToken, first.userId, { role: 'finance' }),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
    expect(await activeAdmins(tenant)).toBe(1);
  });

  it("waits for another admin's demotion still being committed, then refuses to remove the last admin", async () => {
    // Deterministic form of the race above: the other demotion holds its row lock while the API's request arrives.
    const tenant = await registerTenant(api);
    const [first, second] = [await adminOf(tenant), await invite(tenant, 'admin')];
    const other = await owner.connect();
    try {
      await other.query('BEGIN');
      await other.query("SELECT set_config('finflow.tenant_id', $1, true)", [tenant.tenantId]);
      await other.query("UPDATE users SET role = 'finance' WHERE id = $1", [second.userId]);
      const xid = (await other.query('SELECT backend_xid::text AS xid FROM pg_stat_activity WHERE pid = pg_backend_pid()')).rows[0].xid;
      let answered = false;
      const pending = patchUser(first.accessToken, first.userId, { role: 'finance' }).then((r) => ((answered = true), r));
      // The request waits on the open transaction's lock (or, if it does not wait, answers: then its answer is judged).
      await eventually(
        'the API request to wait for the open demotion',
        async () => answered || (await owner.query("SELECT 1 FROM pg_locks WHERE locktype = 'transactionid' AND transactionid::text = $1 AND NOT granted", [xid])).rowCount! > 0,
        30_000,
      );
      await other.query('COMMIT');
      expect((await pending).status).toBe(409);
    } finally {
      other.release();
    }
    expect(await activeAdmins(tenant)).toBe(1);
  });

  it('refuses an unknown person, an empty change and an unknown role', async () => {
    const tenant = await registerTenant(api);
    const person = await invite(tenant, 'client');
    await patchUser(tenant.admin.accessToken, randomUUID(), { status: 'disabled' }).expect(404);
    await patchUser(tenant.admin.accessToken, person.userId, {}).expect(400);
    await patchUser(tenant.admin.accessToken, person.userId, { role: 'owner' }).expect(400);
  });
});
