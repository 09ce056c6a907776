/** People and client servers authenticating against the real API (Postgres + Redis). */
import { createPrivateKey, generateKeyPairSync, randomUUID } from 'node:crypto';
import { SignJWT, UnsecuredJWT, base64url } from 'jose';
import { generateLocalSecrets } from '../../deploy/local/lib/secrets';
import { apiKeyWithRole, bearer, PASSWORD, registerTenant, startApi, userWithRole, type TestApi } from '../support/api';

let api: TestApi;
beforeAll(() => {
  api = startApi();
});
afterAll(() => api.close());

const me = (token: string) => api.http().get('/api/me').set(bearer(token));

describe('a person', () => {
  it('registers, logs in, calls a protected route, refreshes, logs out; then the old tokens are refused', async () => {
    const tenant = await registerTenant(api);
    // The first request after registration works: tenant and defaults were created in the same transaction.
    const first = await me(tenant.admin.accessToken).expect(200);
    expect(first.body).toMatchObject({ role: 'admin', tenant: { id: tenant.tenantId, slug: tenant.slug, defaultCurrency: 'EUR' } });

    const login = await api.http().post('/api/auth/login').send({ email: tenant.adminEmail.toUpperCase(), password: PASSWORD }).expect(200);
    expect(login.body).toMatchObject({ tokenType: 'Bearer', expiresIn: 900 });
    await me(login.body.accessToken).expect(200);

    const refreshed = await api.http().post('/api/auth/refresh').send({ refreshToken: login.body.refreshToken }).expect(200);
    expect(refreshed.body.refreshToken).not.toBe(login.body.refreshToken);
    await me(refreshed.body.accessToken).expect(200);

    await api.http().post('/api/auth/logout').set(bearer(refreshed.body.accessToken)).expect(204);
    for (const token of [login.body.accessToken, refreshed.body.accessToken]) {
      const refused = await me(token).expect(401);
      expect(refused.body.type).toBe('urn:finflow:problem:unauthenticated');
    }
    await api.http().post('/api/auth/refresh').send({ refreshToken: refreshed.body.refreshToken }).expect(401);
    // Another session of the same person is untouched.
    await me(tenant.admin.accessToken).expect(200);
  });

  it('revokes the whole session when a used refresh token is presented again', async () => {
    const tenant = await registerTenant(api);
    const stolen = tenant.admin.refreshToken;
    const legit = await api.http().post('/api/auth/refresh').send({ refreshToken: stolen }).expect(200);
    const replay = await api.http().post('/api/auth/refresh').send({ refreshToken: stolen }).expect(401);
    expect(replay.body.detail).toMatch(/already used/);
    await api.http().post('/api/auth/refresh').send({ refreshToken: legit.body.refreshToken }).expect(401);
    await me(legit.body.accessToken).expect(401);
  });

  it('lets only one of two concurrent refreshes with the same token succeed', async () => {
    const tenant = await registerTenant(api);
    const results = await Promise.all([1, 2].map(() => api.http().post('/api/auth/refresh').send({ refreshToken: tenant.admin.refreshToken })));
    expect(results.map((r) => r.status).sort()).toEqual([200, 401]);
    // The loser presented a token that had just been used: reuse detection ends the session for both.
    const winner = results.find((r) => r.status === 200)!;
    await me(winner.body.accessToken).expect(401);
  });

  it('gets the same answer for a wrong password and an unknown email', async () => {
    const tenant = await registerTenant(api);
    const wrong = await api.http().post('/api/auth/login').send({ email: tenant.adminEmail, password: 'not the password at all' }).expect(401);
    const unknown = await api.http().post('/api/auth/login').send({ email: `nobody-${randomUUID()}@x.test`, password: PASSWORD }).expect(401);
    expect(wrong.body.detail).toBe(unknown.body.detail);
  });

  it('cannot register the same email twice, whatever its case or Unicode form', async () => {
    const tenant = await registerTenant(api);
    const fullWidth = tenant.adminEmail.replace('admin', 'ａｄｍｉｎ'); // NFKC folds it back to "admin"
    for (const email of [tenant.adminEmail.toUpperCase(), fullWidth]) {
      const slug = `t-${randomUUID().slice(0, 12)}`;
      const res = await api
        .http()
        .post('/api/auth/register')
        .send({ organisation: { name: 'Dup', slug }, admin: { email, password: PASSWORD, displayName: 'Dup' } })
        .expect(409);
      expect(res.body.type).toBe('urn:finflow:problem:conflict');
    }
  });
});

