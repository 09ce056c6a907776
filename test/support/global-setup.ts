/**
 * Gives this test run its own slice of the shared local stack: a fresh database (migrated with the same command
 * `npm start` uses), a task-queue prefix, a Kafka topic prefix, a Mongo database and fresh encryption keys.
 * Runs once per jest process even when several projects declare it.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Client } from 'pg';
import { generateLocalSecrets } from '../../deploy/local/lib/secrets';
import { LOCAL_DB, LOCAL_STACK_PORTS } from '../../platform/config/local-stack';

const ownerUrl = (db: string) =>
  `postgres://${LOCAL_DB.owner.user}:${LOCAL_DB.owner.password}@127.0.0.1:${LOCAL_STACK_PORTS.postgres}/${db}`;
const roleUrl = (role: { user: string; password: string }, db: string) =>
  `postgres://${role.user}:${role.password}@127.0.0.1:${LOCAL_STACK_PORTS.postgres}/${db}`;

/** Test databases older than this are left-overs of killed runs. */
const STALE_AFTER_MS = 6 * 3600 * 1000;

export default async function globalSetup(): Promise<void> {
  if (process.env.FINFLOW_TEST_RUN_ID) return;
  const runId = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const database = `finflow_test_${runId}`;

  const admin = new Client({ connectionString: ownerUrl(LOCAL_DB.database), connectionTimeoutMillis: 5000 });
  try {
    await admin.connect();
  } catch (err) {
    throw new Error(`PostgreSQL of the local stack is unreachable (${(err as Error).message}); run \`npm run stack -- up\``);
  }
  try {
    const { rows } = await admin.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datname LIKE 'finflow\\_test\\_%'");
    for (const { datname } of rows) {
      const born = parseInt(datname.slice('finflow_test_'.length, -6), 36);
      if (Number.isFinite(born) && Date.now() - born > STALE_AFTER_MS) await admin.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`);
    }
    await admin.query(`CREATE DATABASE ${database}`);
  } finally {
    await admin.end();
  }

  const root = path.resolve(__dirname, '..', '..');
  execFileSync(path.join(root, 'node_modules/.bin/tsx'), [path.join(root, 'scripts/migrate.ts')], {
    env: { ...process.env, DATABASE_MIGRATION_URL: ownerUrl(database) },
    stdio: 'pipe',
  });

  Object.assign(process.env, {
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    FINFLOW_TEST_RUN_ID: runId,
    FINFLOW_TEST_DATABASE: database,
    DATABASE_URL: roleUrl(LOCAL_DB.app, database),
    DATABASE_MIGRATION_URL: ownerUrl(database),
    DATABASE_RELAY_URL: roleUrl(LOCAL_DB.relay, database),
    TEMPORAL_TASK_QUEUE_PREFIX: `test-${runId}-`,
    KAFKA_TOPIC_PREFIX: `test.${runId}.`,
    MONGO_DATABASE: `finflow_test_${runId}`,
    REDIS_KEY_PREFIX: `finflow:test:${runId}:`,
    // The suite makes many requests from 127.0.0.1; the rate-limit test builds its own app with the default.
    RATE_LIMIT_IP_PER_MINUTE: '1000000',
    RATE_LIMIT_TENANT_PER_MINUTE: '1000000',
    SMOKE_STARTS_PER_MINUTE: '1000000',
    RATE_LIMIT_REGISTRATIONS_PER_HOUR: '1000000',
    ...generateLocalSecrets(),
  });
}
