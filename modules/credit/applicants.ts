/**
 * Applicants' identity at rest. Name, date of birth and address are encrypted column by column (platform/pii.ts),
 * each value bound to its tenant, application and column; the national id is kept only as its keyed hash; the
 * country in the clear. Reads decrypt here, and only here. Rows written before encryption hold the plaintext
 * `applicant` document until encryptPlaintextApplicant moves it; reads fall back to it meanwhile.
 * Erasure (a GDPR request, or the retention period) clears every personal column, keeps the application's financial
 * record, and writes an audit row (pii_erasures) in the same transaction.
 */
import type { PoolClient } from 'pg';
import type { Applicant } from '../../core/credit/applicant';
import { decryptPii, encryptPii, type PiiKeys } from '../../platform/pii';

/** The identity kept with an application: everything the applicant gave but the national id (a hash only). */
export type StoredApplicant = Omit<Applicant, 'nationalId'>;

export interface ApplicantColumns {
  applicant: Applicant | null;
  applicant_given_name: string | null;
  applicant_family_name: string | null;
  applicant_date_of_birth: string | null;
  applicant_address: string | null;
  applicant_country: string | null;
  national_id_hash: Buffer | null;
  pii_erased_at: Date | null;
}

const ENCRYPTED = {
  givenName: 'applicant_given_name',
  familyName: 'applicant_family_name',
  dateOfBirth: 'applicant_date_of_birth',
  address: 'applicant_address',
} as const;

const context = (tenantId: string, applicationId: string, column: string) => `credit_applications/${tenantId}/${applicationId}/${column}`;

/** The encrypted columns of a new application's applicant (values for an INSERT or UPDATE). */
export function encryptApplicant(keys: PiiKeys, tenantId: string, applicationId: string, a: StoredApplicant) {
  const enc = (column: string, value: string) => encryptPii(keys, value, context(tenantId, applicationId, column));
  return {
    applicant_given_name: enc(ENCRYPTED.givenName, a.givenName),
    applicant_family_name: enc(ENCRYPTED.familyName, a.familyName),
    applicant_date_of_birth: enc(ENCRYPTED.dateOfBirth, a.dateOfBirth),
    applicant_address: enc(ENCRYPTED.address, JSON.stringify(a.address)),
    applicant_country: a.country,
  };
}

/** The applicant of a row, decrypted; null once erased. */
export function readApplicant(keys: PiiKeys, tenantId: string, applicationId: string, row: ApplicantColumns): StoredApplicant | null {
  if (row.pii_erased_at) return null;
  if (row.applicant_given_name !== null) {
    const dec = (column: string, value: string | null) => decryptPii(keys, value ?? '', context(tenantId, applicationId, column));
    return {
      givenName: dec(ENCRYPTED.givenName, row.applicant_given_name),
      familyName: dec(ENCRYPTED.familyName, row.applicant_family_name),
      dateOfBirth: dec(ENCRYPTED.dateOfBirth, row.applicant_date_of_birth),
      country: row.applicant_country!,
      address: JSON.parse(dec(ENCRYPTED.address, row.applicant_address)) as Applicant['address'],
    };
  }
  if (row.applicant) {
    const { nationalId: _dropped, ...rest } = row.applicant;
    return rest;
  }
  return null;
}

const APPLICANT_SELECT = `applicant, applicant_given_name, applicant_family_name, applicant_date_of_birth, applicant_address, applicant_country,
                          national_id_hash, pii_erased_at`;

/** Encrypts a row's plaintext applicant document into the columns and clears it (the tenant is set on `tx`). */
export async function encryptPlaintextApplicant(tx: PoolClient, keys: PiiKeys, tenantId: string, applicationId: string): Promise<boolean> {
  const { rows } = await tx.query<ApplicantColumns>(`SELECT ${APPLICANT_SELECT} FROM credit_applications WHERE id = $1 FOR UPDATE`, [applicationId]);
  const row = rows[0];
  if (!row?.applicant) return false;
  const a = row.applicant;
  // A document missing fields (never accepted by the API) keeps what it has; KYC refuses it either way.
  const c = encryptApplicant(keys, tenantId, applicationId, {
    givenName: a.givenName ?? '',
    familyName: a.familyName ?? '',
    dateOfBirth: a.dateOfBirth ?? '',
    country: /^[A-Z]{2}$/.test(a.country ?? '') ? a.country : 'ZZ',
    address: a.address ?? { line1: '', city: '', postalCode: '' },
  });
  await tx.query(
    `UPDATE credit_applications
        SET applicant_given_name = $2, applicant_family_name = $3, applicant_date_of_birth = $4, applicant_address = $5,
            applicant_country = $6, applicant = NULL
      WHERE id = $1`,
    [applicationId, c.applicant_given_name, c.applicant_family_name, c.applicant_date_of_birth, c.applicant_address, c.applicant_country],
  );
  return true;
}

export type ErasureReason = 'request' | 'retention';

/**
 * Erases an application's applicant: every personal column cleared (the national id hash too), the financial record
 * kept, an audit row written. Answers false when there is no such application in the tenant set on `tx`; erasing
 * an erased applicant again changes nothing and writes no second audit row.
 */
export async function eraseApplicant(
  tx: PoolClient,
  e: { tenantId: string; applicationId: string; reason: ErasureReason; requestedBy: string },
): Promise<'erased' | 'already-erased' | 'not-found'> {
  const { rows } = await tx.query<{ pii_erased_at: Date | null }>('SELECT pii_erased_at FROM credit_applications WHERE id = $1 FOR UPDATE', [e.applicationId]);
  if (!rows[0]) return 'not-found';
  if (rows[0].pii_erased_at) return 'already-erased';
  await tx.query(
    `UPDATE credit_applications
        SET applicant = NULL, applicant_given_name = NULL, applicant_family_name = NULL, applicant_date_of_birth = NULL,
            applicant_address = NULL, national_id_hash = NULL, pii_erased_at = now()
      WHERE id = $1`,
    [e.applicationId],
  );
  await tx.query(
    `INSERT INTO pii_erasures (tenant_id, subject_type, subject_id, reason, requested_by) VALUES ($1, 'credit_application', $2, $3, $4)`,
    [e.tenantId, e.applicationId, e.reason, e.requestedBy],
  );
  return 'erased';
}
