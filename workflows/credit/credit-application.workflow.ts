/**
 * CreditApplication: one durable execution per application.
 *
 *   KYC (required identity fields, deny list) -> score (ONNX scorecard, on the credit task queue)
 *   -> auto-approve below policy.approveBelow | auto-decline at or above policy.declineAtOrAbove
 *   | otherwise review by an underwriter (decideApplication update), escalated after reviewTimeoutSeconds and
 *     declined after a further escalationTimeoutSeconds
 *   -> decision recorded with its reasons and the model version, credit.scored through the outbox
 *   -> on approval, a credit line (off-balance-sheet limit).
 *
 * Every activity is idempotent by the application id, so a retry or a replay never decides or opens a line twice.
 */
import { condition, proxyActivities, setCurrentDetails, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import type { CreditActivities } from '../../activities/credit';
import { reason } from '../../core/credit/reasons';
import { AmountMinor, Currency, Decision, ModelVersion, Status, TenantId } from '../../temporal-config/search-attributes';
import {
  creditApplicationState,
  decideApplication,
  type CreditApplicationInput,
  type CreditApplicationResult,
  type CreditApplicationState,
  type CreditDecision,
  type CreditStatus,
  type UnderwriterDecision,
} from './credit-application.contract';

const steps = proxyActivities<CreditActivities>({
  startToCloseTimeout: '20 seconds',
  retry: { initialInterval: '500 ms', maximumInterval: '30 seconds', maximumAttempts: 20, nonRetryableErrorTypes: ['CreditApplicationNotFound'] },
});

const NEXT_STEP: Record<CreditStatus, string> = {
  kyc: 'identity checks',
  scoring: 'scoring with the credit model',
  in_review: 'waiting for an underwriter (decideApplication update)',
  escalated: 'escalated: waiting for an underwriter before the final deadline',
  approved: 'none: approved',
  declined: 'none: declined',
};

export async function CreditApplication(input: CreditApplicationInput): Promise<CreditApplicationResult> {
  const { applicationId, tenantId, policy } = input;
  const state: CreditApplicationState = { status: 'kyc' };
  let review: UnderwriterDecision | undefined;

  const setStatus = async (status: CreditStatus, persist = true) => {
    state.status = status;
    upsertSearchAttributes({ [Status.name]: [status] });
    // Shown in the Web UI: states, scores and codes only, never the applicant's identity.
    setCurrentDetails(
      [
        `**Status:** ${status}`,
        state.score ? `**PD:** ${state.score.probabilityOfDefault.toFixed(4)} (model ${state.score.modelVersion})` : '',
        `**Policy:** approve < ${policy.approveBelow}, decline >= ${policy.declineAtOrAbove}`,
        `**Next:** ${NEXT_STEP[status]}`,
      ]
        .filter(Boolean)
        .join('\n\n'),
    );
    if (persist) await steps.markApplicationStatus({ tenantId, applicationId, status });
  };
  upsertSearchAttributes({
    [TenantId.name]: [tenantId],
    [AmountMinor.name]: [input.requestedLimitMinor],
    [Currency.name]: [input.currency],
  });

  setHandler(creditApplicationState, () => state);
  setHandler(
    decideApplication,
    async (decision) => {
      review = decision;
      await condition(() => state.decision !== undefined && (state.decision.decision === 'declined' || state.creditLineId !== undefined));
      return state;
    },
    {
      validator: (d) => {
        if (state.status !== 'in_review' && state.status !== 'escalated') throw new Error(`the application is ${state.status}; only one in review can be decided`);
        if (review) throw new Error('a decision has already been made');
        if (d.decision !== 'approve' && d.decision !== 'decline') throw new Error('decision must be approve or decline');
        if (!d.underwriterId) throw new Error('an underwriter id is required');
        if (d.approvedLimitMinor !== undefined) {
          if (d.decision !== 'approve') throw new Error('only an approval carries a limit');
          if (!Number.isSafeInteger(d.approvedLimitMinor) || d.approvedLimitMinor < 1 || d.approvedLimitMinor > input.requestedLimitMinor) {
            throw new Error(`the approved limit must be a whole number of minor units from 1 to the requested ${input.requestedLimitMinor}`);
          }
        }
      },
    },
  );

  await setStatus('kyc');
  const kyc = await steps.runKycChecks({ tenantId, applicationId });
  if (!kyc.passed) return finish({ decision: 'declined', decidedBy: 'kyc', reasons: kyc.reasons });

  await setStatus('scoring');
  const score = await steps.scoreApplication({ tenantId, applicationId });
  state.score = score;
  upsertSearchAttributes({ [ModelVersion.name]: [score.modelVersion] });
  const reasons = score.reasons.map(({ code, text }) => ({ code, text }));

  if (score.probabilityOfDefault < policy.approveBelow) {
    return finish({ decision: 'approved', decidedBy: 'auto', reasons, approvedLimitMinor: input.requestedLimitMinor });
  }
  if (score.probabilityOfDefault >= policy.declineAtOrAbove) return finish({ decision: 'declined', decidedBy: 'auto', reasons });

  await setStatus('in_review');
  if (!(await condition(() => review !== undefined, policy.reviewTimeoutSeconds * 1000))) {
    await setStatus('escalated');
    if (!(await condition(() => review !== undefined, policy.escalationTimeoutSeconds * 1000))) {
      return finish({ decision: 'declined', decidedBy: 'review_timeout', reasons: reasons.length ? reasons : [reason('R01')] });
    }
  }
  const r = review!;
  return finish(
    r.decision === 'approve'
      ? { decision: 'approved', decidedBy: 'underwriter', underwriterId: r.underwriterId, reasons, approvedLimitMinor: r.approvedLimitMinor ?? input.requestedLimitMinor }
      : { decision: 'declined', decidedBy: 'underwriter', underwriterId: r.underwriterId, reasons },
  );

  async function finish(decision: CreditDecision): Promise<CreditApplicationResult> {
    await steps.recordDecision({ tenantId, applicationId, decision, score: state.score });
    state.decision = decision;
    upsertSearchAttributes({ [Decision.name]: [decision.decision] });
    await setStatus(decision.decision, false);
    if (decision.decision === 'approved') {
      state.creditLineId = await steps.openCreditLine({ tenantId, applicationId, limitMinor: decision.approvedLimitMinor!, currency: input.currency });
    }
    return { applicationId, decision: decision.decision, decidedBy: decision.decidedBy, ...(state.creditLineId ? { creditLineId: state.creditLineId } : {}) };
  }
}
