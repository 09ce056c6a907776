/**
 * Row-level security between tenants on the tables that hold money and decisions, hit directly through the
 * application role with the tenant set the way platform/db does it (`finflow.tenant_id`, transaction-local), and
 * the three pre-login rules that admit exactly one row before the tenant is known.
 */
import { randomUUID } from 'node:crypto';
import { money } from '../../core/money';
import { createPool, inTransaction, withTenant, type Pool, type PoolClient } from '../../platform/db/pool';
import { placeHold, postJournalEntry } from '../../platform/ledger';
import { createTenant, testConfig } from '../support/env';
import { insertCreditApplication, insertPayment } from '../support/rows';

const cfg = testConfig();
let app: Pool;

interface Seeded {
  tenantId: string;
  paymentId: string;
  applicationId: string;
  accountId: string;
  entryId: string;
  users: { id: string; email: string }[];
  invitationId: string;
  apiKeyId: string;
}
const tenants: Seeded[] = [];

/** One of everything for a tenant, written through the application role. */
async function seedTenant(): Promise<Seeded> {
  const tenantId = await createTenant(app);
  return withTenant(app, tenantId, async (tx) => {
    await tx.query('SELECT create_default_chart($1)', [tenantId]);
    const accountId = (await tx.query<{ id: string }>("SELECT id FROM ledger_accounts WHERE tenant_id = $1 AND system_key = 'provider_clearing'", [tenantId])).rows[0]!.id;
    const paymentId = await insertPayment(tx, tenantId, { status: 'succeeded', capturedMinor: 1000 });
    await tx.query('INSERT INTO payment_refunds (id, tenant_id, payment_id, idempotency_key, amount_minor) VALUES ($1, $2, $3, $4, 100)', [
      randomUUID(), tenantId, paymentId, `refund-${randomUUID()}`,
    ]);
    await tx.query("INSERT INTO payment_refund_requests (id, tenant_id, idempotency_key, request_hash, payment_id, amount_minor) VALUES ($1, $2, $3, '\\x00', $4, 100)", [
      randomUUID(), tenantId, `refund-${randomUUID()}`, paymentId,
    ]);
    const entryId = randomUUID();
    await postJournalEntry(tx, {
      id: entryId,
      tenantId,
      effectiveAt: new Date(),
      description: 'card payment captured',
      source: { type: 'payment', id: paymentId },
      postings: [
        { account: { systemKey: 'provider_clearing' }, amount: money(1000, 'EUR') },
        { account: { systemKey: 'sales_revenue' }, amount: money(-1000, 'EUR') },
      ],
    });
    await placeHold(tx, {
      id: randomUUID(), tenantId, account: { accountId }, amount: money(500, 'EUR'), expiresAt: new Date(Date.now() + 86_400_000), source: { type: 'payment', id: paymentId },
    });
    const applicationId = await insertCreditApplication(tx, tenantId);
    await tx.query("INSERT INTO credit_lines (id, tenant_id, application_id, limit_minor, currency) VALUES ($1, $2, $3, 1000000, 'TWD')", [randomUUID(), tenantId, applicationId]);
    await tx.query("INSERT INTO kyc_deny_list (tenant_id, national_id_hash, reason, created_by) VALUES ($1, $2, 'fraud', 'test')", [tenantId, Buffer.from(randomUUID())]);
    await tx.query("INSERT INTO compliance_payment_failures (event_id, tenant_id, payment_id, customer_id, failure_code, occurred_at) VALUES ($1, $2, $3, 'cus_rows', 'PaymentDeclined', now())", [
      randomUUID(), tenantId, paymentId,
    ]);
    await tx.query("INSERT INTO compliance_flags (tenant_id, customer_id, reason, failures) VALUES ($1, 'cus_rows', 'repeated_payment_failures', 3)", [tenantId]);

    const users: Seeded['users'] = [];
    for (const name of ['ada', 'bob']) {
      const email = `${name}-${randomUUID().slice(0, 8)}@rls.test`;
      const { rows } = await tx.query<{ id: string }>(
        "INSERT INTO users (tenant_id, email, display_name, password_hash, role) VALUES ($1, $2, $3, 'x', 'admin') RETURNING id",
        [tenantId, email, name],
      );
      users.push({ id: rows[0]!.id, email });
    }
    const invitations: string[] = [];
    const apiKeys: string[] = [];
    for (let i = 0; i < 2; i++) {
      const inv = await tx.query<{ id: string }>(
        "INSERT INTO invitations (tenant_id, email, role, token_hash, invited_by, expires_at) VALUES ($1, $2, 'ops', '\\x00', $3, now() + interval '1 day') RETURNING id",
        [tenantId, `invitee-${randomUUID().slice(0, 8)}@rls.test`, users[0]!.id],
      );
      invitations.push(inv.rows[0]!.id);
      const keyId = randomUUID().replace(/-/g, '').slice(0, 16);
      await tx.query("INSERT INTO api_keys (tenant_id, key_id, secret_hash, name, role, created_by) VALUES ($1, $2, '\\x00', 'key', 'client', $3)", [
        tenantId, keyId, users[0]!.id,
      ]);
      apiKeys.push(keyId);
    }
    return { tenantId, paymentId, applicationId, accountId, entryId, users, invitationId: invitations[0]!, apiKeyId: apiKeys[0]! };
  });
}

