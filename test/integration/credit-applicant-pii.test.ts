/**
 * Applicants' personal data at rest and its erasure, on the real stack. Submitted over HTTP, the row in PostgreSQL
 * holds no name, date of birth, address or national id in the clear, and a reader of every application still gets
 * them back decrypted; `npm run pii:erase` (run as the real command) erases one application on request, or every
 * application decided longer ago than the retention period, keeping the financial record and an audit row.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { EXAMPLE_APPLICATION } from '../../api/credit/routes';
import { encryptApplicant } from '../../modules/credit';
import { withTenant, type Pool } from '../../platform/db/pool';
import { piiHash, piiKeys } from '../../platform/pii';
import { apiKeyWithRole, bearer, registerTenant, startApi, userWithRole, type RegisteredTenant, type TestApi } from '../support/api';
import { testConfig } from '../support/env';

const cfg = testConfig();
const root = path.resolve(__dirname, '..', '..');
let api: TestApi;
let db: Pool;
let tenant: RegisteredTenant;
let other: RegisteredTenant;
let underwriter: string;
let client: string;

beforeAll(async () => {
  // No credit worker: the application rests as submitted, which is all these tests read.
  api = startApi({ CREDIT_SYNC_WAIT_MS: '0' });
  db = api.deps.db;
  [tenant, other] = [await registerTenant(api), await registerTenant(api)];
  underwriter = await userWithRole(api, tenant, 'underwriter');
  client = (await apiKeyWithRole(api, tenant, 'client')).key;
});
afterAll(() => api.close());

const unique = () => randomUUID().replace(/[^a-z]/g, '').slice(0, 8);
function person() {
  const tag = unique();
  return {
    givenName: `Meixin${tag}`,
    familyName: `Linwood${tag}`,
    dateOfBirth: '1979-03-14',
    nationalId: `Q${randomUUID().replace(/\D/g, '').slice(0, 9).padEnd(9, '7')}`,
    country: 'TW',
    address: { line1: `77 Xinyi Road ${tag}`, line2: `Floor ${tag}`, city: `Taipei${tag}`, postalCode: 'TW-110' },
  };
}

async function submitApplication(applicant = person()) {
  const res = await api
    .http()
    .post('/api/credit/applications')
    .set(bearer(client))
    .set('Idempotency-Key', randomUUID())
    .send({ ...EXAMPLE_APPLICATION, applicant });
  expect([201, 202]).toContain(res.status);
  return { id: res.body.id as string, applicant };
}

/** Every column of the row as PostgreSQL stores it, as one text. */
const storedRow = (tenantId: string, id: string) =>
  withTenant(db, tenantId, async (tx) => (await tx.query<{ row: string }>('SELECT row_to_json(a)::text AS row FROM credit_applications a WHERE id = $1', [id])).rows[0]!.row);

const personalValues = (a: ReturnType<typeof person>) => [a.givenName, a.familyName, a.dateOfBirth, a.nationalId, a.address.line1, a.address.line2, a.address.city, a.address.postalCode];

describe('applicant personal data at rest', () => {
  it('stores no name, date of birth, address or national id in the clear, and returns them to a reader of every application', async () => {
    const { id, applicant } = await submitApplication();
    const row = await storedRow(tenant.tenantId, id);
    expect(personalValues(applicant).filter((v) => row.includes(v))).toEqual([]);
    expect(JSON.parse(row)).toMatchObject({ applicant: null, applicant_country: 'TW', applicant_given_name: expect.stringMatching(/^pii:v1:/) });

    const res = await api.http().get(`/api/credit/applications/${id}/applicant`).set(bearer(underwriter)).expect(200);
    const { nationalId: _kept, ...expected } = applicant;
    expect(res.body).toEqual({ ...expected, erasedAt: null });
  });

  it('gives the identity only to readers of every application, and only in their tenant', async () => {
    const { id } = await submitApplication();
    await api.http().get(`/api/credit/applications/${id}/applicant`).set(bearer(client)).expect(403);
    await api.http().get(`/api/credit/applications/${id}/applicant`).set(bearer(other.admin.accessToken)).expect(404);
    // The application itself still carries no identity.
    const view = await api.http().get(`/api/credit/applications/${id}`).set(bearer(underwriter)).expect(200);
    expect(JSON.stringify(view.body)).not.toMatch(/Meixin|Linwood|1979-03-14|Xinyi/);
  });

  it('refuses a value moved to another application (each value is bound to its row and column)', async () => {
    const [a, b] = [await submitApplication(), await submitApplication()];
    await withTenant(db, tenant.tenantId, (tx) =>
      tx.query('UPDATE credit_applications SET applicant_given_name = (SELECT applicant_given_name FROM credit_applications WHERE id = $1) WHERE id = $2', [a.id, b.id]),
    );
    await api.http().get(`/api/credit/applications/${b.id}/applicant`).set(bearer(underwriter)).expect(500);
  });
});

