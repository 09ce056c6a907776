import { randomUUID } from 'node:crypto';
import { loadConfig, type Config } from '../../platform/config';
import { createPool, withTenant, type Pool } from '../../platform/db/pool';

/** This run's configuration (global-setup points it at the run's private database, queues and topics). */
export function testConfig(overrides: NodeJS.ProcessEnv = {}): Config {
  if (!process.env.FINFLOW_TEST_RUN_ID) throw new Error('test/support/global-setup.ts did not run');
  return loadConfig({ ...process.env, ...overrides });
}

/** Owner-role pool, for assertions that must see across tenants (it still respects FORCE RLS: use withTenant). */
export function ownerPool(cfg: Config): Pool {
  return createPool(cfg.DATABASE_MIGRATION_URL, 3);
}

/** Creates a tenant through the application role, the way registration will. */
export async function createTenant(db: Pool, slug = `t-${randomUUID().slice(0, 8)}`): Promise<string> {
  const id = randomUUID();
  await withTenant(db, id, (tx) => tx.query('INSERT INTO tenants (id, slug, name) VALUES ($1, $2, $3)', [id, slug, `Tenant ${slug}`]));
  return id;
}

export const uniqueId = (label: string) => `${label}-${randomUUID()}`;
