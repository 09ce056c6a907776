/**
 * PeriodClose on the time-skipping test server, with its real activities over the test database: the soft lock,
 * the wait for payments in flight, FX revaluation, the sign-off (never by the person who started the close, only
 * by finance), escalation when no one signs off in time, and the year-end closing entries.
 */
import { randomUUID } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createPeriodCloseActivities } from '../../../activities/accounting';
import { money, type Currency } from '../../../core/money';
import { createPool, withTenant, type Pool } from '../../../platform/db/pool';
import { postJournalEntry } from '../../../platform/ledger';
import { createDataConverter } from '../../../platform/temporal/client';
import { Status } from '../../../temporal-config/search-attributes';
import {
  PERIOD_CLOSE_TYPE,
  periodCloseProgress,
  signOffClose,
  type CloseStep,
  type PeriodCloseInput,
} from '../../../workflows/accounting/period-close.contract';
import type { PeriodClose } from '../../../workflows/accounting';
import { ownerPool, testConfig } from '../../support/env';
import { eventually } from '../../support/eventually';
import { tenantWithChart } from '../../support/ledger';
import { insertPaymentRow, paymentInput } from '../../support/payment-rows';
import { bundle, timeSkippingEnv } from '../../support/temporal';
import { expectRefused, updateRefusal } from '../../support/updates';

const cfg = testConfig();
let env: TestWorkflowEnvironment;
let db: Pool;
let owner: Pool;
let workflowBundle: WorkflowBundleWithSourceMap;

beforeAll(async () => {
  [env, workflowBundle] = await Promise.all([timeSkippingEnv(cfg), bundle(require.resolve('../../../workflows/accounting'))]);
  db = createPool(cfg.DATABASE_URL, 4);
  owner = ownerPool(cfg);
});
afterAll(async () => {
  await env?.teardown();
  await db?.end();
  await owner?.end();
});

async function withWorker<T>(fn: (taskQueue: string) => Promise<T>): Promise<T> {
  const taskQueue = `${cfg.TEMPORAL_TASK_QUEUE_PREFIX}accounting-${randomUUID()}`;
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle,
    activities: createPeriodCloseActivities({ db }),
    dataConverter: createDataConverter(cfg),
  });
  return worker.runUntil(fn(taskQueue));
}

const ALICE = 'user:alice';
const BOB = 'user:bob';

function start(taskQueue: string, tenantId: string, periodStart: string, over: Partial<PeriodCloseInput> = {}) {
  const input: PeriodCloseInput = { tenantId, trigger: 'manual', startedBy: ALICE, periodStart, policy: { signOffDays: 3, settlePollSeconds: 600, settleMaxPolls: 50 }, ...over };
  return env.client.workflow.start<typeof PeriodClose>(PERIOD_CLOSE_TYPE, { taskQueue, workflowId: `period-close:${tenantId}:${periodStart}:${randomUUID()}`, args: [input] });
}

const untilStep = (handle: WorkflowHandle, step: CloseStep) =>
  eventually(`step ${step}`, async () => {
    const s = await handle.query(periodCloseProgress);
    return s.step === step && s;
  }, 60_000);

const post = (tenantId: string, date: string, lines: [string, number, Currency][]) =>
  withTenant(db, tenantId, (tx) =>
    postJournalEntry(tx, {
      id: randomUUID(),
      tenantId,
      effectiveAt: new Date(`${date}T12:00:00Z`),
      description: 'test entry',
      source: { type: 'test', id: randomUUID() },
      postings: lines.map(([systemKey, amount, currency]) => ({ account: { systemKey }, amount: money(amount, currency) })),
    }),
  );

const periodStatus = async (tenantId: string, start: string) =>
  (await withTenant(db, tenantId, (tx) => tx.query<{ status: string }>('SELECT status FROM accounting_periods WHERE period_start = $1', [start]))).rows[0]?.status;

const closeRow = async (tenantId: string, start: string) =>
  (await withTenant(db, tenantId, (tx) => tx.query('SELECT * FROM period_closes WHERE period_start = $1 ORDER BY run DESC LIMIT 1', [start]))).rows[0];

/** The postings of the close's entries of a kind, as [system key, currency, amount], sorted. */
const closeEntryLines = async (tenantId: string, kind: string) =>
  (
    await withTenant(db, tenantId, (tx) =>
      tx.query<{ key: string; currency: string; amount: string }>(
        `SELECT a.system_key AS key, p.currency, p.amount_minor::text AS amount FROM journal_entries e JOIN postings p ON p.entry_id = e.id JOIN ledger_accounts a ON a.id = p.account_id
          WHERE e.source_type = 'period_close' AND e.kind = $1 ORDER BY 1, 2`,
        [kind],
      ),
    )
  ).rows.map((r) => [r.key, r.currency.trim(), Number(r.amount)]);

