/**
 * `npm run pii:erase`: erases applicants' personal data, keeping the financial records and an audit row per erasure
 * (modules/credit/applicants.ts). Runs as the application role (DATABASE_URL), tenant by tenant under RLS.
 *
 *   npm run pii:erase -- --tenant <tenant id> --applicant <application id> [--requested-by <who>]
 *       a data subject's erasure request (GDPR art. 17), for one credit application (repeat per application)
 *   npm run pii:erase -- --retention [--tenant <tenant id>]
 *       every decided application whose decision is older than PII_RETENTION_DAYS (the CronJob, daily)
 *   npm run pii:erase -- --encrypt-plaintext
 *       encrypts applicants stored in the clear before encryption at rest, and clears the plaintext (also daily)
 *
 * Prints one JSON line of ids and counts, never personal data. Exit 0 done, 1 failure, 2 not found, 64 usage.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { encryptPlaintextApplicant, eraseApplicant } from '../modules/credit';
import { loadComponentConfigOrExit } from '../platform/config';
import { createPool, withTenant } from '../platform/db/pool';
import { piiKeys } from '../platform/pii';
import { withLocalEnv } from './local-env';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const BATCH = 500;

function usage(message: string): never {
  console.error(`[pii:erase] ${message}\nusage: --tenant <id> --applicant <application id> [--requested-by <who>] | --retention [--tenant <id>] | --encrypt-plaintext`);
  process.exit(64);
}

async function main() {
  const { values } = parseArgs({
    options: {
      tenant: { type: 'string' },
      applicant: { type: 'string' },
      'requested-by': { type: 'string' },
      retention: { type: 'boolean', default: false },
      'encrypt-plaintext': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const tenant = values.tenant;
  if (tenant !== undefined && !UUID.test(tenant)) usage('--tenant must be a tenant id (uuid)');
  if (values.applicant !== undefined && !UUID.test(values.applicant)) usage('--applicant must be a credit application id (uuid)');
  const single = values.applicant !== undefined;
  if (single && !tenant) usage('--applicant needs --tenant');
  if (single && (values.retention || values['encrypt-plaintext'])) usage('--applicant erases one application: no --retention or --encrypt-plaintext with it');
  if (!single && !values.retention && !values['encrypt-plaintext']) usage('say what to erase');

  // Locally the key comes from the stack's generated `.stack/local.env`, as for `npm start`.
  const env = process.env.NODE_ENV === 'production' ? process.env : withLocalEnv(path.join(process.cwd(), '.stack', 'local.env'));
  const cfg = loadComponentConfigOrExit('pii-erase', env);
  const db = createPool(cfg.DATABASE_URL, 2);
  try {
    if (single) {
      const requestedBy = values['requested-by'] ?? 'gdpr-request';
      const outcome = await withTenant(db, tenant!, (tx) => eraseApplicant(tx, { tenantId: tenant!, applicationId: values.applicant!, reason: 'request', requestedBy }));
      console.log(JSON.stringify({ tenantId: tenant, applicationId: values.applicant, outcome }));
      if (outcome === 'not-found') process.exitCode = 2;
      return;
    }
    const summary: Record<string, number> = {};
    if (values['encrypt-plaintext']) {
      const keys = piiKeys(cfg);
      let encrypted = 0;
      for (;;) {
        const { rows } = await db.query<{ tenant_id: string; id: string }>('SELECT tenant_id, id FROM credit_applications_with_plaintext_applicant($1)', [BATCH]);
        const mine = rows.filter((r) => !tenant || r.tenant_id === tenant);
        for (const r of mine) if (await withTenant(db, r.tenant_id, (tx) => encryptPlaintextApplicant(tx, keys, r.tenant_id, r.id))) encrypted++;
        if (rows.length < BATCH || mine.length === 0) break;
      }
      summary.encrypted = encrypted;
    }
    if (values.retention) {
      let erased = 0;
      for (;;) {
        const { rows } = await db.query<{ tenant_id: string; id: string }>('SELECT tenant_id, id FROM credit_applications_due_for_erasure($1, $2)', [cfg.PII_RETENTION_DAYS, BATCH]);
        const mine = rows.filter((r) => !tenant || r.tenant_id === tenant);
        for (const r of mine) {
          const outcome = await withTenant(db, r.tenant_id, (tx) => eraseApplicant(tx, { tenantId: r.tenant_id, applicationId: r.id, reason: 'retention', requestedBy: `retention:${cfg.PII_RETENTION_DAYS}d` }));
          if (outcome === 'erased') erased++;
        }
        if (rows.length < BATCH || mine.length === 0) break;
      }
      summary.erased = erased;
      summary.retentionDays = cfg.PII_RETENTION_DAYS;
    }
    console.log(JSON.stringify({ tenantId: tenant ?? null, ...summary }));
  } finally {
    await db.end();
  }
}

main().catch((err: unknown) => {
  console.error(`[pii:erase] failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
