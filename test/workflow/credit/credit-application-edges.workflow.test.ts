/**
 * CreditApplication at its edges, on the time-skipping test server with the real activities and model: updates sent
 * while the workflow is running and waiting (so its validators are what refuse them), a probability of default exactly
 * on each policy threshold, and an applicant on the day before and the day of their 18th birthday.
 */
import { WorkflowUpdateStage, type WorkflowHandle } from '@temporalio/client';
import { featureVector } from '../../../core/credit/features';
import { REASON_CATALOGUE } from '../../../core/credit/reasons';
import { creditApplicationState, decideApplication } from '../../../workflows/credit/credit-application.contract';
import {
  acceptedUpdates,
  applicant,
  expectRefused,
  line,
  nextUp,
  refusal,
  RISKY,
  row,
  scorer,
  setUpCreditWorkflows,
  start,
  untilStatus,
  withGatedWorker,
  withWorker,
} from './harness';

setUpCreditWorkflows();

describe('CreditApplication at its edges', () => {
  describe('underwriter decisions it must refuse, while it is running', () => {
    it('refuses malformed decisions in review, and goes on waiting for a valid one', async () => {
      await withWorker(async (q) => {
        const { id, handle, requestedLimitMinor } = await start(q, 'reviewAll');
        await untilStatus(handle, 'in_review');
        const decide = (decision: Record<string, unknown>) => refusal(handle, decision);
        expectRefused(await decide({ decision: 'approve', underwriterId: 'user:u', approvedLimitMinor: requestedLimitMinor + 1 }), /approved limit must be a whole number .* from 1 to the requested/);
        expectRefused(await decide({ decision: 'approve', underwriterId: 'user:u', approvedLimitMinor: 0 }), /approved limit must be a whole number/);
        expectRefused(await decide({ decision: 'decline', underwriterId: 'user:u', approvedLimitMinor: 1 }), /only an approval carries a limit/);
        expectRefused(await decide({ decision: 'maybe', underwriterId: 'user:u' }), /decision must be approve or decline/);
        expectRefused(await decide({ decision: 'approve', underwriterId: '' }), /an underwriter id is required/);
        expect((await handle.query(creditApplicationState)).status).toBe('in_review');
        expect((await row(id)).decision).toBeNull();
        expect(await acceptedUpdates(handle)).toBe(0);

        await handle.executeUpdate(decideApplication, { args: [{ decision: 'approve', underwriterId: 'user:u-ok' }] });
        expect(await handle.result()).toMatchObject({ decision: 'approved', decidedBy: 'underwriter' });
        expect(await row(id)).toMatchObject({ decision: 'approved', underwriter_id: 'user:u-ok', approved_limit_minor: String(requestedLimitMinor) });
      });
    });

    it('refuses a decision while the application is still being scored', async () => {
      await withGatedWorker('scoreApplication', async (q, scoring) => {
        const { id, handle } = await start(q, 'reviewAll');
        await scoring.reached;
        expectRefused(await refusal(handle, { decision: 'approve', underwriterId: 'user:early' }), /the application is scoring; only one in review can be decided/);
        scoring.open();
        await untilStatus(handle, 'in_review');
        await handle.executeUpdate(decideApplication, { args: [{ decision: 'decline', underwriterId: 'user:u' }] });
        expect(await handle.result()).toEqual({ applicationId: id, decision: 'declined', decidedBy: 'underwriter' });
        expect((await row(id)).underwriter_id).toBe('user:u');
        expect(await acceptedUpdates(handle)).toBe(1);
      });
    });

    it('refuses a second decision while the first is being recorded, and records the first', async () => {
      await withGatedWorker('recordDecision', async (q, recording) => {
        const { id, handle } = await start(q, 'reviewAll');
        await untilStatus(handle, 'in_review');
        const first = await handle.startUpdate(decideApplication, { args: [{ decision: 'decline', underwriterId: 'user:first' }], waitForStage: WorkflowUpdateStage.ACCEPTED });
        await recording.reached;
        expectRefused(await refusal(handle, { decision: 'approve', underwriterId: 'user:second' }), /a decision has already been made/);
        recording.open();
        expect((await first.result()).decision).toMatchObject({ decision: 'declined', decidedBy: 'underwriter', underwriterId: 'user:first' });
        expect(await handle.result()).toEqual({ applicationId: id, decision: 'declined', decidedBy: 'underwriter' });
        expect(await row(id)).toMatchObject({ decision: 'declined', underwriter_id: 'user:first' });
        expect(await line(id)).toBeUndefined();
        expect(await acceptedUpdates(handle)).toBe(1);
      });
    });
  });

  describe('with the probability of default exactly on a threshold', () => {
    let pd: number;
    beforeAll(async () => {
      pd = (await scorer.score(featureVector(RISKY))).probabilityOfDefault;
    });
    // The one in review sits on its review timer: the test waits by query and closes it before awaiting any result
    // (awaiting a result lets the test server skip time, which could escalate it).
    const scored = async (handle: WorkflowHandle) => {
      const state = await handle.query(creditApplicationState);
      return { pd: state.score?.probabilityOfDefault, decision: state.decision?.decision, decidedBy: state.decision?.decidedBy };
    };
    const closeReview = async (handle: WorkflowHandle) => {
      await handle.executeUpdate(decideApplication, { args: [{ decision: 'decline', underwriterId: 'user:u' }] });
      expect(await handle.result()).toMatchObject({ decidedBy: 'underwriter' });
    };

    it('reviews a PD equal to the approve-below threshold, and approves it when the threshold is one step higher', async () => {
      await withWorker(async (q) => {
        const onEdge = await start(q, { approveBelow: pd, declineAtOrAbove: 1 });
        const higher = await start(q, { approveBelow: nextUp(pd), declineAtOrAbove: 1 });
        await untilStatus(onEdge.handle, 'in_review');
        await untilStatus(higher.handle, 'approved');
        expect(await scored(onEdge.handle)).toEqual({ pd, decision: undefined, decidedBy: undefined });
        expect(await scored(higher.handle)).toEqual({ pd, decision: 'approved', decidedBy: 'auto' });
        await closeReview(onEdge.handle);
      });
    });

    it('declines a PD equal to the decline-at-or-above threshold, and reviews it when the threshold is one step higher', async () => {
      await withWorker(async (q) => {
        const onEdge = await start(q, { approveBelow: 0, declineAtOrAbove: pd });
        const higher = await start(q, { approveBelow: 0, declineAtOrAbove: nextUp(pd) });
        await untilStatus(onEdge.handle, 'declined');
        await untilStatus(higher.handle, 'in_review');
        expect(await scored(onEdge.handle)).toEqual({ pd, decision: 'declined', decidedBy: 'auto' });
        expect(await scored(higher.handle)).toEqual({ pd, decision: undefined, decidedBy: undefined });
        await closeReview(higher.handle);
      });
    });
  });

  describe('KYC on the 18th birthday', () => {
    // Age is taken on the day the application was submitted (its row's created_at), not the day the check runs:
    // the date is fixed and in the past, so by today's date both applicants would be adults.
    it('declines an applicant the day before their 18th birthday, and accepts one on it', async () => {
      const submittedAt = '2025-06-15T12:00:00Z';
      await withWorker(async (q) => {
        const dayBefore = await start(q, 'approveAll', { applicant: applicant({ dateOfBirth: '2007-06-16' }), submittedAt });
        const onTheDay = await start(q, 'approveAll', { applicant: applicant({ dateOfBirth: '2007-06-15' }), submittedAt });
        expect(await dayBefore.handle.result()).toEqual({ applicationId: dayBefore.id, decision: 'declined', decidedBy: 'kyc' });
        expect((await row(dayBefore.id)).reasons).toEqual([{ code: 'K03', text: REASON_CATALOGUE.K03 }]);
        expect(await onTheDay.handle.result()).toMatchObject({ decision: 'approved', decidedBy: 'auto' });
        expect((await row(onTheDay.id)).decided_by).toBe('auto');
      });
    });
  });
});