const run = promisify(execFile);
/** `npm run pii:erase -- <args>`, as an operator runs it. */
async function piiErase(args: string[], env: NodeJS.ProcessEnv = {}) {
  try {
    const { stdout } = await run(path.join(root, 'node_modules/.bin/tsx'), [path.join(root, 'scripts/pii-erase.ts'), ...args], {
      cwd: root,
      env: { ...process.env, ...env },
    });
    return { code: 0, out: JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, unknown> };
  } catch (err) {
    return { code: (err as { code: number }).code, out: { stderr: (err as { stderr: string }).stderr } };
  }
}

const financial = (tenantId: string, id: string) =>
  withTenant(db, tenantId, async (tx) =>
    (
      await tx.query(
        `SELECT credit_profile, requested_limit_minor, currency, status, decision, decided_at, approved_limit_minor, submitted_by, created_at
           FROM credit_applications WHERE id = $1`,
        [id],
      )
    ).rows[0],
  );

describe('npm run pii:erase', () => {
  it('erases one application on request: no personal data left, the financial record kept, the erasure audited', async () => {
    const [target, bystander] = [await submitApplication(), await submitApplication()];
    const before = await financial(tenant.tenantId, target.id);

    const { code, out } = await piiErase(['--tenant', tenant.tenantId, '--applicant', target.id, '--requested-by', 'ticket-4711']);
    expect({ code, out }).toEqual({ code: 0, out: { tenantId: tenant.tenantId, applicationId: target.id, outcome: 'erased' } });

    const row = JSON.parse(await storedRow(tenant.tenantId, target.id)) as Record<string, unknown>;
    expect(row).toMatchObject({
      applicant: null,
      applicant_given_name: null,
      applicant_family_name: null,
      applicant_date_of_birth: null,
      applicant_address: null,
      national_id_hash: null,
      pii_erased_at: expect.any(String),
    });
    expect(await financial(tenant.tenantId, target.id)).toEqual(before);
    const audit = await withTenant(db, tenant.tenantId, async (tx) =>
      (await tx.query('SELECT subject_type, reason, requested_by FROM pii_erasures WHERE subject_id = $1', [target.id])).rows,
    );
    expect(audit).toEqual([{ subject_type: 'credit_application', reason: 'request', requested_by: 'ticket-4711' }]);
    const res = await api.http().get(`/api/credit/applications/${target.id}/applicant`).set(bearer(underwriter)).expect(200);
    expect(res.body).toEqual({ erasedAt: expect.any(String) });

    // The other application is untouched; a repeat changes nothing and audits nothing more.
    expect((await api.http().get(`/api/credit/applications/${bystander.id}/applicant`).set(bearer(underwriter)).expect(200)).body.givenName).toBe(bystander.applicant.givenName);
    expect((await piiErase(['--tenant', tenant.tenantId, '--applicant', target.id])).out.outcome).toBe('already-erased');
    expect((await withTenant(db, tenant.tenantId, (tx) => tx.query('SELECT 1 FROM pii_erasures WHERE subject_id = $1', [target.id]))).rowCount).toBe(1);
  });

  it("answers not found for another tenant's application, erasing nothing", async () => {
    const { id, applicant } = await submitApplication();
    expect((await piiErase(['--tenant', other.tenantId, '--applicant', id])).code).toBe(2);
    expect((await api.http().get(`/api/credit/applications/${id}/applicant`).set(bearer(underwriter)).expect(200)).body.givenName).toBe(applicant.givenName);
  });

  it('erases, in retention mode, the applicants of applications decided longer ago than PII_RETENTION_DAYS, and only those', async () => {
    const keys = piiKeys(cfg);
    const insert = (decidedDaysAgo: number | null, createdDaysAgo: number) =>
      withTenant(db, tenant.tenantId, async (tx) => {
        const id = randomUUID();
        const e = encryptApplicant(keys, tenant.tenantId, id, person());
        await tx.query(
          `INSERT INTO credit_applications (id, tenant_id, idempotency_key, request_hash, submitted_by, applicant_given_name, applicant_family_name,
                                            applicant_date_of_birth, applicant_address, applicant_country, national_id_hash, credit_profile,
                                            requested_limit_minor, currency, status, decision, decided_by, reasons, decided_at, created_at)
           VALUES ($1, $2, $3, '\\x00', $4, $5, $6, $7, $8, $9, $10, $11, 5000000, 'TWD', $12, $13, $14, '[]', now() - make_interval(days => $15::int),
                   now() - make_interval(days => $16::int))`,
          [id, tenant.tenantId, `k-${id}`, `user:${randomUUID()}`, e.applicant_given_name, e.applicant_family_name, e.applicant_date_of_birth, e.applicant_address,
            e.applicant_country, piiHash(cfg.PII_HASH_KEY, `TW:${id}`), EXAMPLE_APPLICATION.creditProfile, decidedDaysAgo === null ? 'in_review' : 'declined',
            decidedDaysAgo === null ? null : 'declined', decidedDaysAgo === null ? null : 'auto', decidedDaysAgo, createdDaysAgo],
        );
        return id;
      });
    const old = await insert(400, 401);
    const recent = await insert(100, 101);
    const undecided = await insert(null, 500);

    const { code, out } = await piiErase(['--retention', '--tenant', tenant.tenantId], { PII_RETENTION_DAYS: '365' });
    expect({ code, out }).toEqual({ code: 0, out: { tenantId: tenant.tenantId, erased: 1, retentionDays: 365 } });
    const erasedAt = (id: string) =>
      withTenant(db, tenant.tenantId, async (tx) => (await tx.query('SELECT pii_erased_at, decision FROM credit_applications WHERE id = $1', [id])).rows[0]);
    expect(await erasedAt(old)).toEqual({ pii_erased_at: expect.any(Date), decision: 'declined' });
    expect(await erasedAt(recent)).toEqual({ pii_erased_at: null, decision: 'declined' });
    expect(await erasedAt(undecided)).toEqual({ pii_erased_at: null, decision: null });
    const audit = await withTenant(db, tenant.tenantId, async (tx) => (await tx.query('SELECT reason, requested_by FROM pii_erasures WHERE subject_id = $1', [old])).rows);
    expect(audit).toEqual([{ reason: 'retention', requested_by: 'retention:365d' }]);
  });

  it('encrypts an applicant stored in the clear before encryption at rest, and clears the plaintext', async () => {
    const a = person();
    const id = randomUUID();
    await withTenant(db, tenant.tenantId, (tx) =>
      tx.query(
        `INSERT INTO credit_applications (id, tenant_id, idempotency_key, request_hash, submitted_by, applicant, national_id_hash, credit_profile, requested_limit_minor, currency)
         VALUES ($1, $2, $3, '\\x00', $4, $5, $6, $7, 5000000, 'TWD')`,
        [id, tenant.tenantId, `k-${id}`, `user:${randomUUID()}`, a, piiHash(cfg.PII_HASH_KEY, `TW:${id}`), EXAMPLE_APPLICATION.creditProfile],
      ),
    );
    const { code, out } = await piiErase(['--encrypt-plaintext', '--tenant', tenant.tenantId]);
    expect({ code, out: out.encrypted }).toEqual({ code: 0, out: 1 });
    const row = await storedRow(tenant.tenantId, id);
    expect(personalValues(a).filter((v) => row.includes(v))).toEqual([]);
    const { nationalId: _hashed, ...expected } = a;
    expect((await api.http().get(`/api/credit/applications/${id}/applicant`).set(bearer(underwriter)).expect(200)).body).toEqual({ ...expected, erasedAt: null });
  });
});
