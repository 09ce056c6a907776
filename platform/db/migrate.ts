/**
 * Schema migrations with node-pg-migrate: plain SQL files in migrations/, applied in order, each in its own
 * transaction, recorded in `pgmigrations`, under an advisory lock so two starting processes never race.
 *
 * In production the local provider sandbox (schema provider_sandbox: a stand-in for Stripe's own records, for
 * development and tests) is dropped once the migrations have run: production pays through Stripe, and nothing may
 * write there by mistake. A later migration that touches provider_sandbox must therefore run only where it exists
 * (`DO $$ BEGIN IF to_regnamespace('provider_sandbox') IS NOT NULL THEN ... END IF; END $$`).
 */
import path from 'node:path';
import { Client } from 'pg';

export const MIGRATIONS_DIR = path.resolve(__dirname, '..', '..', 'migrations');

export async function migrateUp(
  databaseUrl: string,
  log: (msg: string) => void = () => undefined,
  opts: { environment?: 'development' | 'test' | 'production' } = {},
): Promise<string[]> {
  // node-pg-migrate is ESM-only; a real dynamic import keeps this CommonJS module loadable.
  const { runner } = await import('node-pg-migrate');
  const applied = await runner({
    databaseUrl,
    dir: MIGRATIONS_DIR,
    direction: 'up',
    migrationsTable: 'pgmigrations',
    count: Infinity,
    checkOrder: true,
    singleTransaction: false,
    log,
    verbose: false,
  });
  if (opts.environment === 'production') await dropProviderSandbox(databaseUrl);
  return applied.map((m) => m.name);
}

async function dropProviderSandbox(databaseUrl: string): Promise<void> {
  const db = new Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    await db.query('DROP SCHEMA IF EXISTS provider_sandbox CASCADE');
  } finally {
    await db.end();
  }
}
