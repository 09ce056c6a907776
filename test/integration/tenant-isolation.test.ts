/** Over HTTP, a credential of tenant A never reads or changes tenant B's data. */
import { apiKeyWithRole, bearer, registerTenant, startApi, userWithRole, type RegisteredTenant, type TestApi } from '../support/api';

let api: TestApi;
let a: RegisteredTenant;
let b: RegisteredTenant;
let bKey: { id: string; key: string };

beforeAll(async () => {
  api = startApi();
  [a, b] = [await registerTenant(api), await registerTenant(api)];
  bKey = await apiKeyWithRole(api, b, 'client');
  await userWithRole(api, b, 'finance');
});
afterAll(() => api.close());

describe('tenant isolation', () => {
  it("lists only the caller's users and API keys", async () => {
    const users = await api.http().get('/api/users').set(bearer(a.admin.accessToken)).expect(200);
    expect(users.body.data.map((u: { email: string }) => u.email)).toEqual([a.adminEmail]);
    const keys = await api.http().get('/api/api-keys').set(bearer(a.admin.accessToken)).expect(200);
    expect(keys.body.data).toEqual([]);
  });

  it("cannot revoke another tenant's API key (404, and the key keeps working)", async () => {
    await api.http().delete(`/api/api-keys/${bKey.id}`).set(bearer(a.admin.accessToken)).expect(404);
    await api.http().get('/api/me').set(bearer(bKey.key)).expect(200);
  });

  it("sees its own tenant through /api/me, whichever credential B's data would suggest", async () => {
    const asA = await api.http().get('/api/me').set(bearer(a.admin.accessToken)).expect(200);
    expect(asA.body.tenant.id).toBe(a.tenantId);
    const asBKey = await api.http().get('/api/me').set(bearer(bKey.key)).expect(200);
    expect(asBKey.body.tenant.id).toBe(b.tenantId);
  });

  it("cannot smuggle a tenant id through the body or query", async () => {
    const res = await api.http().post('/api/users/invitations').set(bearer(a.admin.accessToken)).send({ email: 'x@y.test', role: 'ops', tenantId: b.tenantId }).expect(400);
    expect(res.body.errors).toEqual([expect.objectContaining({ path: 'body' })]);
    const users = await api.http().get(`/api/users?tenantId=${b.tenantId}`).set(bearer(a.admin.accessToken)).expect(200);
    expect(users.body.data.every((u: { email: string }) => u.email.endsWith(`${a.slug}.test`))).toBe(true);
  });

  it("cannot read, list, capture, cancel or refund another tenant's payment", async () => {
    const bClient = await apiKeyWithRole(api, b, 'client');
    const created = await api
      .http()
      .post('/api/payments')
      .set(bearer(bClient.key))
      .set('Idempotency-Key', `iso-${Date.now()}`)
      .send({ amountMinor: 500, currency: 'EUR', customerId: 'cus_b', paymentMethod: 'pm_card_visa', captureMethod: 'manual' });
    expect([201, 202]).toContain(created.status);
    const id = created.body.id as string;
    const asA = bearer(a.admin.accessToken);
    await api.http().get(`/api/payments/${id}`).set(asA).expect(404);
    for (const action of ['capture', 'cancel']) await api.http().post(`/api/payments/${id}/${action}`).set(asA).expect(404);
    await api.http().post(`/api/payments/${id}/refunds`).set(asA).set('Idempotency-Key', 'iso-refund').send({}).expect(404);
    const listed = await api.http().get('/api/payments').set(asA).expect(200);
    expect(listed.body.data.map((p: { id: string }) => p.id)).not.toContain(id);
    await api.http().get(`/api/payments/${id}`).set(bearer(bClient.key)).expect(200);
  });
});
