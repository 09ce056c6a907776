/**
 * A database of its own for a test file whose processes must not share the run's database: an outbox relay leads
 * per database (advisory lock), so a file that needs its relay to be the one publishing (or to be killed while
 * leading) cannot share the outbox with other files' relays. Created and migrated like the run's database
 * (test/support/global-setup.ts), named like it so a killed run's leftover is dropped as stale later.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { LOCAL_DB, LOCAL_STACK_PORTS } from '../../platform/config/local-stack';

const url = (role: { user: string; password: string }, db: string) => `postgres://${role.user}:${role.password}@127.0.0.1:${LOCAL_STACK_PORTS.postgres}/${db}`;

export interface PrivateDatabase {
  name: string;
  /** The variables a process reads to reach this database (app, relay and owner roles). */
  env: { DATABASE_URL: string; DATABASE_RELAY_URL: string; DATABASE_MIGRATION_URL: string };
  drop(): Promise<void>;
}

async function asOwner<T>(run: (admin: Client) => Promise<T>): Promise<T> {
  const admin = new Client({ connectionString: url(LOCAL_DB.owner, LOCAL_DB.database), connectionTimeoutMillis: 5000 });
  await admin.connect();
  try {
    return await run(admin);
  } finally {
    await admin.end();
  }
}

export async function createPrivateDatabase(): Promise<PrivateDatabase> {
  const name = `finflow_test_${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  await asOwner((admin) => admin.query(`CREATE DATABASE ${name}`));
  const env = { DATABASE_URL: url(LOCAL_DB.app, name), DATABASE_RELAY_URL: url(LOCAL_DB.relay, name), DATABASE_MIGRATION_URL: url(LOCAL_DB.owner, name) };
  const root = path.resolve(__dirname, '..', '..');
  await promisify(execFile)(path.join(root, 'node_modules/.bin/tsx'), [path.join(root, 'scripts/migrate.ts')], {
    env: { ...process.env, DATABASE_MIGRATION_URL: env.DATABASE_MIGRATION_URL },
  });
  return {
    name,
    env,
    async drop() {
      if (process.env.FINFLOW_KEEP_TEST_DB === '1') return;
      await asOwner((admin) => admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}
