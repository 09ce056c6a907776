/**
 * PeriodClose: closes one month of a tenant's books. Run monthly by the tenant's Temporal Schedule (it then closes
 * the month before its scheduled day, in the books' time zone), started by finance for a month, or by an admin's
 * reopen, which runs the whole close again.
 *
 * soft lock -> wait for payments in flight -> FX revaluation -> (year end: closing entries) -> trial balance ->
 * statements snapshot -> sign-off by finance (not the person who started it; overdue after N days: escalated) ->
 * hard close.
 */
import { ApplicationFailure, condition, proxyActivities, setHandler, sleep, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { PeriodCloseActivities } from '../../activities/accounting';
import { endsFiscalYear, localDate, monthOf, previousMonth, type PeriodRef } from '../../core/accounting/period-close';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { Status, TenantId } from '../../temporal-config/search-attributes';
import {
  CLOSE_FAILURES,
  DEFAULT_CLOSE_POLICY,
  periodCloseProgress,
  signOffClose,
  type CloseStep,
  type PeriodCloseInput,
  type PeriodCloseResult,
  type PeriodCloseState,
  type SignOff,
} from './period-close.contract';

/** Database steps: retried through outages; business refusals are not. */
const books = proxyActivities<PeriodCloseActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '2 seconds', maximumInterval: '1 minute', nonRetryableErrorTypes: Object.values(CLOSE_FAILURES) },
});

export async function PeriodClose(input: PeriodCloseInput): Promise<PeriodCloseResult> {
  const policy = { ...DEFAULT_CLOSE_POLICY, ...input.policy };
  const { workflowId } = workflowInfo();
  const scope = { tenantId: input.tenantId, workflowId };
  const state: PeriodCloseState = {
    tenantId: input.tenantId,
    trigger: input.trigger,
    startedBy: input.startedBy,
    step: 'starting',
    periodStart: null,
    periodEnd: null,
    run: null,
    yearEnd: false,
    inFlightPayments: null,
    revaluationLines: null,
    trialBalanced: null,
    escalated: false,
    signOffDueAt: null,
    signedOffBy: null,
    skippedBecause: null,
  };
  let signedOffAt: string | undefined;
  const step = (s: CloseStep) => {
    state.step = s;
    upsertSearchAttributes({ [Status.name]: [state.escalated && s === 'awaiting_sign_off' ? 'escalated' : s] });
  };
  upsertSearchAttributes({ [TenantId.name]: [input.tenantId] });

  setHandler(periodCloseProgress, () => state);
  setHandler(
    signOffClose,
    (signOff: SignOff) => {
      state.signedOffBy = signOff.by;
      signedOffAt = new Date().toISOString();
      return state;
    },
    {
      validator: (signOff: SignOff) => {
        if (state.step !== 'awaiting_sign_off') throw new Error(`nothing to sign off: the close is ${state.step}`);
        if (signOff.role !== 'finance') throw new Error('only finance signs off a close');
        if (signOff.by === input.startedBy) throw new Error('the person who started this close cannot sign it off');
      },
    },
  );

  // The month: given, or the one before the scheduled day in the books' zone (a backfilled run has its own day).
  const settings = await books.closeSettings({ tenantId: input.tenantId });
  const period: PeriodRef = input.periodStart ? monthOf(input.periodStart) : previousMonth(localDate(scheduledAt(), input.scheduleTimeZone ?? settings.timeZone));
  state.periodStart = period.periodStart;
  state.periodEnd = period.periodEnd;

  const claim = await books.claimClose({ ...scope, period, trigger: input.trigger, startedBy: input.startedBy });
  state.run = claim.run;
  if (claim.outcome !== 'claimed') {
    state.skippedBecause = claim.outcome;
    step('skipped');
    return { outcome: 'skipped', periodStart: period.periodStart, run: claim.run };
  }

  if (input.trigger === 'reopen') {
    step('reopening');
    if (!input.reason) throw ApplicationFailure.nonRetryable('a reopen needs a reason', 'PeriodCloseRefused');
    await books.reopenPeriod({ ...scope, periodStart: period.periodStart, actor: input.startedBy, reason: input.reason });
  }

  step('locking');
  await books.lockPeriod({ ...scope, periodStart: period.periodStart, actor: input.startedBy });

  step('waiting_for_payments');
  for (let look = 1; ; look++) {
    state.inFlightPayments = await books.inFlightPayments({ ...scope, period });
    if (state.inFlightPayments === 0 || look >= policy.settleMaxPolls) break;
    await sleep(policy.settlePollSeconds * 1000);
  }

  step('revaluing');
  const fxRevaluation = await books.revalueForeignBalances({ ...scope, period, reportingCurrency: settings.reportingCurrency });
  state.revaluationLines = fxRevaluation.lines.length;

  state.yearEnd = endsFiscalYear(period, settings.fiscalYearStartMonth);
  if (state.yearEnd) {
    step('closing_year');
    await books.postClosingEntries({ ...scope, fiscalYearEnd: period.periodEnd });
  }

  step('checking_trial_balance');
  state.trialBalanced = (await books.checkTrialBalance({ ...scope, period })).balanced;

  step('snapshotting');
  await books.snapshotStatements({ ...scope, period, yearEnd: state.yearEnd, fxRevaluation });

  step('awaiting_sign_off');
  const dueAt = Date.now() + policy.signOffDays * 86_400_000;
  state.signOffDueAt = new Date(dueAt).toISOString();
  if (!(await condition(() => state.signedOffBy !== null, policy.signOffDays * 86_400_000))) {
    state.escalated = true;
    step('awaiting_sign_off');
    await books.recordEscalation({ ...scope, at: new Date().toISOString() });
    await condition(() => state.signedOffBy !== null);
  }

  step('closing');
  await books.closePeriod({ ...scope, periodStart: period.periodStart, signedOffBy: state.signedOffBy!, signedOffAt: signedOffAt! });
  step('closed');
  return { outcome: 'closed', periodStart: period.periodStart, run: claim.run, signedOffBy: state.signedOffBy! };
}

/** Set by Temporal on a run a schedule started (a backfill's too): the time it was scheduled for. */
const TemporalScheduledStartTime = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);

/** When the schedule meant this run to start (a backfill's own time); the start time for a run not scheduled. */
function scheduledAt(): Date {
  const info = workflowInfo();
  return info.typedSearchAttributes.get(TemporalScheduledStartTime) ?? info.startTime;
}
