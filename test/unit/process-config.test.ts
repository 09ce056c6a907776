/**
 * Every FinFlow process runs the production check at start (platform/config: productionProblems), before it connects
 * to anything: each entry point, started for real with NODE_ENV=production and one of its secrets wrong, exits 78
 * naming that variable, and prints none of the secret values it was given.
 */
import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { COMPONENT_SECRETS, SECRET_VARIABLES, type Component } from '../../platform/config';

const root = path.resolve(__dirname, '../..');
const run = promisify(execFile);
const random = () => randomBytes(32).toString('base64');

const production: Record<string, string> = {
  NODE_ENV: 'production',
  DATABASE_URL: 'postgres://finflow_app:Zr4-app-Wq8@db.invalid:5432/finflow',
  DATABASE_MIGRATION_URL: 'postgres://finflow:Zr4-owner-Wq8@db.invalid:5432/finflow',
  DATABASE_RELAY_URL: 'postgres://finflow_relay:Zr4-relay-Wq8@db.invalid:5432/finflow',
  REDIS_URL: 'rediss://:Zr4-redis-Wq8@redis.invalid:6380',
  MONGO_URL: 'mongodb://finflow:Zr4-mongo-Wq8@mongo.invalid:27017',
  STRIPE_API_KEY: 'sk_live_Zr4stripeWq8',
  STRIPE_WEBHOOK_SECRET: 'whsec_Zr4webhookWq8',
  PAYLOAD_ENCRYPTION_KEYS: `2026-11:${random()}`,
  PAYLOAD_ENCRYPTION_KEY_ID: '2026-11',
  PII_ENCRYPTION_KEYS: `2026-11:${random()}`,
  PII_ENCRYPTION_KEY_ID: '2026-11',
  AUTH_JWT_KEYS: `2026-11:${generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'der' }).toString('base64')}`,
  AUTH_JWT_ACTIVE_KID: '2026-11',
  AUTH_API_KEY_PEPPER: random(),
  PII_HASH_KEY: random(),
};
const own = (component: Component) =>
  Object.fromEntries(
    Object.entries(production).filter(([k]) => (COMPONENT_SECRETS[component] as readonly string[]).includes(k) || !(SECRET_VARIABLES as readonly string[]).includes(k)),
  );

async function start(entry: string, env: Record<string, string>, args: string[] = []) {
  try {
    await run(path.join(root, 'node_modules/.bin/tsx'), [path.join(root, entry), ...args], {
      cwd: root,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      timeout: 60_000,
    });
    return { code: 0, stderr: '' };
  } catch (err) {
    return { code: (err as { code: number }).code, stderr: (err as { stderr: string }).stderr };
  }
}

it.each([
  ['api/server.ts', 'api', { DATABASE_MIGRATION_URL: production.DATABASE_MIGRATION_URL!, DATABASE_URL: 'postgres://finflow_app:finflow_app@db.invalid/finflow' }, ['DATABASE_MIGRATION_URL', 'DATABASE_URL']],
  ['workers/main.ts', 'worker', { STRIPE_API_KEY: '' }, ['STRIPE_API_KEY']],
  ['workers/relay.ts', 'relay', { DATABASE_RELAY_URL: '' }, ['DATABASE_RELAY_URL']],
  ['workers/consumers.ts', 'consumers', { MONGO_URL: 'mongodb://admin:admin@mongo.invalid:27017' }, ['MONGO_URL']],
  ['scripts/migrate.ts', 'setup', { DATABASE_MIGRATION_URL: 'postgres://finflow:finflow@db.invalid/finflow' }, ['DATABASE_MIGRATION_URL']],
  ['scripts/pii-erase.ts', 'pii-erase', { PII_ENCRYPTION_KEYS: `local-2026-11-25:${random()}`, PII_ENCRYPTION_KEY_ID: 'local-2026-11-25' }, ['PII_ENCRYPTION_KEYS']],
] as const)('%s (%s) refuses to start in production, naming what is wrong and no value', async (entry, component, broken, named) => {
  const env = { ...own(component), ...broken } as Record<string, string>;
  const { code, stderr } = await start(entry, env, entry.includes('pii-erase') ? ['--retention'] : []);
  expect(code).toBe(78);
  const listed = [...stderr.matchAll(/^ {2}([A-Z][A-Z0-9_]+): /gm)].map((m) => m[1]);
  expect(listed.sort()).toEqual([...named].sort());
  for (const value of Object.values(env).filter((v) => v.length > 10)) expect(stderr).not.toContain(value);
  for (const password of ['finflow_app', 'admin:admin', 'finflow:finflow']) expect(stderr).not.toContain(password);
}, 90_000);