describe('an API key', () => {
  it('authenticates a client server, and is refused at once after revocation', async () => {
    const tenant = await registerTenant(api);
    const key = await apiKeyWithRole(api, tenant, 'client');
    expect(key.key).toMatch(/^ffk_[A-Za-z0-9]{16}_[A-Za-z0-9_-]{43}$/);
    const who = await me(key.key).expect(200);
    expect(who.body).toMatchObject({ principal: { kind: 'api_key', id: key.id }, role: 'client', tenant: { id: tenant.tenantId } });
    await api.http().delete(`/api/api-keys/${key.id}`).set(bearer(tenant.admin.accessToken)).expect(204);
    await me(key.key).expect(401);
  });

  it('is never listed with its secret', async () => {
    const tenant = await registerTenant(api);
    const key = await apiKeyWithRole(api, tenant, 'finance');
    const list = await api.http().get('/api/api-keys').set(bearer(tenant.admin.accessToken)).expect(200);
    const prefix = key.key.slice(0, 'ffk_'.length + 16);
    const secret = key.key.slice(prefix.length + 1);
    expect(secret).toHaveLength(43);
    expect(JSON.stringify(list.body)).not.toContain(secret);
    expect(list.body.data).toEqual([expect.objectContaining({ id: key.id, prefix, revokedAt: null })]);
  });

  it('is refused when its secret is altered', async () => {
    const tenant = await registerTenant(api);
    const key = await apiKeyWithRole(api, tenant, 'client');
    const altered = key.key.slice(0, -1) + (key.key.endsWith('A') ? 'B' : 'A');
    await me(altered).expect(401);
  });
});

describe('signing key rotation', () => {
  it('keeps existing sessions valid while new tokens use the new key', async () => {
    const tenant = await registerTenant(api);
    const current = api.deps.config;
    const next = generateLocalSecrets();
    // The new key becomes active; the old one stays listed so its tokens verify until they expire.
    const newKid = `rotated-${randomUUID().slice(0, 8)}`;
    const after = startApi({ AUTH_JWT_KEYS: `${current.AUTH_JWT_KEYS},${newKid}:${next.AUTH_JWT_KEYS!.split(':')[1]}`, AUTH_JWT_ACTIVE_KID: newKid });
    try {
      await after.http().get('/api/me').set(bearer(tenant.admin.accessToken)).expect(200); // signed with the old key
      const refreshed = await after.http().post('/api/auth/refresh').send({ refreshToken: tenant.admin.refreshToken }).expect(200);
      const header = JSON.parse(Buffer.from(refreshed.body.accessToken.split('.')[0], 'base64url').toString());
      expect(header.kid).toBe(newKid);
      await after.http().get('/api/me').set(bearer(refreshed.body.accessToken)).expect(200);
      const jwks = await after.http().get('/.well-known/jwks.json').expect(200);
      expect(jwks.body.keys.map((k: { kid: string }) => k.kid)).toEqual(expect.arrayContaining([current.AUTH_JWT_ACTIVE_KID, newKid]));
      expect(JSON.stringify(jwks.body)).not.toMatch(/"d":/); // public halves only
    } finally {
      await after.close();
    }
  });
});

