/**
 * PeriodClose's contract: its type, ids, input, progress query, sign-off update and failure types. Side-effect
 * free: the API, the schedule and tests import it.
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';

export const PERIOD_CLOSE_TYPE = 'PeriodClose';

/** A close started by hand (or a reopen): one id per period and request. */
export const periodCloseWorkflowId = (tenantId: string, periodStart: string, request: string) => `period-close:${tenantId}:${periodStart}:${request}`;
/** The tenant's monthly schedule; its runs get `<id>-<scheduled time>` from Temporal. */
export const periodCloseScheduleId = (prefix: string, tenantId: string) => `${prefix}period-close:${tenantId}`;

export type CloseTrigger = 'schedule' | 'manual' | 'reopen';

export interface ClosePolicy {
  /** Days without a sign-off before the close escalates. */
  signOffDays: number;
  /** How often the close looks again at payments still in flight. */
  settlePollSeconds: number;
  /** How many looks before it goes on anyway (their late postings move to the next open period). */
  settleMaxPolls: number;
}
export const DEFAULT_CLOSE_POLICY: ClosePolicy = { signOffDays: 5, settlePollSeconds: 3600, settleMaxPolls: 72 };

export interface PeriodCloseInput {
  tenantId: string;
  trigger: CloseTrigger;
  /** `user:<id>` of the person who started it (manual, reopen); `schedule` for scheduled runs. */
  startedBy: string;
  /** The month to close (YYYY-MM-01). A scheduled run leaves it out: it closes the month before its scheduled day. */
  periodStart?: string;
  /**
   * A scheduled run: the time zone of its schedule's calendar. The scheduled day is read in it, so a run on the 1st
   * closes the month before even after the books' zone changed (the schedule keeps its zone until it is updated).
   */
  scheduleTimeZone?: string;
  /** For a reopen: why (kept in the period's audited history). */
  reason?: string;
  policy?: Partial<ClosePolicy>;
}

export type CloseStep =
  | 'starting'
  | 'reopening'
  | 'locking'
  | 'waiting_for_payments'
  | 'revaluing'
  | 'closing_year'
  | 'checking_trial_balance'
  | 'snapshotting'
  | 'awaiting_sign_off'
  | 'closing'
  | 'closed'
  | 'skipped';

export interface PeriodCloseState {
  tenantId: string;
  trigger: CloseTrigger;
  startedBy: string;
  step: CloseStep;
  periodStart: string | null;
  periodEnd: string | null;
  run: number | null;
  yearEnd: boolean;
  inFlightPayments: number | null;
  revaluationLines: number | null;
  trialBalanced: boolean | null;
  escalated: boolean;
  signOffDueAt: string | null;
  signedOffBy: string | null;
  skippedBecause: 'already-closed' | 'already-running' | null;
}

export interface SignOff {
  /** `user:<id>` of the person signing (an API key acts for the person who created it). */
  by: string;
  role: string;
}

export const periodCloseProgress = defineQuery<PeriodCloseState>('periodCloseProgress');
export const signOffClose = defineUpdate<PeriodCloseState, [SignOff]>('signOffClose');

/** Business failures (not retried); the API maps them from this one table. */
export const CLOSE_FAILURES = {
  unbalanced: 'TrialBalanceUnbalanced',
  missingRate: 'MissingExchangeRate',
} as const;

export interface PeriodCloseResult {
  outcome: 'closed' | 'skipped';
  periodStart: string;
  run: number;
  signedOffBy?: string;
}
