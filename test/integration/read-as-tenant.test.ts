/** readAsTenant (platform/db/pool.ts): one round trip, scoped to one tenant, taking UUIDs only. */
import { randomUUID } from 'node:crypto';
import { createPool, inTransaction, readAsTenant, withTenant, type Pool } from '../../platform/db/pool';
import { testConfig } from '../support/env';

const cfg = testConfig();

describe('readAsTenant', () => {
  let pool: Pool;
  const [a, b] = [randomUUID(), randomUUID()];
  beforeAll(async () => {
    pool = createPool(cfg.DATABASE_URL, 1); // one connection: every read below runs on the same one
    for (const id of [a, b]) {
      await withTenant(pool, id, (tx) => tx.query("INSERT INTO tenants (id, slug, name) VALUES ($1, $2, 'Read as tenant')", [id, `rat-${id.slice(0, 12)}`]));
    }
  });
  afterAll(() => pool.end());

  it("sees only the tenant's rows, under row-level security", async () => {
    await expect(readAsTenant(pool, a, 'SELECT id FROM tenants')).resolves.toEqual([{ id: a }]);
    await expect(readAsTenant(pool, b, 'SELECT id FROM tenants WHERE id = $1 OR id = $2', [a, b])).resolves.toEqual([{ id: b }]);
  });

  it('leaves no tenant on the connection after it', async () => {
    await readAsTenant(pool, a, 'SELECT id FROM tenants');
    const { rows } = await pool.query<{ tenant: string | null }>("SELECT nullif(current_setting('finflow.tenant_id', true), '') AS tenant");
    expect(rows).toEqual([{ tenant: null }]);
    await expect(inTransaction(pool, (tx) => tx.query('SELECT id FROM tenants'))).resolves.toMatchObject({ rows: [] });
  });

  it('refuses a value that is not a UUID, a missing value and a second statement, before sending anything', async () => {
    await expect(readAsTenant(pool, a, 'SELECT id FROM tenants WHERE id = $1', [`${b}' OR true --`])).rejects.toThrow(TypeError);
    await expect(readAsTenant(pool, `${a}'`, 'SELECT id FROM tenants')).rejects.toThrow(TypeError);
    await expect(readAsTenant(pool, a, 'SELECT id FROM tenants WHERE id = $2', [b])).rejects.toThrow(TypeError);
    await expect(readAsTenant(pool, a, 'SELECT 1; SELECT id FROM tenants')).rejects.toThrow(TypeError);
  });
});