describe('hostile access tokens', () => {
  let tenant: Awaited<ReturnType<typeof registerTenant>>;
  let claims: Record<string, unknown>;
  beforeAll(async () => {
    tenant = await registerTenant(api);
    claims = JSON.parse(Buffer.from(tenant.admin.accessToken.split('.')[1]!, 'base64url').toString());
  });
  const refuse = async (token: string) => {
    const res = await me(token).expect(401);
    expect(res.body.type).toBe('urn:finflow:problem:unauthenticated');
  };

  it('refuses an expired token', async () => {
    const { privateKey } = keyFromConfig();
    const token = await new SignJWT({ ...claims, exp: Math.floor(Date.now() / 1000) - 60 })
      .setProtectedHeader({ alg: 'EdDSA', kid: api.deps.config.AUTH_JWT_ACTIVE_KID, typ: 'at+jwt' })
      .sign(privateKey);
    await refuse(token);
  });

  it('refuses a non-admin raising its own role, and leaves that role as it was', async () => {
    const financeToken = await userWithRole(api, tenant, 'finance');
    const financeUser = (await me(financeToken).expect(200)).body.user as { id: string; email: string };
    const financeClaims = JSON.parse(Buffer.from(financeToken.split('.')[1]!, 'base64url').toString());
    expect(financeClaims.role).toBe('finance');

    // Its own token with the role claim raised, signature kept.
    const [h, , sig] = financeToken.split('.');
    const raised = `${h}.${base64url.encode(JSON.stringify({ ...financeClaims, role: 'admin' }))}.${sig}`;
    await refuse(raised);
    const adminOnly = await api.http().get('/api/users').set(bearer(raised)).expect(401);
    expect(adminOnly.body.type).toBe('urn:finflow:problem:unauthenticated');
    // Through the API: inviting itself (another address of its own) as admin, or minting a key.
    await api.http().post('/api/users/invitations').set(bearer(financeToken)).send({ email: `again-${randomUUID().slice(0, 8)}@${tenant.slug}.test`, role: 'admin' }).expect(403);
    await api.http().post('/api/api-keys').set(bearer(financeToken)).send({ name: 'mine', role: 'finance' }).expect(403);

    // Nothing changed: the person is finance in its session, in the tenant's user list and at its next login.
    expect((await me(financeToken).expect(200)).body.role).toBe('finance');
    await api.http().get('/api/users').set(bearer(financeToken)).expect(403);
    const users = await api.http().get('/api/users').set(bearer(tenant.admin.accessToken)).expect(200);
    expect(users.body.data.filter((u: { id: string }) => u.id === financeUser.id)).toEqual([expect.objectContaining({ email: financeUser.email, role: 'finance' })]);
    expect(users.body.data.filter((u: { role: string }) => u.role === 'admin').map((u: { email: string }) => u.email)).toEqual([tenant.adminEmail]);
    const login = await api.http().post('/api/auth/login').send({ email: financeUser.email, password: PASSWORD }).expect(200);
    expect((await me(login.body.accessToken).expect(200)).body.role).toBe('finance');
    const keys = await api.http().get('/api/api-keys').set(bearer(tenant.admin.accessToken)).expect(200);
    expect(keys.body.data).toEqual([]);
  });

  it("refuses a tampered payload (another tenant's id)", async () => {
    const other = await registerTenant(api);
    const [h, , sig] = tenant.admin.accessToken.split('.');
    await refuse(`${h}.${base64url.encode(JSON.stringify({ ...claims, tid: other.tenantId }))}.${sig}`);
  });

  it('refuses alg "none"', async () => {
    await refuse(new UnsecuredJWT(claims).encode());
  });

  it('refuses HS256 signed with the public key (algorithm confusion)', async () => {
    const jwks = await api.http().get('/.well-known/jwks.json').expect(200);
    const publicJwk = JSON.stringify(jwks.body.keys[0]);
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', kid: api.deps.config.AUTH_JWT_ACTIVE_KID, typ: 'at+jwt' })
      .sign(new TextEncoder().encode(publicJwk));
    await refuse(token);
  });

  it('refuses a token signed with another key under our key id', async () => {
    const stranger = generateKeyPairSync('ed25519').privateKey;
    const token = await new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA', kid: api.deps.config.AUTH_JWT_ACTIVE_KID, typ: 'at+jwt' }).sign(stranger);
    await refuse(token);
  });

  it('refuses a malformed Authorization header, even on a public route', async () => {
    await api.http().get('/health').set('Authorization', 'Basic YWRtaW46YWRtaW4=').expect(401);
    await api.http().get('/api/me').set('Authorization', 'Bearer ').expect(401);
  });

  it('refuses a request without credentials on a protected route', async () => {
    await api.http().get('/api/me').expect(401);
  });
});

function keyFromConfig() {
  // The suite's own signing key, to mint a correctly signed but expired token.
  const spec = api.deps.config.AUTH_JWT_KEYS.split(',')[0]!;
  return { privateKey: createPrivateKey({ key: Buffer.from(spec.slice(spec.indexOf(':') + 1), 'base64'), format: 'der', type: 'pkcs8' }) };
}
