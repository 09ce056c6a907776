/**
 * `npm run migrate`: applies pending migrations to DATABASE_MIGRATION_URL (the schema owner). With
 * NODE_ENV=production the local provider sandbox schema is dropped (platform/db/migrate.ts).
 */
import { loadConfigSection, orExit } from '../platform/config';
import { migrateUp } from '../platform/db/migrate';

async function main() {
  const cfg = orExit(() => loadConfigSection(['DATABASE_MIGRATION_URL', 'NODE_ENV']));
  const applied = await migrateUp(cfg.DATABASE_MIGRATION_URL, undefined, { environment: cfg.NODE_ENV });
  console.log(applied.length ? `[migrate] applied ${applied.join(', ')}` : '[migrate] schema is up to date');
}

main().catch((err: unknown) => {
  console.error(`[migrate] failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
