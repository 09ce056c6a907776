/**
 * The ops list of payments needing attention (GET /api/ops/payments/needs-attention) over HTTP on the real API and
 * database. The rows are written the way the saga's flagPaymentForAttention leaves them (status, failure code and the
 * compensations left undone; the saga's side is tested in test/workflow/payments/payment-cancellation.workflow.test.ts):
 * ops see their own tenant's, and only those.
 */
import { randomUUID } from 'node:crypto';
import { withTenant } from '../../platform/db/pool';
import { PAYMENT_FAILURES } from '../../workflows/payments/payment.contract';
import { bearer, registerTenant, startApi, userWithRole, type RegisteredTenant, type TestApi } from '../support/api';
import { insertPayment } from '../support/rows';

let api: TestApi;
let a: RegisteredTenant;
let b: RegisteredTenant;
let opsOfA: string;

beforeAll(async () => {
  api = startApi();
  [a, b] = [await registerTenant(api), await registerTenant(api)];
  opsOfA = await userWithRole(api, a, 'ops');
});
afterAll(() => api.close());

/** A payment of `tenant` in `status`; needing attention, with the compensation left undone. */
async function payment(tenant: RegisteredTenant, status: string): Promise<string> {
  return withTenant(api.deps.db, tenant.tenantId, async (tx) => {
    const id = await insertPayment(tx, tenant.tenantId, { status, customerId: `cus_${randomUUID().slice(0, 8)}` });
    if (status === 'needs_attention') {
      await tx.query('UPDATE payments SET failure_code = $2, unresolved_compensations = $3 WHERE id = $1', [id, PAYMENT_FAILURES.ledgerFailed, ['release or refund at the provider']]);
    }
    return id;
  });
}

const list = (query = '') => api.http().get(`/api/ops/payments/needs-attention${query}`).set(bearer(opsOfA));

describe('GET /api/ops/payments/needs-attention', () => {
  it("lists the tenant's payments needing attention, newest first, with what is left undone, and nothing else", async () => {
    const older = await payment(a, 'needs_attention');
    await payment(a, 'failed');
    await payment(a, 'succeeded');
    const newer = await payment(a, 'needs_attention');
    await payment(b, 'needs_attention');

    const res = await list().expect(200);
    expect(res.body.data.map((p: { id: string }) => p.id)).toEqual([newer, older]);
    expect(res.body.data[0]).toMatchObject({ status: 'needs_attention', failureCode: PAYMENT_FAILURES.ledgerFailed, unresolvedCompensations: ['release or refund at the provider'] });

    const first = await list('?limit=1').expect(200);
    expect(first.body.data.map((p: { id: string }) => p.id)).toEqual([newer]);
    const rest = await list(`?limit=1&cursor=${encodeURIComponent(first.body.nextCursor)}`).expect(200);
    expect(rest.body).toEqual({ data: [expect.objectContaining({ id: older })], nextCursor: null });

    // The status is one of a payment's states everywhere: the general list filters on it too.
    const filtered = await api.http().get('/api/payments?status=needs_attention').set(bearer(opsOfA)).expect(200);
    expect(filtered.body.data.map((p: { id: string }) => p.id)).toEqual([newer, older]);
  });
});
