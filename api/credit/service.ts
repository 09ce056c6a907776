/**
 * The credit context's API side: submitting applications idempotently (the row first, then the workflow), reading
 * them scoped by tenant and by who submitted them, the underwriter's decision as a workflow update, and the KYC
 * deny list. Application responses never carry the applicant's identity: it is collected for KYC and stays in the
 * row, encrypted (modules/credit/applicants.ts); only a reader of every application (credit:read-all: underwriters,
 * finance, ops) gets it, on its own endpoint.
 */
import { randomUUID } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { normalizedNationalId, type Applicant } from '../../core/credit/applicant';
import type { CreditProfile } from '../../core/credit/features';
import { can } from '../../core/identity/rbac';
import type { Currency } from '../../core/money';
import type { ApiConfig } from '../../platform/config';
import { withTenant } from '../../platform/db/pool';
import { encryptApplicant, readApplicant, type ApplicantColumns, type StoredApplicant } from '../../modules/credit';
import { piiHash, piiKeys } from '../../platform/pii';
import { taskQueue } from '../../platform/temporal/client';
import {
  CREDIT_WORKFLOW_TYPE,
  creditWorkflowId,
  decideApplication,
  type CreditApplicationInput,
} from '../../workflows/credit/credit-application.contract';
import { DomainError } from '../errors';
import { createOnce } from '../idempotency';
import type { Principal } from '../middleware/authenticate';
import { decodeCursor, page } from '../pagination';
import { principalRef, refuseMakerAsChecker } from '../principals';
import { deliverUpdate, readUntilSettled } from '../workflow-updates';

export interface SubmitApplicationBody {
  applicant: Applicant;
  creditProfile: CreditProfile;
  requestedLimit: { amountMinor: number; currency: Currency };
}

interface ApplicationRow {
  id: string;
  submitted_by: string;
  credit_profile: CreditProfile;
  requested_limit_minor: string;
  currency: Currency;
  status: string;
  decision: 'approved' | 'declined' | null;
  decided_by: string | null;
  probability_of_default: number | null;
  model_version: string | null;
  reasons: { code: string; text: string }[];
  approved_limit_minor: string | null;
  decided_at: Date | null;
  created_at: Date;
  updated_at: Date;
  line_id: string | null;
  line_limit_minor: string | null;
  line_drawn_minor: string | null;
  line_status: string | null;
}

const SELECT = `SELECT a.*, l.id AS line_id, l.limit_minor AS line_limit_minor, l.drawn_minor AS line_drawn_minor, l.status AS line_status
                  FROM credit_applications a LEFT JOIN credit_lines l ON l.application_id = a.id`;

/** Decided (an approval once its credit line is open), or resting until an underwriter or a timer acts. */
const settled = (a: ApplicationView) =>
  a.status === 'in_review' || a.status === 'escalated' || a.decision === 'declined' || (a.decision === 'approved' && a.creditLine !== null);

export function applicationView(r: ApplicationRow) {
  return {
    id: r.id,
    status: r.status,
    decision: r.decision,
    decidedBy: r.decided_by,
    probabilityOfDefault: r.probability_of_default,
    modelVersion: r.model_version,
    /** The principal reasons, strongest first (declines: the adverse-action reasons). */
    reasons: r.reasons,
    requestedLimit: { amountMinor: Number(r.requested_limit_minor), currency: r.currency },
    approvedLimitMinor: r.approved_limit_minor === null ? null : Number(r.approved_limit_minor),
    creditLine: r.line_id
      ? { id: r.line_id, limitMinor: Number(r.line_limit_minor), drawnMinor: Number(r.line_drawn_minor), currency: r.currency, status: r.line_status! }
      : null,
    creditProfile: r.credit_profile,
    createdAt: r.created_at.toISOString(),
    decidedAt: r.decided_at?.toISOString() ?? null,
  };
}
export type ApplicationView = ReturnType<typeof applicationView>;

export class CreditService {
  constructor(private readonly deps: { db: Pool; temporal: Client; config: ApiConfig }) {}

