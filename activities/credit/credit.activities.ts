/**
 * CreditApplication's activities. They read the applicant (decrypted by modules/credit) and profile from the
 * application row (the workflow carries ids only) and are idempotent by the application id: a decision is written once (the database refuses a
 * second, different one), credit.scored has an id derived from the application, and the credit line's id too.
 */
import { ApplicationFailure } from '@temporalio/activity';
import type { PoolClient, Pool } from 'pg';
import { ageInYears, MINIMUM_AGE_YEARS, missingIdentityFields } from '../../core/credit/applicant';
import { featureVector, type CreditProfile } from '../../core/credit/features';
import { reason, reasonCodes } from '../../core/credit/reasons';
import type { Currency } from '../../core/money';
import { readApplicant, type ApplicantColumns } from '../../modules/credit';
import { withTenant } from '../../platform/db/pool';
import { appendToOutbox, ONCE } from '../../platform/events/outbox';
import { deterministicUuid } from '../../platform/ids';
import type { PiiKeys } from '../../platform/pii';
import type { CreditDecision, CreditStatus, KycResult, ScoreResult } from '../../workflows/credit/credit-application.contract';
import type { CreditScorer } from './scorer';
import { refusal } from '../platform/refusal';

export interface CreditActivityDeps {
  db: Pool;
  scorer: CreditScorer;
  /** Decrypts the applicant's identity for KYC (PII_ENCRYPTION_KEYS). */
  pii: PiiKeys;
}

interface Ref {
  tenantId: string;
  applicationId: string;
}

interface ApplicationRow extends ApplicantColumns {
  credit_profile: CreditProfile;
  requested_limit_minor: string;
  currency: Currency;
  decision: string | null;
  decided_by: string | null;
  approved_limit_minor: string | null;
  created_at: Date;
}

async function application(tx: PoolClient, applicationId: string, lock = false): Promise<ApplicationRow> {
  const { rows } = await tx.query<ApplicationRow>(`SELECT * FROM credit_applications WHERE id = $1${lock ? ' FOR UPDATE' : ''}`, [applicationId]);
  if (!rows[0]) throw ApplicationFailure.nonRetryable(`no credit application ${applicationId}`, 'CreditApplicationNotFound');
  return rows[0];
}

export const creditLineId = (applicationId: string) => deterministicUuid(applicationId, 'credit-line');

export function createCreditActivities({ db, scorer, pii }: CreditActivityDeps) {
  return {
    /** Mirrors the workflow's status onto the row while no decision exists (a decided row keeps its outcome). */
    async markApplicationStatus({ tenantId, applicationId, status }: Ref & { status: CreditStatus }): Promise<void> {
      await withTenant(db, tenantId, (tx) => tx.query('UPDATE credit_applications SET status = $2, updated_at = now() WHERE id = $1 AND decision IS NULL', [applicationId, status]));
    },

    /** Required identity fields, the legal age on the day of application, and the tenant's deny list. */
    async runKycChecks({ tenantId, applicationId }: Ref): Promise<KycResult> {
      return withTenant(db, tenantId, async (tx) => {
        const row = await application(tx, applicationId);
        const applicant = readApplicant(pii, tenantId, applicationId, row);
        // The national id is kept as its keyed hash only: present when the hash is.
        const missing = missingIdentityFields(applicant && { ...applicant, nationalId: row.national_id_hash ? 'hashed' : '' });
        if (!applicant || missing.length > 0) return { passed: false, reasons: [reason('K02')] };
        if (ageInYears(applicant.dateOfBirth, row.created_at) < MINIMUM_AGE_YEARS) return { passed: false, reasons: [reason('K03')] };
        const denied = await tx.query('SELECT 1 FROM kyc_deny_list WHERE national_id_hash = $1', [row.national_id_hash]);
        // The applicant is told identity could not be verified, never that they are on a list.
        if (denied.rowCount) return { passed: false, reasons: [reason('K01')] };
        return { passed: true, reasons: [] };
      });
    },

    /** Scores the application's credit profile with the worker's model; the reasons come from its contributions. */
    async scoreApplication({ tenantId, applicationId }: Ref): Promise<ScoreResult> {
      const row = await withTenant(db, tenantId, (tx) => application(tx, applicationId));
      const vector = featureVector(row.credit_profile);
      const score = await scorer.score(vector);
      return { probabilityOfDefault: score.probabilityOfDefault, logit: score.logit, modelVersion: score.modelVersion, reasons: reasonCodes(vector, score.contributions) };
    },

    /** Writes the decision once and announces it (credit.scored) in the same transaction. */
    async recordDecision({ tenantId, applicationId, decision, score }: Ref & { decision: CreditDecision; score?: ScoreResult }): Promise<void> {
      await withTenant(db, tenantId, async (tx) => {
        const row = await application(tx, applicationId, true);
        if (row.decision) {
          if (row.decision === decision.decision && row.decided_by === decision.decidedBy) return; // a retry after commit
          throw refusal('CreditAlreadyDecided', `application ${applicationId} was already ${row.decision}`);
        }
        await tx.query(
          `UPDATE credit_applications
              SET status = $2, decision = $2, decided_by = $3, underwriter_id = $4, probability_of_default = $5, model_version = $6,
                  reasons = $7, approved_limit_minor = $8, decided_at = now(), updated_at = now()
            WHERE id = $1`,
          [
            applicationId,
            decision.decision,
            decision.decidedBy,
            decision.underwriterId ?? null,
            score?.probabilityOfDefault ?? null,
            score?.modelVersion ?? null,
            JSON.stringify(decision.reasons),
            decision.approvedLimitMinor ?? null,
          ],
        );
        await appendToOutbox(tx, {
          occurrence: ONCE, // the decision is final
          type: 'credit.scored',
          tenantId,
          aggregateType: 'credit_application',
          aggregateId: applicationId,
          // Codes and numbers only: no applicant identity, no profile values.
          data: {
            applicationId,
            decision: decision.decision,
            decidedBy: decision.decidedBy,
            probabilityOfDefault: score?.probabilityOfDefault ?? null,
            modelVersion: score?.modelVersion ?? null,
            reasonCodes: decision.reasons.map((r) => r.code),
            requestedLimitMinor: Number(row.requested_limit_minor),
            approvedLimitMinor: decision.approvedLimitMinor ?? null,
            currency: row.currency,
          },
        });
      });
    },

    /**
     * Records the approved credit line. The limit is a commitment, off-balance-sheet: nothing posts to the ledger
     * until a drawdown. Returns the line's id (derived from the application, so a retry finds the same line).
     */
    async openCreditLine({ tenantId, applicationId, limitMinor, currency }: Ref & { limitMinor: number; currency: Currency }): Promise<string> {
      const id = creditLineId(applicationId);
      await withTenant(db, tenantId, async (tx) => {
        const row = await application(tx, applicationId);
        if (row.decision !== 'approved' || Number(row.approved_limit_minor) !== limitMinor) {
          throw refusal('CreditLineRejected', `application ${applicationId} is not approved for ${limitMinor}`);
        }
        await tx.query(
          `INSERT INTO credit_lines (id, tenant_id, application_id, limit_minor, currency) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (tenant_id, application_id) DO NOTHING`,
          [id, tenantId, applicationId, limitMinor, currency],
        );
      });
      return id;
    },
  };
}

export type CreditActivities = ReturnType<typeof createCreditActivities>;
