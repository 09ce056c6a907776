/**
 * Finance's side of the period close: start a close of a month now, follow it (the workflow's progress query), sign
 * it off (an update the workflow validates), reopen a closed month (an admin's, with a reason: the close runs
 * again), list the closes and download a closed month's statements. Closing the books is a person's act: API keys
 * may read, not start, sign off or reopen.
 */
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { localDate, monthOf } from '../../core/accounting/period-close';
import { periodCloses, withTenant, type CloseSnapshot } from '../../modules/accounting';
import type { Config } from '../../platform/config';
import { taskQueue } from '../../platform/temporal/client';
import {
  PERIOD_CLOSE_TYPE,
  periodCloseProgress,
  periodCloseWorkflowId,
  signOffClose,
  type PeriodCloseInput,
  type PeriodCloseState,
} from '../../workflows/accounting/period-close.contract';
import { DomainError } from '../errors';
import type { Principal } from '../middleware/authenticate';
import { deliverUpdate, readUntilSettled } from '../workflow-updates';

/** How long a start waits for the close to claim its month (or find nothing to do) before answering 202. */
const START_WAIT_MS = 5000;

function person(p: Principal, act: string): string {
  if (p.kind !== 'user') throw new DomainError('forbidden', `A person ${act}: sign in, an API key cannot`, { reason: 'person-required' });
  return `user:${p.userId}`;
}

export class PeriodCloseService {
  constructor(private readonly deps: { db: Pool; temporal: Client; config: Pick<Config, 'TEMPORAL_TASK_QUEUE_PREFIX' | 'WORKFLOW_UPDATE_WAIT_MS'> }) {}

  list(p: Principal, q: { from?: string; to?: string; limit: number }) {
    return withTenant(this.deps.db, p.tenantId, async (tx) => {
      const rows = await periodCloses.listCloses(tx, q);
      const snapshots = await Promise.all(rows.map((r) => periodCloses.closeOf(tx, r.periodStart, r.run)));
      return rows.map((r, i) => ({ ...r, trialBalance: summary(snapshots[i]) }));
    });
  }

  /** The month's latest close, with the workflow's progress while it runs. */
  async get(p: Principal, periodStart: string) {
    const close = await this.close(p, periodStart);
    const progress = close.status === 'closed' ? null : await this.progress(close.workflowId);
    return { ...view(close), trialBalance: summary(close), fxRevaluation: close.fxRevaluation, progress };
  }

  async start(p: Principal, periodStart: string) {
    const startedBy = person(p, 'starts a close');
    await this.assertEnded(p, periodStart);
    await this.assertEarlierClosed(p, periodStart);
    return this.run(p, periodStart, { tenantId: p.tenantId, trigger: 'manual', startedBy, periodStart });
  }

  async reopen(p: Principal, periodStart: string, reason: string) {
    const startedBy = person(p, 'reopens a period');
    const period = await this.period(p, periodStart);
    if (period !== 'closed') throw new DomainError('conflict', `The month starting ${periodStart} is not closed (${period ?? 'no such period'})`);
    return this.run(p, periodStart, { tenantId: p.tenantId, trigger: 'reopen', startedBy, periodStart, reason });
  }

  async signOff(p: Principal, periodStart: string) {
    const by = person(p, 'signs off a close');
    const close = await this.close(p, periodStart);
    if (close.status !== 'awaiting_sign_off') throw new DomainError('conflict', `The close of ${periodStart} is ${close.status}: nothing to sign off`);
    const handle = this.deps.temporal.workflow.getHandle(close.workflowId);
    const delivered = await deliverUpdate('close', this.deps.temporal, handle, (h, o) => h.startUpdate(signOffClose, { ...o, args: [{ by, role: p.role }] }), this.deps.config.WORKFLOW_UPDATE_WAIT_MS);
    // Accepted by a worker but not finished within the wait: the close's progress as it stands.
    return delivered.applied ? delivered.result : this.progress(close.workflowId);
  }

