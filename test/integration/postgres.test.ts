/** The schema's guarantees, checked in the database itself: migrations, roles, and row-level security. */
import { randomUUID } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { MIGRATIONS_DIR } from '../../platform/db/migrate';
import { createPool, withTenant, type Pool } from '../../platform/db/pool';
import { appendToOutbox } from '../../platform/events/outbox';
import { createTenant, ownerPool, testConfig } from '../support/env';

const cfg = testConfig();
let app: Pool;
let owner: Pool;

beforeAll(() => {
  app = createPool(cfg.DATABASE_URL, 4);
  owner = ownerPool(cfg);
});
afterAll(async () => {
  await app.end();
  await owner.end();
});

describe('migrations', () => {
  it('have all been applied by node-pg-migrate, one by one in the order of their file names', async () => {
    const files = readdirSync(MIGRATIONS_DIR)
      .filter((f) => f.endsWith('.sql'))
      .map((f) => f.slice(0, -'.sql'.length))
      .sort((a, b) => Number(a.split('_')[0]) - Number(b.split('_')[0]));
    expect(files.length).toBeGreaterThanOrEqual(9);
    const { rows } = await owner.query<{ name: string; run_on: Date }>('SELECT name, run_on FROM pgmigrations ORDER BY id');
    expect(rows.map((r) => r.name)).toEqual(files);
    // Recorded in the order they ran: each one's run_on is no earlier than the one before.
    for (let i = 1; i < rows.length; i++) expect(rows[i]!.run_on.getTime()).toBeGreaterThanOrEqual(rows[i - 1]!.run_on.getTime());
  });
});

