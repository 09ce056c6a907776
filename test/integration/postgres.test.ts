/** The schema's guarantees, checked in the database itself: migrations, roles, and row-level security. */
import { randomUUID } from 'node:crypto';
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
  it('have been applied by node-pg-migrate, in order', async () => {
    const { rows } = await owner.query<{ name: string }>('SELECT name FROM pgmigrations ORDER BY run_on, id');
    expect(rows.map((r) => r.name)).toContain('1732420000000_tenants-and-outbox');
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

  it('writes an outbox event once, however often the writer retries', async () => {
    const tenant = await createTenant(app);
    const event = { eventId: randomUUID(), type: 'platform.smoke.completed' as const, tenantId: tenant, aggregateType: 'smoke', aggregateId: 'y', data: { n: 1 } };
    const first = await withTenant(app, tenant, (tx) => appendToOutbox(tx, event));
    const again = await withTenant(app, tenant, (tx) => appendToOutbox(tx, event));
    expect([first, again]).toEqual([true, false]);
  });
});
