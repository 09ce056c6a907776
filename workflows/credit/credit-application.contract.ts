/** CreditApplication's contract, shared by the workflow, its activities, the API and the tests. Side-effect free. */
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { ReasonCode } from '../../core/credit/reasons';
import type { Currency } from '../../core/money';

export const CREDIT_WORKFLOW_TYPE = 'CreditApplication';
export const creditWorkflowId = (tenantId: string, applicationId: string) => `credit-application:${tenantId}:${applicationId}`;

/** The decision policy, read from config when the application is submitted and kept with it. */
export interface CreditPolicy {
  /** Probability of default below which an application is approved without review. */
  approveBelow: number;
  /** Probability of default at or above which it is declined without review. */
  declineAtOrAbove: number;
  /** How long an underwriter has before the review is escalated, then how long after that before a final decline. */
  reviewTimeoutSeconds: number;
  escalationTimeoutSeconds: number;
}

/** Ids and policy only: the applicant's identity and profile stay in the database (no PII in history). */
export interface CreditApplicationInput {
  applicationId: string;
  tenantId: string;
  /** Not personal data: shown to ops as search attributes, and the ceiling of an underwriter's approved limit. */
  requestedLimitMinor: number;
  currency: Currency;
  policy: CreditPolicy;
}

export type CreditStatus = 'kyc' | 'scoring' | 'in_review' | 'escalated' | 'approved' | 'declined';
export type DecidedBy = 'auto' | 'underwriter' | 'kyc' | 'review_timeout';

export interface KycResult {
  passed: boolean;
  reasons: Pick<ReasonCode, 'code' | 'text'>[];
}

export interface ScoreResult {
  probabilityOfDefault: number;
  logit: number;
  modelVersion: string;
  reasons: ReasonCode[];
}

export interface CreditDecision {
  decision: 'approved' | 'declined';
  decidedBy: DecidedBy;
  reasons: Pick<ReasonCode, 'code' | 'text'>[];
  approvedLimitMinor?: number;
  underwriterId?: string;
}

export interface CreditApplicationState {
  status: CreditStatus;
  score?: ScoreResult;
  decision?: CreditDecision;
  creditLineId?: string;
}

export interface UnderwriterDecision {
  decision: 'approve' | 'decline';
  underwriterId: string;
  /** An approval may grant less than was requested; none: the requested limit. */
  approvedLimitMinor?: number;
}

export interface CreditApplicationResult {
  applicationId: string;
  decision: 'approved' | 'declined';
  decidedBy: DecidedBy;
  creditLineId?: string;
}

export const creditApplicationState = defineQuery<CreditApplicationState>('creditApplicationState');
/** underwriter: approve or decline an application in review (or escalated). */
export const decideApplication = defineUpdate<CreditApplicationState, [UnderwriterDecision]>('decideApplication');