beforeAll(async () => {
  app = createPool(cfg.DATABASE_URL, 4);
  tenants.push(await seedTenant(), await seedTenant());
});
afterAll(async () => {
  await app.end();
});

const ours = () => tenants[0]!;
const theirs = () => tenants[1]!;
const asTenant = <T>(tenantId: string, fn: (tx: PoolClient) => Promise<T>) => withTenant(app, tenantId, fn);

const TABLES = [
  'payments', 'payment_refunds', 'payment_refund_requests', 'ledger_accounts', 'journal_entries', 'postings', 'ledger_holds',
  'credit_applications', 'credit_lines', 'kyc_deny_list', 'compliance_payment_failures', 'compliance_flags',
];

describe('row-level security between two tenants', () => {
  it.each(TABLES)('%s: shows a tenant none of the other tenant’s rows, and nothing without a tenant', async (table) => {
    const counts = (scope: string) =>
      asTenant(scope, async (tx) =>
        (await tx.query<{ ours: number; theirs: number }>(
          `SELECT count(*) FILTER (WHERE tenant_id = $1)::int AS ours, count(*) FILTER (WHERE tenant_id <> $1)::int AS theirs FROM ${table}`,
          [scope],
        )).rows[0],
      );
    expect(await counts(theirs().tenantId)).toEqual({ ours: expect.any(Number), theirs: 0 });
    expect((await counts(theirs().tenantId))!.ours).toBeGreaterThan(0); // the other tenant has rows to hide
    expect(await counts(ours().tenantId)).toEqual({ ours: expect.any(Number), theirs: 0 });
    expect((await counts(ours().tenantId))!.ours).toBeGreaterThan(0);
    const unscoped = await inTransaction(app, async (tx) => (await tx.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]!.n);
    expect(unscoped).toBe(0);
  });

  // Complete, valid rows of the other tenant (their references are theirs), so only the tenant policy can refuse them.
  const foreignRows: [string, (t: Seeded) => [string, unknown[]]][] = [
    ['payments', (t) => [
      "INSERT INTO payments (id, tenant_id, idempotency_key, request_hash, customer_id, amount_minor, currency, capture_method) VALUES ($1, $2, $3, '\\x00', 'cus_x', 100, 'EUR', 'automatic')",
      [randomUUID(), t.tenantId, `key-${randomUUID()}`],
    ]],
    ['payment_refunds', (t) => [
      'INSERT INTO payment_refunds (id, tenant_id, payment_id, idempotency_key, amount_minor) VALUES ($1, $2, $3, $4, 1)',
      [randomUUID(), t.tenantId, t.paymentId, `refund-${randomUUID()}`],
    ]],
    ['payment_refund_requests', (t) => [
      "INSERT INTO payment_refund_requests (id, tenant_id, idempotency_key, request_hash, payment_id, amount_minor) VALUES ($1, $2, $3, '\\x00', $4, 1)",
      [randomUUID(), t.tenantId, `refund-${randomUUID()}`, t.paymentId],
    ]],
    ['ledger_accounts', (t) => ["INSERT INTO ledger_accounts (tenant_id, code, name, type) VALUES ($1, '1999', 'Planted', 'asset')", [t.tenantId]]],
    ['ledger_holds', (t) => [
      "INSERT INTO ledger_holds (id, tenant_id, account_id, currency, amount_minor, source_type, source_id, expires_at) VALUES ($1, $2, $3, 'EUR', 1, 'payment', 'x', now() + interval '1 day')",
      [randomUUID(), t.tenantId, t.accountId],
    ]],
    ['credit_applications', (t) => [
      "INSERT INTO credit_applications (id, tenant_id, idempotency_key, request_hash, submitted_by, applicant, national_id_hash, credit_profile, requested_limit_minor, currency) VALUES ($1, $2, $3, '\\x00', $4, '{}', '\\x01', '{}', 100, 'TWD')",
      [randomUUID(), t.tenantId, `key-${randomUUID()}`, `user:${randomUUID()}`],
    ]],
    ['credit_lines', (t) => [
      "INSERT INTO credit_lines (id, tenant_id, application_id, limit_minor, currency) VALUES ($1, $2, $3, 1, 'TWD') ON CONFLICT DO NOTHING",
      [randomUUID(), t.tenantId, t.applicationId],
    ]],
    ['kyc_deny_list', (t) => ["INSERT INTO kyc_deny_list (tenant_id, national_id_hash, reason, created_by) VALUES ($1, $2, 'planted', 'test')", [t.tenantId, Buffer.from(randomUUID())]]],
    ['compliance_flags', (t) => [
      "INSERT INTO compliance_flags (tenant_id, customer_id, reason, failures) VALUES ($1, $2, 'planted', 9)",
      [t.tenantId, `cus_${randomUUID().slice(0, 8)}`],
    ]],
  ];

  it.each(foreignRows)('%s: refuses a row written under the other tenant’s id', async (_table, row) => {
    const [sql, params] = row(theirs());
    await expect(asTenant(ours().tenantId, (tx) => tx.query(sql, params))).rejects.toThrow(/new row violates row-level security policy/);
  });

  const foreignUpdates: [string, string][] = [
    ['payments', "UPDATE payments SET status = 'failed', amount_refunded_minor = amount_captured_minor WHERE tenant_id = $1"],
    ['payment_refunds', "UPDATE payment_refunds SET status = 'succeeded' WHERE tenant_id = $1"],
    ['ledger_holds', "UPDATE ledger_holds SET status = 'released', settled_at = now() WHERE tenant_id = $1"],
    ['credit_applications', "UPDATE credit_applications SET status = 'escalated' WHERE tenant_id = $1"],
    ['credit_lines', "UPDATE credit_lines SET status = 'frozen' WHERE tenant_id = $1"],
    ['compliance_flags', 'UPDATE compliance_flags SET failures = 0 WHERE tenant_id = $1'],
    ['users', "UPDATE users SET role = 'client' WHERE tenant_id = $1"],
    ['api_keys', 'UPDATE api_keys SET revoked_at = now() WHERE tenant_id = $1'],
  ];

  it.each(foreignUpdates)('%s: an update aimed at the other tenant’s rows changes none of them', async (table, sql) => {
    const snapshot = () => asTenant(theirs().tenantId, async (tx) => (await tx.query(`SELECT * FROM ${table} ORDER BY 1`)).rows);
    const before = await snapshot();
    expect(before.length).toBeGreaterThan(0);
    const updated = await asTenant(ours().tenantId, (tx) => tx.query(sql, [theirs().tenantId]));
    expect(updated.rowCount).toBe(0);
    expect(await snapshot()).toEqual(before);
  });
});