describe('row-level security', () => {
  it('is enabled and forced on every table that has a tenant column', async () => {
    const { rows } = await owner.query<{ table: string; enabled: boolean; forced: boolean; policies: number }>(`
      SELECT c.relname AS table, c.relrowsecurity AS enabled, c.relforcerowsecurity AS forced,
             (SELECT count(*)::int FROM pg_policy p WHERE p.polrelid = c.oid) AS policies
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relkind = 'r'
        AND (EXISTS (SELECT 1 FROM information_schema.columns col
                     WHERE col.table_schema = 'public' AND col.table_name = c.relname AND col.column_name = 'tenant_id')
             OR c.relname = 'tenants')`);
    expect(rows.map((r) => r.table).sort()).toEqual(expect.arrayContaining(['outbox', 'smoke_runs', 'tenants']));
    for (const row of rows) expect(row).toEqual({ table: row.table, enabled: true, forced: true, policies: expect.any(Number) });
    for (const row of rows) expect(row.policies).toBeGreaterThan(0);
  });

  it('runs the application as a role that owns nothing and cannot bypass RLS', async () => {
    const { rows } = await app.query<{ rolname: string; rolsuper: boolean; rolbypassrls: boolean; owned: number }>(`
      SELECT r.rolname, r.rolsuper, r.rolbypassrls,
             (SELECT count(*)::int FROM pg_class c WHERE c.relowner = r.oid) AS owned
      FROM pg_roles r WHERE r.rolname = current_user`);
    expect(rows).toEqual([{ rolname: 'finflow_app', rolsuper: false, rolbypassrls: false, owned: 0 }]);
  });

  it('shows a tenant only its own rows, and nothing without a tenant', async () => {
    const [a, b] = [await createTenant(app), await createTenant(app)];
    for (const tenant of [a, b]) {
      await withTenant(app, tenant, (tx) =>
        tx.query('INSERT INTO smoke_runs (tenant_id, workflow_id, message) VALUES ($1, $2, $3)', [tenant, `wf-${randomUUID()}`, `from ${tenant}`]),
      );
    }
    const seenBy = (tenant: string) =>
      withTenant(app, tenant, async (tx) => (await tx.query<{ tenant_id: string }>('SELECT tenant_id FROM smoke_runs')).rows.map((r) => r.tenant_id));
    expect(new Set(await seenBy(a))).toEqual(new Set([a]));
    expect(new Set(await seenBy(b))).toEqual(new Set([b]));
    expect((await app.query('SELECT * FROM smoke_runs')).rowCount).toBe(0);
    expect((await owner.query('SELECT * FROM smoke_runs')).rowCount).toBe(0); // FORCE: even the owner
  });

  it("refuses to write a row into another tenant's data", async () => {
    const [a, b] = [await createTenant(app), await createTenant(app)];
    const attempt = withTenant(app, a, (tx) =>
      tx.query('INSERT INTO smoke_runs (tenant_id, workflow_id, message) VALUES ($1, $2, $3)', [b, `wf-${randomUUID()}`, 'sneaky']),
    );
    await expect(attempt).rejects.toThrow(/row-level security/);
  });

  it('lets the relay role read every tenant’s outbox, and the app role neither update nor delete it', async () => {
    const tenant = await createTenant(app);
    const eventId = randomUUID();
    await withTenant(app, tenant, (tx) =>
      appendToOutbox(tx, { eventId, type: 'platform.smoke.completed', tenantId: tenant, aggregateType: 'smoke', aggregateId: 'x', data: {} }),
    );
    const relay = createPool(cfg.DATABASE_RELAY_URL, 1);
    try {
      expect((await relay.query('SELECT 1 FROM outbox WHERE event_id = $1', [eventId])).rowCount).toBe(1);
      await expect(relay.query('DELETE FROM outbox WHERE event_id = $1', [eventId])).rejects.toThrow(/permission denied/);
    } finally {
      await relay.end();
    }
    await expect(withTenant(app, tenant, (tx) => tx.query('UPDATE outbox SET published_at = now() WHERE event_id = $1', [eventId]))).rejects.toThrow(
      /permission denied/,
    );
  });

  it('refuses the application role any DELETE on the ledger, the outbox and the audit trail, and keeps the rows', async () => {
    const tenant = await createTenant(app);
    const eventId = randomUUID();
    await withTenant(app, tenant, async (tx) => {
      await tx.query('SELECT create_default_chart($1)', [tenant]);
      await appendToOutbox(tx, { eventId, type: 'platform.smoke.completed', tenantId: tenant, aggregateType: 'smoke', aggregateId: 'z', data: {} });
      await tx.query('INSERT INTO processed_events (consumer, event_id, tenant_id) VALUES ($1, $2, $3)', ['postgres-test', eventId, tenant]);
      await tx.query('INSERT INTO smoke_runs (tenant_id, workflow_id, message) VALUES ($1, $2, $3)', [tenant, `wf-${randomUUID()}`, 'kept']);
    });
    const appendOnly = [
      'journal_entries', 'postings', 'ledger_accounts', 'ledger_holds', 'accounting_periods', // the books
      'outbox', 'processed_events', 'smoke_runs', // what was announced and handled
      'payments', 'payment_refunds', 'compliance_payment_failures', 'compliance_flags', 'credit_applications', 'credit_lines', // money and decisions
      'tenants', 'users', 'api_keys', 'invitations', // who could act (revoked or disabled, never erased)
    ];
    const refused: string[] = [];
    for (const table of appendOnly) {
      const attempt = await withTenant(app, tenant, (tx) => tx.query(`DELETE FROM ${table}`)).then(
        (r) => `deleted ${r.rowCount} rows`,
        (err: Error) => err.message,
      );
      refused.push(`${table}: ${attempt}`);
    }
    expect(refused).toEqual(appendOnly.map((t) => `${t}: permission denied for table ${t}`));
    const kept: string[] = [];
    await withTenant(app, tenant, async (tx) => {
      for (const t of ['ledger_accounts', 'outbox', 'processed_events', 'smoke_runs', 'tenants']) if ((await tx.query(`SELECT 1 FROM ${t}`)).rowCount) kept.push(t);
    });
    expect(kept).toEqual(['ledger_accounts', 'outbox', 'processed_events', 'smoke_runs', 'tenants']);
  });

  it('grants the application role DELETE on the KYC deny list only', async () => {
    const { rows } = await owner.query<{ table: string }>(`
      SELECT table_schema || '.' || table_name AS table FROM information_schema.role_table_grants
       WHERE grantee = 'finflow_app' AND privilege_type IN ('DELETE', 'TRUNCATE') ORDER BY 1`);
    expect(rows.map((r) => r.table)).toEqual(['public.kyc_deny_list']);
  });

  it('writes an outbox event once, however often the writer retries', async () => {
    const tenant = await createTenant(app);
    const event = { eventId: randomUUID(), type: 'platform.smoke.completed' as const, tenantId: tenant, aggregateType: 'smoke', aggregateId: 'y', data: { n: 1 } };
    const first = await withTenant(app, tenant, (tx) => appendToOutbox(tx, event));
    const again = await withTenant(app, tenant, (tx) => appendToOutbox(tx, event));
    expect([first, again]).toEqual([true, false]);
  });
});