describe('PeriodClose', () => {
  it('soft-locks the month, refuses a sign-off by the person who started it or by non-finance, and closes on a finance sign-off', async () => {
    const tenantId = await tenantWithChart(db);
    await post(tenantId, '2025-01-10', [['cash', 12_000, 'EUR'], ['sales_revenue', -12_000, 'EUR']]);
    await withWorker(async (q) => {
      const handle = await start(q, tenantId, '2025-01-01');
      const waiting = await untilStep(handle, 'awaiting_sign_off');
      expect(waiting).toMatchObject({ periodStart: '2025-01-01', periodEnd: '2025-01-31', run: 1, yearEnd: false, trialBalanced: true, inFlightPayments: 0 });
      expect(await periodStatus(tenantId, '2025-01-01')).toBe('locked');
      await expect(post(tenantId, '2025-01-20', [['cash', 100, 'EUR'], ['sales_revenue', -100, 'EUR']])).rejects.toMatchObject({ code: 'closed-period' });

      expectRefused(await updateRefusal(handle, signOffClose, [{ by: ALICE, role: 'finance' }]), /started this close cannot sign it off/);
      expectRefused(await updateRefusal(handle, signOffClose, [{ by: BOB, role: 'ops' }]), /only finance/);
      expect((await handle.executeUpdate(signOffClose, { args: [{ by: BOB, role: 'finance' }] })).signedOffBy).toBe(BOB);
      expect(await handle.result()).toEqual({ outcome: 'closed', periodStart: '2025-01-01', run: 1, signedOffBy: BOB });
    });
    expect(await periodStatus(tenantId, '2025-01-01')).toBe('closed');
    const row = await closeRow(tenantId, '2025-01-01');
    expect(row).toMatchObject({ status: 'closed', started_by: ALICE, signed_off_by: BOB, year_end: false, escalated_at: null });
    expect(row.trial_balance).toEqual([expect.objectContaining({ currency: 'EUR', totals: { debitMinor: 12_000, creditMinor: 12_000 }, balanced: true })]);
    expect(row.statements.currencies[0].incomeStatement).toMatchObject({ netIncomeMinor: 12_000 });
    expect(await closeEntryLines(tenantId, 'closing')).toEqual([]);
  });

  it('waits for a payment of the month still in flight, looking again on a durable timer, then goes on', async () => {
    const tenantId = await tenantWithChart(db);
    const payment = paymentInput(tenantId);
    await insertPaymentRow(db, payment);
    const month = `${new Date().toISOString().slice(0, 7)}-01`;
    await withWorker(async (q) => {
      const handle = await start(q, tenantId, month);
      expect(await untilStep(handle, 'waiting_for_payments')).toMatchObject({ inFlightPayments: 1 });
      await env.sleep(3 * 600 * 1000);
      expect((await handle.query(periodCloseProgress)).step).toBe('waiting_for_payments');
      await withTenant(db, tenantId, (tx) => tx.query("UPDATE payments SET status = 'failed' WHERE id = $1", [payment.paymentId]));
      await env.sleep(600 * 1000);
      expect(await untilStep(handle, 'awaiting_sign_off')).toMatchObject({ inFlightPayments: 0 });
      await handle.terminate('test done');
    });
  });

  it('escalates when no one signs off within the policy days: period_close.escalated once, Status escalated; a later sign-off still closes', async () => {
    const tenantId = await tenantWithChart(db);
    await post(tenantId, '2025-02-03', [['cash', 500, 'EUR'], ['sales_revenue', -500, 'EUR']]);
    await withWorker(async (q) => {
      const handle = await start(q, tenantId, '2025-02-01');
      await untilStep(handle, 'awaiting_sign_off');
      await env.sleep(2 * 86_400_000);
      expect((await handle.query(periodCloseProgress)).escalated).toBe(false);
      await env.sleep(1 * 86_400_000 + 60_000);
      await eventually('escalated', async () => (await handle.query(periodCloseProgress)).escalated);
      await eventually('escalation recorded', async () => (await closeRow(tenantId, '2025-02-01')).escalated_at);
      const events = await withTenant(db, tenantId, (tx) => tx.query("SELECT event FROM outbox WHERE event_type = 'period_close.escalated'"));
      expect(events.rows).toHaveLength(1);
      expect(events.rows[0].event.data).toMatchObject({ periodStart: '2025-02-01', run: 1, reason: 'sign-off overdue' });
      expect((await handle.describe()).typedSearchAttributes.get(Status)).toBe('escalated');
      await handle.executeUpdate(signOffClose, { args: [{ by: BOB, role: 'finance' }] });
      expect(await handle.result()).toMatchObject({ outcome: 'closed' });
    });
    expect(await periodStatus(tenantId, '2025-02-01')).toBe('closed');
  });

  it('revalues an open foreign-currency receivable at the period-end rate: the unrealised gain posted once, in the reporting currency', async () => {
    const tenantId = await tenantWithChart(db);
    await withTenant(db, tenantId, async (tx) => {
      await tx.query("UPDATE tenants SET reporting_currency = 'EUR' WHERE id = $1", [tenantId]);
      await tx.query(
        `INSERT INTO fx_rates (tenant_id, base, quote, rate_date, rate, entered_by) VALUES ($1, 'USD', 'EUR', '2025-03-10', '0.9', 'test'), ($1, 'USD', 'EUR', '2025-03-31', '0.95', 'test')`,
        [tenantId],
      );
    });
    // 100.00 USD receivable on 10 March at 0.90 (90.00 EUR), worth 95.00 EUR at 0.95 on 31 March: a 5.00 EUR gain.
    await post(tenantId, '2025-03-10', [['accounts_receivable', 10_000, 'USD'], ['sales_revenue', -10_000, 'USD']]);
    await withWorker(async (q) => {
      const handle = await start(q, tenantId, '2025-03-01');
      expect(await untilStep(handle, 'awaiting_sign_off')).toMatchObject({ revaluationLines: 1 });
      await handle.terminate('test done');
    });
    expect(await closeEntryLines(tenantId, 'adjusting')).toEqual([
      ['accounts_receivable', 'EUR', 500],
      ['fx_gain_loss', 'EUR', -500],
    ]);
    const row = await closeRow(tenantId, '2025-03-01');
    expect(row.fx_revaluation.lines).toEqual([expect.objectContaining({ currency: 'USD', closingDmc: 10_000, carryingMinor: 9_000, revaluedMinor: 9_500, differenceMinor: 500, rate: '0.950000000000' })]);
    // A retried step posts nothing twice: the same workflow id derives the same entry.
    const again = await createPeriodCloseActivities({ db }).revalueForeignBalances({
      tenantId,
      workflowId: row.workflow_id,
      period: { periodStart: '2025-03-01', periodEnd: '2025-03-31' },
      reportingCurrency: 'EUR',
    });
    expect(again.entry).toMatchObject({ status: 'already-posted' });
    expect(await closeEntryLines(tenantId, 'adjusting')).toHaveLength(2);
  });

  it("at the fiscal year's end posts closing entries: revenue and expense to zero, the year's result to retained earnings, per currency", async () => {
    const tenantId = await tenantWithChart(db);
    // Fiscal year July to June: June closes the year.
    await withTenant(owner, tenantId, (tx) => tx.query('UPDATE tenants SET fiscal_year_start_month = 7 WHERE id = $1', [tenantId]));
    await post(tenantId, '2025-06-05', [['cash', 10_000, 'EUR'], ['sales_revenue', -10_000, 'EUR']]);
    await post(tenantId, '2025-06-06', [['processing_fees', 2_500, 'EUR'], ['cash', -2_500, 'EUR']]);
    await post(tenantId, '2025-06-07', [['refunds', 1_000, 'EUR'], ['cash', -1_000, 'EUR']]);
    await post(tenantId, '2025-06-08', [['cash', 4_000, 'JPY'], ['sales_revenue', -4_000, 'JPY']]);
    await withWorker(async (q) => {
      const handle = await start(q, tenantId, '2025-06-01');
      expect(await untilStep(handle, 'awaiting_sign_off')).toMatchObject({ yearEnd: true, trialBalanced: true });
      await handle.executeUpdate(signOffClose, { args: [{ by: BOB, role: 'finance' }] });
      await handle.result();
    });
    // EUR: revenue -100.00, refunds +10.00, fees +25.00: a profit of 65.00 to retained earnings (a credit).
    expect(await closeEntryLines(tenantId, 'closing')).toEqual([
      ['processing_fees', 'EUR', -2_500],
      ['refunds', 'EUR', -1_000],
      ['retained_earnings', 'EUR', -6_500],
      ['retained_earnings', 'JPY', -4_000],
      ['sales_revenue', 'EUR', 10_000],
      ['sales_revenue', 'JPY', 4_000],
    ]);
    const balances = await withTenant(db, tenantId, (tx) =>
      tx.query<{ key: string; currency: string; dmc: string }>(
        `SELECT a.system_key AS key, s.currency, s.debit_minus_credit::text AS dmc FROM ledger_balance_snapshots s JOIN ledger_accounts a ON a.id = s.account_id
          WHERE s.as_of = '2025-06-30' AND s.debit_minus_credit <> 0 ORDER BY 1, 2`,
      ),
    );
    expect(balances.rows.map((r) => [r.key, r.currency.trim(), Number(r.dmc)])).toEqual([
      ['cash', 'EUR', 6_500],
      ['cash', 'JPY', 4_000],
      ['retained_earnings', 'EUR', -6_500],
      ['retained_earnings', 'JPY', -4_000],
    ]);
    const row = await closeRow(tenantId, '2025-06-01');
    expect(row.year_end).toBe(true);
    // The month's income statement leaves the closing entries out.
    expect(row.statements.currencies.find((c: { currency: string }) => c.currency === 'EUR').incomeStatement).toMatchObject({ netIncomeMinor: 6_500 });
  });
});
