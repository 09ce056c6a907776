/**
 * Schema migrations with node-pg-migrate: plain SQL files in migrations/, applied in order, each in its own
 * transaction, recorded in `pgmigrations`, under an advisory lock so two starting processes never race.
 */
import path from 'node:path';

export const MIGRATIONS_DIR = path.resolve(__dirname, '..', '..', 'migrations');

export async function migrateUp(databaseUrl: string, log: (msg: string) => void = () => undefined): Promise<string[]> {
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
  return applied.map((m) => m.name);
}
