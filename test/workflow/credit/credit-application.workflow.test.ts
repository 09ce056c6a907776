/**
 * CreditApplication on the time-skipping test server, with its real activities over the test database and the
 * real scorecard (the committed ONNX model). The policy thresholds are part of the workflow's input, so each
 * branch is chosen by the policy, not by hunting for profiles that happen to score a certain way.
 */
import { normalizedNationalId } from '../../../core/credit/applicant';
import { REASON_CATALOGUE } from '../../../core/credit/reasons';
import { withTenant } from '../../../platform/db/pool';
import { piiHash } from '../../../platform/pii';
import { creditApplicationState, decideApplication } from '../../../workflows/credit/credit-application.contract';
import {
  applicant,
  cfg,
  db,
  env,
  ESCALATION,
  expectRiskyReasons,
  line,
  REVIEW,
  row,
  scoredEvents,
  scorer,
  searchAttributes,
  setUpCreditWorkflows,
  start,
  tenantId,
  untilStatus,
  withWorker,
} from './harness';

setUpCreditWorkflows();

describe('CreditApplication', () => {
  it('auto-approves below the approve threshold, records the model version, emits credit.scored and opens the credit line', async () => {
    const { id, handle, requestedLimitMinor } = await withWorker(async (q) => {
      const started = await start(q, 'approveAll');
      await started.handle.result();
      return started;
    });
    expect(await handle.result()).toMatchObject({ applicationId: id, decision: 'approved', decidedBy: 'auto', creditLineId: expect.any(String) });
    const r = await row(id);
    expect(r).toMatchObject({ status: 'approved', decision: 'approved', decided_by: 'auto', model_version: scorer.modelVersion, approved_limit_minor: String(requestedLimitMinor) });
    expect(r.probability_of_default).toBeGreaterThan(0);
    expect(r.probability_of_default).toBeLessThan(1);
    expect(await line(id)).toMatchObject({ limit_minor: String(requestedLimitMinor), drawn_minor: '0', currency: 'TWD', status: 'active' });
    const [event, ...more] = await scoredEvents(id);
    expect(more).toHaveLength(0);
    expect(event).toMatchObject({ type: 'credit.scored', data: { applicationId: id, decision: 'approved', decidedBy: 'auto', modelVersion: scorer.modelVersion } });
    // No personal data leaves in the event.
    expect(JSON.stringify(event)).not.toMatch(/Mei|Lin|Xinyi|1988-04-12/);
    expect(await searchAttributes(handle)).toEqual({ status: 'approved', decision: 'approved', modelVersion: scorer.modelVersion });
  });

  it('auto-declines at or above the decline threshold, with the reasons that pushed its score furthest toward default, and no credit line', async () => {
    // Queries replay the workflow on a worker: keep it running while the test asks.
    const { id, handle, state } = await withWorker(async (q) => {
      const started = await start(q, 'declineAll');
      await started.handle.result();
      return { ...started, state: await started.handle.query(creditApplicationState) };
    });
    expect(await handle.result()).toEqual({ applicationId: id, decision: 'declined', decidedBy: 'auto' });
    const reasons = state.score!.reasons;
    await expectRiskyReasons(reasons);
    const r = await row(id);
    expect(r).toMatchObject({ status: 'declined', decision: 'declined', decided_by: 'auto', approved_limit_minor: null });
    expect(r.reasons).toEqual(reasons.map(({ code, text }) => ({ code, text })));
    expect(await line(id)).toBeUndefined();
    expect((await scoredEvents(id))[0].data.reasonCodes).toEqual(reasons.map((x) => x.code));
  });

  it('waits for an underwriter between the thresholds, who approves a lower limit', async () => {
    await withWorker(async (q) => {
      const { id, handle, requestedLimitMinor } = await start(q, 'reviewAll');
      await untilStatus(handle, 'in_review');
      expect((await row(id)).status).toBe('in_review');
      expect((await searchAttributes(handle)).status).toBe('in_review');
      const state = await handle.executeUpdate(decideApplication, { args: [{ decision: 'approve', underwriterId: 'user:u-1', approvedLimitMinor: requestedLimitMinor / 2 }] });
      expect(state.decision).toMatchObject({ decision: 'approved', decidedBy: 'underwriter', approvedLimitMinor: requestedLimitMinor / 2 });
      expect(await handle.result()).toMatchObject({ decision: 'approved', decidedBy: 'underwriter' });
      expect(await row(id)).toMatchObject({ decision: 'approved', decided_by: 'underwriter', underwriter_id: 'user:u-1', approved_limit_minor: String(requestedLimitMinor / 2) });
      expect((await line(id)).limit_minor).toBe(String(requestedLimitMinor / 2));
    });
  });

  it('records a manual decline with the model reasons', async () => {
    await withWorker(async (q) => {
      const { id, handle } = await start(q, 'reviewAll');
      await untilStatus(handle, 'in_review');
      const { score } = await handle.executeUpdate(decideApplication, { args: [{ decision: 'decline', underwriterId: 'user:u-2' }] });
      expect(await handle.result()).toEqual({ applicationId: id, decision: 'declined', decidedBy: 'underwriter' });
      const r = await row(id);
      expect(r).toMatchObject({ decision: 'declined', decided_by: 'underwriter', underwriter_id: 'user:u-2' });
      await expectRiskyReasons(score!.reasons);
      expect(r.reasons).toEqual(score!.reasons.map(({ code, text }) => ({ code, text })));
      expect(await line(id)).toBeUndefined();
    });
  });

  it('escalates when the review deadline passes, then declines when the escalation deadline passes too', async () => {
    await withWorker(async (q) => {
      const { id, handle } = await start(q, 'reviewAll');
      await untilStatus(handle, 'in_review');
      // Waiting on a query or update does not move the test server's clock: skip the time explicitly.
      await env.sleep((REVIEW + 60) * 1000);
      await untilStatus(handle, 'escalated');
      expect((await row(id)).status).toBe('escalated');
      expect((await searchAttributes(handle)).status).toBe('escalated');
      await env.sleep((ESCALATION + 60) * 1000);
      expect(await handle.result()).toEqual({ applicationId: id, decision: 'declined', decidedBy: 'review_timeout' });
      const r = await row(id);
      expect(r).toMatchObject({ status: 'declined', decision: 'declined', decided_by: 'review_timeout' });
      expect(r.reasons.length).toBeGreaterThanOrEqual(1);
    });
  });

  it('an underwriter can still decide an escalated application', async () => {
    await withWorker(async (q) => {
      const { handle } = await start(q, 'reviewAll');
      await untilStatus(handle, 'in_review');
      await env.sleep((REVIEW + 60) * 1000);
      await untilStatus(handle, 'escalated');
      await handle.executeUpdate(decideApplication, { args: [{ decision: 'approve', underwriterId: 'user:u-3' }] });
      expect(await handle.result()).toMatchObject({ decision: 'approved', decidedBy: 'underwriter' });
    });
  });


  describe('KYC', () => {
    it('declines a deny-listed identity before scoring, telling the applicant only that identity could not be verified', async () => {
      const a = applicant();
      await withTenant(db, tenantId, (tx) =>
        tx.query("INSERT INTO kyc_deny_list (tenant_id, national_id_hash, reason, created_by) VALUES ($1, $2, 'fraud', 'test')", [
          tenantId,
          piiHash(cfg.PII_HASH_KEY, normalizedNationalId('TW', a.nationalId.toLowerCase())),
        ]),
      );
      const { id, handle, state } = await withWorker(async (q) => {
        const started = await start(q, 'approveAll', { applicant: a });
        await started.handle.result();
        return { ...started, state: await started.handle.query(creditApplicationState) };
      });
      expect(await handle.result()).toEqual({ applicationId: id, decision: 'declined', decidedBy: 'kyc' });
      const r = await row(id);
      expect(r).toMatchObject({ decision: 'declined', decided_by: 'kyc', probability_of_default: null, model_version: null, reasons: [{ code: 'K01', text: REASON_CATALOGUE.K01 }] });
      expect(state.score).toBeUndefined();
      expect((await scoredEvents(id))[0].data).toMatchObject({ decision: 'declined', decidedBy: 'kyc', probabilityOfDefault: null, reasonCodes: ['K01'] });
    });

    it('declines a missing identity field', async () => {
      await withWorker(async (q) => {
        const blank = await start(q, 'approveAll', { applicant: applicant({ familyName: '  ' }) });
        expect(await blank.handle.result()).toEqual({ applicationId: blank.id, decision: 'declined', decidedBy: 'kyc' });
        expect((await row(blank.id)).reasons).toEqual([{ code: 'K02', text: REASON_CATALOGUE.K02 }]);
      });
    });
  });
});