  async submit(principal: Principal, idempotencyKey: string, body: SubmitApplicationBody): Promise<{ application: ApplicationView; settled: boolean }> {
    const { tenantId } = principal;
    const id = await createOnce(this.deps.db, tenantId, 'credit_applications', principalRef(principal), idempotencyKey, body, async (tx, hash) => {
      const newId = randomUUID();
      const enc = encryptApplicant(piiKeys(this.deps.config), tenantId, newId, body.applicant);
      await tx.query(
        `INSERT INTO credit_applications (id, tenant_id, idempotency_key, request_hash, submitted_by, applicant_given_name, applicant_family_name,
                                          applicant_date_of_birth, applicant_address, applicant_country, national_id_hash, credit_profile,
                                          requested_limit_minor, currency)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
        [
          newId,
          tenantId,
          idempotencyKey,
          hash,
          principalRef(principal),
          enc.applicant_given_name,
          enc.applicant_family_name,
          enc.applicant_date_of_birth,
          enc.applicant_address,
          enc.applicant_country,
          this.nationalIdHash(body.applicant.country, body.applicant.nationalId),
          body.creditProfile,
          body.requestedLimit.amountMinor,
          body.requestedLimit.currency,
        ],
      );
      return newId;
    });
    await this.ensureStarted(tenantId, id, body);
    const { value: application, settled: done } = await readUntilSettled(() => this.get(principal, id), settled, this.deps.config.CREDIT_SYNC_WAIT_MS);
    return { application, settled: done };
  }

  async get(principal: Principal, id: string): Promise<ApplicationView> {
    const row = await withTenant(this.deps.db, principal.tenantId, async (tx) => (await tx.query<ApplicationRow>(`${SELECT} WHERE a.id = $1`, [id])).rows[0]);
    // Another caller's application is as absent as one that does not exist.
    if (!row || !this.mayRead(principal, row)) throw new DomainError('not-found', `No credit application ${id}`);
    return applicationView(row);
  }

  /** The applicant's identity, decrypted, for a reader of every application; null fields once it was erased. */
  async applicant(principal: Principal, id: string): Promise<StoredApplicant & { erasedAt: string | null } | { erasedAt: string }> {
    if (!can(principal.role, 'credit:read-all')) throw new DomainError('forbidden', 'Reading an applicant’s identity needs credit:read-all');
    const row = await withTenant(this.deps.db, principal.tenantId, async (tx) =>
      (
        await tx.query<ApplicantColumns>(
          `SELECT applicant, applicant_given_name, applicant_family_name, applicant_date_of_birth, applicant_address, applicant_country,
                  national_id_hash, pii_erased_at
             FROM credit_applications WHERE id = $1`,
          [id],
        )
      ).rows[0],
    );
    if (!row) throw new DomainError('not-found', `No credit application ${id}`);
    const applicant = readApplicant(piiKeys(this.deps.config), principal.tenantId, id, row);
    return applicant ? { ...applicant, erasedAt: null } : { erasedAt: row.pii_erased_at!.toISOString() };
  }

  async list(principal: Principal, q: { status?: string; limit: number; cursor?: string }) {
    const after = decodeCursor(q.cursor);
    const onlyMine = can(principal.role, 'credit:read-all') ? null : principalRef(principal);
    const rows = await withTenant(this.deps.db, principal.tenantId, async (tx) =>
      (
        await tx.query<ApplicationRow>(
          `${SELECT}
            WHERE ($1::text IS NULL OR a.status = $1) AND ($2::text IS NULL OR a.submitted_by = $2)
              AND ($3::timestamptz IS NULL OR (a.created_at, a.id) < ($3::timestamptz, $4::uuid))
            ORDER BY a.created_at DESC, a.id DESC LIMIT $5`,
          [q.status ?? null, onlyMine, after?.t ?? null, after?.id ?? null, q.limit + 1],
        )
      ).rows,
    );
    return page(rows, q.limit, applicationView);
  }

  /** An underwriter's decision, delivered to the workflow as an update; answers once it is recorded. */
  async decide(principal: Principal, id: string, body: { decision: 'approve' | 'decline'; approvedLimitMinor?: number }): Promise<{ application: ApplicationView; applied: boolean }> {
    await this.get(principal, id);
    // Nobody decides an application they submitted (themselves or through a key of theirs).
    await withTenant(this.deps.db, principal.tenantId, async (tx) => {
      const { rows } = await tx.query<{ submitted_by: string }>('SELECT submitted_by FROM credit_applications WHERE id = $1', [id]);
      await refuseMakerAsChecker(tx, rows[0]!.submitted_by, principal, 'credit application');
    });
    const handle = this.deps.temporal.workflow.getHandle(creditWorkflowId(principal.tenantId, id));
    const delivered = await deliverUpdate(
      'application',
      this.deps.temporal,
      handle,
      (h, o) => h.startUpdate(decideApplication, { ...o, args: [{ ...body, underwriterId: principalRef(principal) }] }),
      this.deps.config.WORKFLOW_UPDATE_WAIT_MS,
    );
    return { application: await this.get(principal, id), applied: delivered.applied };
  }

  async denyIdentity(principal: Principal, body: { country: string; nationalId: string; reason: string }): Promise<{ id: string; created: boolean }> {
    return withTenant(this.deps.db, principal.tenantId, async (tx) => {
      const hash = this.nationalIdHash(body.country, body.nationalId);
      const inserted = await tx.query<{ id: string }>(
        `INSERT INTO kyc_deny_list (tenant_id, national_id_hash, reason, created_by) VALUES ($1, $2, $3, $4)
         ON CONFLICT (tenant_id, national_id_hash) DO NOTHING RETURNING id`,
        [principal.tenantId, hash, body.reason, principalRef(principal)],
      );
      if (inserted.rows[0]) return { id: inserted.rows[0].id, created: true };
      const existing = await tx.query<{ id: string }>('SELECT id FROM kyc_deny_list WHERE national_id_hash = $1', [hash]);
      return { id: existing.rows[0]!.id, created: false };
    });
  }

  async removeDenied(principal: Principal, id: string): Promise<void> {
    const removed = await withTenant(this.deps.db, principal.tenantId, (tx) => tx.query('DELETE FROM kyc_deny_list WHERE id = $1', [id]));
    if (!removed.rowCount) throw new DomainError('not-found', `No deny-list entry ${id}`);
  }

  private mayRead(principal: Principal, row: ApplicationRow): boolean {
    return can(principal.role, 'credit:read-all') || row.submitted_by === principalRef(principal);
  }

  private nationalIdHash(country: string, nationalId: string): Buffer {
    return piiHash(this.deps.config.PII_HASH_KEY, normalizedNationalId(country, nationalId));
  }

  private async ensureStarted(tenantId: string, applicationId: string, body: SubmitApplicationBody) {
    const { config } = this.deps;
    const input: CreditApplicationInput = {
      applicationId,
      tenantId,
      requestedLimitMinor: body.requestedLimit.amountMinor,
      currency: body.requestedLimit.currency,
      policy: {
        approveBelow: config.CREDIT_APPROVE_BELOW_PD,
        declineAtOrAbove: config.CREDIT_DECLINE_AT_OR_ABOVE_PD,
        reviewTimeoutSeconds: config.CREDIT_REVIEW_TIMEOUT_SECONDS,
        escalationTimeoutSeconds: config.CREDIT_ESCALATION_TIMEOUT_SECONDS,
      },
    };
    try {
      await this.deps.temporal.workflow.start(CREDIT_WORKFLOW_TYPE, {
        workflowId: creditWorkflowId(tenantId, applicationId),
        taskQueue: taskQueue(config, 'credit'),
        args: [input],
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        staticSummary: `Credit application for ${body.requestedLimit.amountMinor} ${body.requestedLimit.currency} minor units`,
      });
    } catch (err) {
      // A finished application repeated with its key: nothing to start.
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
  }
}