  /** The statements of the month's latest closed run, as persisted before its sign-off. */
  async statements(p: Principal, periodStart: string): Promise<CloseSnapshot> {
    const close = await this.close(p, periodStart);
    if (close.status !== 'closed') throw new DomainError('conflict', `The close of ${periodStart} is ${close.status}: statements are downloadable once it is closed`);
    return close;
  }

  private async run(p: Principal, periodStart: string, input: PeriodCloseInput) {
    const workflowId = periodCloseWorkflowId(p.tenantId, periodStart, randomUUID());
    const handle = await this.deps.temporal.workflow.start(PERIOD_CLOSE_TYPE, {
      workflowId,
      taskQueue: taskQueue(this.deps.config, 'accounting'),
      args: [input],
      staticSummary: `${input.trigger} close of ${periodStart}`,
    });
    const { value } = await readUntilSettled(
      () => handle.query(periodCloseProgress).catch(() => undefined),
      (s) => s !== undefined && s.run !== null,
      START_WAIT_MS,
    );
    if (value?.step === 'skipped') {
      throw new DomainError('conflict', value.skippedBecause === 'already-closed' ? `The month starting ${periodStart} is already closed` : `A close of the month starting ${periodStart} is already running`);
    }
    return { workflowId, periodStart, progress: value ?? null };
  }

  private async progress(workflowId: string): Promise<PeriodCloseState | null> {
    return this.deps.temporal.workflow
      .getHandle(workflowId)
      .query(periodCloseProgress)
      .catch(() => null);
  }

  private async close(p: Principal, periodStart: string): Promise<CloseSnapshot> {
    const close = await withTenant(this.deps.db, p.tenantId, (tx) => periodCloses.closeOf(tx, periodStart));
    if (!close) throw new DomainError('not-found', `No close of the month starting ${periodStart}`);
    return close;
  }

  private async period(p: Principal, periodStart: string): Promise<string | undefined> {
    const { rows } = await withTenant(this.deps.db, p.tenantId, (tx) => tx.query<{ status: string }>('SELECT status FROM accounting_periods WHERE period_start = $1', [periodStart]));
    return rows[0]?.status;
  }

  /**
   * Months close in order (the database refuses a hard close out of order): a close started past an open month
   * would take its sign-off and then wait at its last step for ever. The scheduled close keeps waiting instead: it
   * runs only after the month before it was due, and finishes once that one is signed off.
   */
  private async assertEarlierClosed(p: Principal, periodStart: string): Promise<void> {
    const { rows } = await withTenant(this.deps.db, p.tenantId, (tx) =>
      tx.query<{ period_start: string }>(
        "SELECT to_char(period_start, 'YYYY-MM-DD') AS period_start FROM accounting_periods WHERE period_start < $1 AND status <> 'closed' ORDER BY period_start LIMIT 1",
        [periodStart],
      ),
    );
    if (rows[0]) {
      throw new DomainError('conflict', `Close the month starting ${rows[0].period_start} first: months close in order`, { reason: 'earlier-period-open' });
    }
  }

  /** A month is closed once it has ended in the books' time zone. */
  private async assertEnded(p: Principal, periodStart: string): Promise<void> {
    const { timeZone } = await withTenant(this.deps.db, p.tenantId, periodCloses.closeSettings);
    if (monthOf(periodStart).periodEnd >= localDate(new Date(), timeZone)) {
      throw new DomainError('unprocessable-entity', `The month starting ${periodStart} has not ended yet in ${timeZone}`, { reason: 'period-not-ended' });
    }
  }
}

const view = (c: CloseSnapshot) => {
  const { fxRevaluation: _fx, trialBalance: _tb, statements: _st, ...rest } = c;
  return rest;
};

type TrialRow = { currency: string; totals: { debitMinor: number; creditMinor: number }; balanced: boolean };
const summary = (c: CloseSnapshot | undefined) =>
  ((c?.trialBalance as TrialRow[] | null) ?? []).map((t) => ({ currency: t.currency, debitMinor: t.totals.debitMinor, creditMinor: t.totals.creditMinor, balanced: t.balanced }));
