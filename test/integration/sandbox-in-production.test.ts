/**
 * The local provider sandbox (provider_sandbox: the intents and refunds a stand-in for Stripe keeps) has no place
 * in a production database: migrating for production (scripts/migrate.ts with NODE_ENV=production) leaves no such
 * schema, however often it runs. (migrateUp is called directly, in a child process as node-pg-migrate is ESM-only:
 * production configuration refuses the local stack's default passwords, so scripts/migrate.ts cannot be run so here.)
 */
const root = path.resolve(__dirname, '../..');
async function migrateForProduction(url: string): Promise<string[]> {
  const code = `require(${JSON.stringify(path.join(root, 'platform/db/migrate.ts'))}).migrateUp(process.env.URL, undefined, { environment: 'production' }).then((a) => console.log(JSON.stringify(a)))`;
  const { stdout } = await promisify(execFile)(path.join(root, 'node_modules/.bin/tsx'), ['-e', code], { env: { ...process.env, URL: url } });
  return JSON.parse(stdout) as string[];
}
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { createPrivateDatabase, type PrivateDatabase } from '../support/private-database';
import { testConfig } from '../support/env';

const sandboxSchema = async (url: string) => {
  const db = new Client({ connectionString: url });
  await db.connect();
  try {
    return (await db.query<{ schema: string | null }>("SELECT to_regnamespace('provider_sandbox')::text AS schema")).rows[0]!.schema;
  } finally {
    await db.end();
  }
};

describe('the provider sandbox schema', () => {
  let database: PrivateDatabase;
  beforeAll(async () => {
    database = await createPrivateDatabase();
  }, 180_000);
  afterAll(() => database?.drop());

  it('is there in a database migrated for development and tests (the sandbox plays the provider there)', async () => {
    expect(await sandboxSchema(testConfig().DATABASE_MIGRATION_URL)).toBe('provider_sandbox');
  });

  it('is gone once the database is migrated for production, and stays gone when migrated again', async () => {
    expect(await sandboxSchema(database.env.DATABASE_MIGRATION_URL)).toBe('provider_sandbox');
    await migrateForProduction(database.env.DATABASE_MIGRATION_URL);
    expect(await sandboxSchema(database.env.DATABASE_MIGRATION_URL)).toBeNull();
    await expect(migrateForProduction(database.env.DATABASE_MIGRATION_URL)).resolves.toEqual([]);
    expect(await sandboxSchema(database.env.DATABASE_MIGRATION_URL)).toBeNull();
  }, 120_000);
});