describe('the pre-login rules', () => {
  /** An unscoped transaction (no tenant yet) with one pre-login setting, as login, API-key auth and invitations do. */
  const beforeLogin = <T>(setting: string, value: string, fn: (tx: PoolClient) => Promise<T>) =>
    inTransaction(app, async (tx) => {
      await tx.query('SELECT set_config($1, $2, true)', [setting, value]);
      return fn(tx);
    });

  it('finflow.login_email admits exactly the user with that email, and lets nothing be written', async () => {
    const target = theirs().users[1]!;
    const seen = await beforeLogin('finflow.login_email', target.email, async (tx) => (await tx.query('SELECT id FROM users')).rows);
    expect(seen).toEqual([{ id: target.id }]);
    const written = await beforeLogin('finflow.login_email', target.email, (tx) => tx.query("UPDATE users SET role = 'client' WHERE email = $1", [target.email]));
    expect(written.rowCount).toBe(0);
    expect(await beforeLogin('finflow.login_email', '', async (tx) => (await tx.query('SELECT id FROM users')).rowCount)).toBe(0);
  });

  it('finflow.invitation_id admits exactly that invitation, and lets nothing be written', async () => {
    const id = theirs().invitationId;
    const seen = await beforeLogin('finflow.invitation_id', id, async (tx) => (await tx.query('SELECT id FROM invitations')).rows);
    expect(seen).toEqual([{ id }]);
    const written = await beforeLogin('finflow.invitation_id', id, (tx) => tx.query('UPDATE invitations SET accepted_at = now() WHERE id = $1', [id]));
    expect(written.rowCount).toBe(0);
    expect(await beforeLogin('finflow.invitation_id', '', async (tx) => (await tx.query('SELECT id FROM invitations')).rowCount)).toBe(0);
  });

  it('finflow.api_key_id admits exactly that API key, and lets nothing be written', async () => {
    const keyId = theirs().apiKeyId;
    const seen = await beforeLogin('finflow.api_key_id', keyId, async (tx) => (await tx.query('SELECT key_id FROM api_keys')).rows);
    expect(seen).toEqual([{ key_id: keyId }]);
    const written = await beforeLogin('finflow.api_key_id', keyId, (tx) => tx.query('UPDATE api_keys SET revoked_at = now() WHERE key_id = $1', [keyId]));
    expect(written.rowCount).toBe(0);
    expect(await beforeLogin('finflow.api_key_id', '', async (tx) => (await tx.query('SELECT key_id FROM api_keys')).rowCount)).toBe(0);
  });

  it('opens nothing in the tables it does not name', async () => {
    const { email } = theirs().users[0]!;
    const seen = await beforeLogin('finflow.login_email', email, async (tx) => ({
      invitations: (await tx.query('SELECT 1 FROM invitations')).rowCount,
      apiKeys: (await tx.query('SELECT 1 FROM api_keys')).rowCount,
      payments: (await tx.query('SELECT 1 FROM payments')).rowCount,
    }));
    expect(seen).toEqual({ invitations: 0, apiKeys: 0, payments: 0 });
  });
});
