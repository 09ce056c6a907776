/**
 * A worked month over HTTP, checked figure by figure against the hand calculation in
 * test/fixtures/accounting/worked-month.md: invoices in EUR and JPY (zero-decimal), partial card payments through
 * the payment saga (POST /api/payments with invoiceRef), a credit note refunded to the card (RefundWorkflow), a write-off of an overdue invoice, the FX
 * revaluation and the close (started by finance, signed off by another finance user); after the close a posting
 * dated into the month is refused and the correction lands in the next month.
 *
 * The clock: invoices date their entries, payments and the overdue mark by the Temporal clock, and a write-off
 * needs a day to pass after the due date. So the workflows run on the time-skipping test server (the API and the
 * workers of the payments, invoices and accounting queues pointed at it: the invoices worker starts the credit
 * note's RefundWorkflow on the payments queue there, everything else the real local stack),
 * whose clock the test moves: to day 1 of the month after the one it starts in (M), two days on for the write-off,
 * then to day 1 of the month after M (N), 02:00 UTC, when finance closes M. The API refuses to start a close of a
 * month that has not ended by its own clock (the process's), and M is in the real clock's future: that one request
 * (and the sign-in before it) is made with this process's Date set to the test server's time; nothing else is.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { NativeConnection, Worker } from '@temporalio/worker';
import { monthOf } from '../../../core/accounting/period-close';
import type { Config } from '../../../platform/config';
import { createPool, withTenant, type Pool } from '../../../platform/db/pool';
import type { TaskQueueName } from '../../../platform/temporal/client';
import { connectWorker, createWorkers, workerDeps } from '../../../workers/create-workers';
import type { WorkerDeps } from '../../../workers/task-queues';
import { apiKeyWithRole, bearer, PASSWORD, registerTenant, settledResource, startApi, type RegisteredTenant, type TestApi } from '../../support/api';
import { ownerPool, testConfig } from '../../support/env';
import { eventually } from '../../support/eventually';
import { timeSkippingEnv } from '../../support/temporal';

jest.setTimeout(300_000);

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
interface WorkedMonth {
  rates: { day1: string; monthEnd: string };
  invoices: Record<string, { customerId: string; currency: 'EUR' | 'JPY'; dueOnIssue?: boolean; lines: Json[]; subtotal: number; tax: number; total: number }>;
  cardPayments: { invoice: string; amountMinor: number; outstandingAfter: number; status: string }[];
  creditNote: { invoice: string; amountMinor: number; settlement: 'customer_credit' | 'refund'; net: number; tax: number; beyondOwed: number; refundedToCard: number };
  writeOff: { invoice: string; amountMinor: number };
  correction: { amountMinor: number; debit: string; credit: string };
  expected: Json;
}

const WORKED_MONTH_PATH = path.join(__dirname, '../../fixtures/accounting/worked-month.md');
function loadWorkedMonth(): WorkedMonth {
  const m = /```json worked-month\n([\s\S]*?)\n```/.exec(fs.readFileSync(WORKED_MONTH_PATH, 'utf8'));
  if (!m) throw new Error(`${WORKED_MONTH_PATH} has no \`\`\`json worked-month block`);
  return JSON.parse(m[1]!) as WorkedMonth;
}
const month = loadWorkedMonth();
const want = month.expected;

const QUEUES: TaskQueueName[] = ['payments', 'invoices', 'accounting'];
/** Kafka-free, but a loaded 2-core machine runs the saga, the invoice update and the close: generous. */
const DEADLINE_MS = 120_000;
const HOUR = 3_600_000;

let env: TestWorkflowEnvironment;
let cfg: Config;
let api: TestApi;
let db: Pool;
let owner: Pool;
let connection: NativeConnection;
let workers: Worker[];
let running: Promise<unknown>;
let deps: WorkerDeps;
let tenant: RegisteredTenant;
let admin: string;
let finance: { email: string; token: string };
let finance2: { email: string; token: string };
let clientKey: string;
/** The month closed (M) and the one after it (N). */
let M: { periodStart: string; periodEnd: string };
let N: { periodStart: string; periodEnd: string };
const invoiceIds: Record<string, string> = {};
/** The card payment (its id) that paid each invoice. */
const paymentIds: Record<string, string> = {};
let codeOf: Map<string, string>;

/** A person with a role, invited by the admin; the email kept to sign in again later. */
async function person(role: 'finance'): Promise<{ email: string; token: string }> {
  const email = `${role}-${randomUUID().slice(0, 8)}@${tenant.slug}.test`;
  const inv = await api.http().post('/api/users/invitations').set(bearer(admin)).send({ email, role }).expect(201);
  const accepted = await api.http().post('/api/auth/invitations/accept').send({ token: inv.body.token, password: PASSWORD, displayName: role }).expect(201);
  return { email, token: accepted.body.accessToken as string };
}

/** Moves the test server's clock forward to `at` (epoch ms); the workflows' timers up to then fire. */
async function skipTo(at: number): Promise<void> {
  const now = await env.currentTimeMs();
  if (at > now) await env.sleep(at - now);
}

beforeAll(async () => {
  env = await timeSkippingEnv(testConfig());
  cfg = testConfig({ TEMPORAL_ADDRESS: env.address, TEMPORAL_NAMESPACE: env.namespace ?? 'default' });
  api = startApi({ TEMPORAL_ADDRESS: cfg.TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE: cfg.TEMPORAL_NAMESPACE });
  db = createPool(cfg.DATABASE_URL, 6);
  owner = ownerPool(cfg);
  connection = await connectWorker(cfg);
  deps = await workerDeps(cfg, db, QUEUES);
  // The test server has no Worker Deployments: plain workers.
  const plain = Object.fromEntries(QUEUES.map((q) => [q, { workerDeploymentOptions: undefined }]));
  workers = await createWorkers(cfg, connection, deps, QUEUES, plain);
  running = Promise.all(workers.map((w) => w.run()));

  tenant = await registerTenant(api);
  admin = tenant.admin.accessToken;
  [finance, finance2] = [await person('finance'), await person('finance')];
  clientKey = (await apiKeyWithRole(api, tenant, 'client')).key;
  await api.http().patch('/api/accounting/settings').set(bearer(admin)).send({ reportingCurrency: 'EUR' }).expect(200);
  const chart = await api.http().get('/api/accounting/accounts').set(bearer(finance.token)).expect(200);
  codeOf = new Map(chart.body.data.map((a: { id: string; code: string }) => [a.id, a.code]));

  // Day 1 of M, 10:00 UTC, on the workflows' clock.
  const start = new Date(await env.currentTimeMs());
  const day1 = Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1, 10);
  M = monthOf(new Date(day1).toISOString().slice(0, 10));
  N = monthOf(new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 2, 1)).toISOString().slice(0, 10));
  // M is not the end of a fiscal year (no closing entries: the figures are M's own). No API sets it: the owner does.
  await withTenant(owner, tenant.tenantId, (tx) => tx.query('UPDATE tenants SET fiscal_year_start_month = $2 WHERE id = $1', [tenant.tenantId, Number(M.periodStart.slice(5, 7))]));
  await skipTo(day1);
}, 300_000);

afterAll(async () => {
  jest.useRealTimers();
  for (const w of workers ?? []) w.shutdown();
  await running;
  await connection?.close();
  await deps?.temporal?.connection.close();
  await db?.end();
  await owner?.end();
  await api?.close();
  await env?.teardown();
});

const http = () => api.http();
const get = async (url: string, token = finance.token) => {
  const res = await http().get(url).set(bearer(token));
  expect(`${url} -> ${res.status} ${res.status === 200 ? '' : JSON.stringify(res.body)}`).toBe(`${url} -> 200 `);
  return res.body as Json;
};
const invoice = (name: string) => get(`/api/invoices/${invoiceIds[name]}`);
const section = (view: Json, currency: string): Json => view.currencies.find((c: Json) => c.currency === currency) ?? { missing: currency };
const byCode = (lines: Json[]) => Object.fromEntries(lines.map((l) => [l.code, l.debitMinor - l.creditMinor]));
const tbFigures = (tb: Json) => ({ lines: byCode(tb.lines), debit: tb.totals.debitMinor, credit: tb.totals.creditMinor });
const bsFigures = (bs: Json) => ({
  assets: bs.assets.totalMinor,
  liabilities: bs.liabilities.totalMinor,
  equity: bs.equity.totalMinor,
  currentEarnings: bs.currentEarningsMinor,
  liabilitiesAndEquity: bs.totalLiabilitiesAndEquityMinor,
});
const isFigures = (is: Json) => ({
  revenue: is.revenue.totalMinor,
  contraRevenue: is.contraRevenue.totalMinor,
  costOfSales: is.costOfSales.totalMinor,
  expenses: is.expenses.totalMinor,
  operatingIncome: is.operatingIncomeMinor,
  otherIncome: is.otherIncome.totalMinor,
  otherExpense: is.otherExpense.totalMinor,
  netIncome: is.netIncomeMinor,
});
const problemJson = (res: { type: string }) => expect(res.type).toBe('application/problem+json');

/**
 * Finance starts the close of a month on day 1 of N: the process's Date set to the test server's clock for the
 * sign-in and the request (see the file's comment), and back to the real one after.
 */
async function startClose(periodStart: string): Promise<void> {
  jest.useFakeTimers({ now: await env.currentTimeMs(), advanceTimers: true, doNotFake: ['nextTick', 'setImmediate', 'clearImmediate', 'setInterval', 'clearInterval', 'setTimeout', 'clearTimeout', 'queueMicrotask', 'hrtime', 'performance'] });
  try {
    const login = await http().post('/api/auth/login').send({ email: finance.email, password: PASSWORD }).expect(200);
    const started = await http().post('/api/accounting/closes').set(bearer(login.body.accessToken)).send({ periodStart });
    expect(`${periodStart}: ${started.status} ${JSON.stringify(started.body.detail ?? '')}`).toBe(`${periodStart}: 202 ""`);
  } finally {
    jest.useRealTimers();
  }
}
const closeOf = (periodStart: string) => http().get(`/api/accounting/closes/${periodStart}`).set(bearer(finance.token));
const awaitingSignOff = (periodStart: string) =>
  eventually(`${periodStart} awaiting sign-off`, async () => {
    const res = await closeOf(periodStart);
    return res.status === 200 && res.body.status === 'awaiting_sign_off' && (res.body as Json);
  }, DEADLINE_MS);
const untilClosed = (periodStart: string) => eventually(`${periodStart} closed`, async () => (await closeOf(periodStart)).body.status === 'closed', DEADLINE_MS);

describe('a worked month over HTTP, against the hand calculation', () => {
  it('takes the rates of day 1 and of the month end', async () => {
    for (const [date, rate] of [[M.periodStart, month.rates.day1], [M.periodEnd, month.rates.monthEnd]] as const) {
      await http().put('/api/accounting/fx-rates').set(bearer(finance.token)).send({ base: 'EUR', quote: 'JPY', date, rate }).expect(201);
    }
  });

  it('issues the invoices in EUR and JPY with the tax rounded half up once per invoice', async () => {
    for (const [name, inv] of Object.entries(month.invoices)) {
      const created = await http()
        .post('/api/invoices')
        .set(bearer(finance.token))
        .set('Idempotency-Key', randomUUID())
        .send({ customerId: inv.customerId, currency: inv.currency, lines: inv.lines, ...(inv.dueOnIssue ? { dueDate: M.periodStart } : { terms: 'net_60' }) })
        .expect(201);
      invoiceIds[name] = created.body.id;
      const issued = await http().post(`/api/invoices/${created.body.id}/issue`).set(bearer(finance.token)).expect(200);
      expect(issued.body).toMatchObject({ status: 'issued', issueDate: M.periodStart, subtotalMinor: inv.subtotal, taxMinor: inv.tax, totalMinor: inv.total, outstandingMinor: inv.total });
    }
  });

  it('takes partial card payments through the payment saga, each reaching its invoice', async () => {
    for (const p of month.cardPayments) {
      const inv = month.invoices[p.invoice]!;
      const res = await http()
        .post('/api/payments')
        .set(bearer(clientKey))
        .set('Idempotency-Key', randomUUID())
        .send({ amountMinor: p.amountMinor, currency: inv.currency, customerId: inv.customerId, paymentMethod: 'pm_card_visa', invoiceRef: invoiceIds[p.invoice] });
      const payment = await settledResource(api, clientKey, res, (b: Json) => ['succeeded', 'failed', 'canceled', 'in_review'].includes(b.status), DEADLINE_MS);
      expect(payment).toMatchObject({ status: 'succeeded', amountCapturedMinor: p.amountMinor, invoiceRef: invoiceIds[p.invoice] });
      paymentIds[p.invoice] = payment.id;
      const after = await eventually(`invoice ${p.invoice} paid by card`, async () => {
        const v = await invoice(p.invoice);
        return v.outstandingMinor === p.outstandingAfter && v;
      }, DEADLINE_MS);
      expect(after.status).toBe(p.status);
    }
  });

  it('credits the paid invoice pro rata to net and tax, refunding the card it was paid by', async () => {
    const c = month.creditNote;
    const res = await http()
      .post(`/api/invoices/${invoiceIds[c.invoice]}/credit-notes`)
      .set(bearer(finance.token))
      .set('Idempotency-Key', randomUUID())
      .send({ amountMinor: c.amountMinor, settlement: c.settlement, reason: 'two licences returned' });
    expect(`${res.status} ${JSON.stringify(res.body.detail ?? '')}`).toBe('200 ""');
    // creditedToBalanceMinor names everything credited beyond what was owed, refunded or not (modules/invoices/README.md).
    expect(res.body).toMatchObject({ status: 'paid', creditedToBalanceMinor: c.beyondOwed, outstandingMinor: 0 });
    const paid = await http().get(`/api/payments/${paymentIds[c.invoice]}`).set(bearer(clientKey)).expect(200);
    expect(paid.body.amountRefundedMinor).toBe(c.refundedToCard);
  });

  it('writes off the overdue invoice once its due date has passed', async () => {
    const w = month.writeOff;
    // Not overdue on its due date: refused.
    const early = await http().post(`/api/invoices/${invoiceIds[w.invoice]}/write-off`).set(bearer(finance.token)).send({});
    expect(early.status).toBe(409);
    problemJson(early);
    await skipTo(Date.parse(`${M.periodStart}T10:00:00Z`) + 2 * 24 * HOUR);
    await eventually('overdue', async () => (await invoice(w.invoice)).status === 'overdue', DEADLINE_MS);
    const res = await http().post(`/api/invoices/${invoiceIds[w.invoice]}/write-off`).set(bearer(finance.token)).send({ reason: 'customer insolvent' }).expect(200);
    expect(res.body).toMatchObject({ status: 'written_off', writtenOffMinor: w.amountMinor, outstandingMinor: 0 });
  });

  it('closes the month: locked, FX revalued at the month-end rate, trial balance checked, signed off by another finance user', async () => {
    await skipTo(Date.parse(`${N.periodStart}T02:00:00Z`));
    // Earlier months first (the database closes none out of order): the tenant's books open in the month the test
    // started in, which has nothing in it. Each is closed the same way, then M.
    const periods = (await get('/api/accounting/periods')).data as Json[];
    const earlier = periods.filter((p) => p.periodStart < M.periodStart && p.status !== 'closed').map((p) => p.periodStart as string).sort();
    for (const start of earlier) {
      await startClose(start);
      await awaitingSignOff(start);
      await http().post(`/api/accounting/closes/${start}/sign-off`).set(bearer(finance2.token)).expect(200);
      await untilClosed(start);
    }
    await startClose(M.periodStart);
    const waiting = await awaitingSignOff(M.periodStart);
    const tb = want.monthEnd.trialBalance;
    expect(waiting.trialBalance).toEqual(['EUR', 'JPY'].map((currency) => ({ currency, debitMinor: tb[currency].debit, creditMinor: tb[currency].credit, balanced: true })));
    const reval = waiting.fxRevaluation;
    expect(reval.reportingCurrency).toBe('EUR');
    expect(Object.fromEntries(reval.lines.map((l: Json) => [codeOf.get(l.accountId), { closing: Number(l.closingDmc), carrying: Number(l.carryingMinor), revalued: Number(l.revaluedMinor), difference: Number(l.differenceMinor) }]))).toEqual(want.revaluation.lines);
    expect(reval.lines.every((l: Json) => l.currency === 'JPY' && l.rateDate === M.periodEnd && Number(l.rate) === Number(month.rates.monthEnd))).toBe(true);

    const self = await http().post(`/api/accounting/closes/${M.periodStart}/sign-off`).set(bearer(finance.token));
    expect(self.status).toBe(409);
    problemJson(self);
    await http().post(`/api/accounting/closes/${M.periodStart}/sign-off`).set(bearer(finance2.token)).expect(200);
    await untilClosed(M.periodStart);
    const after = (await get('/api/accounting/periods')).data;
    expect(after.find((p: Json) => p.periodStart === M.periodStart)).toMatchObject({ status: 'closed' });
  });

  it('posted the revaluation as one adjusting entry on the month end, in EUR', async () => {
    const journal = await get(`/api/accounting/reports/journal?from=${M.periodEnd}&to=${M.periodEnd}`);
    const entries = journal.data.filter((e: Json) => e.kind === 'adjusting');
    expect(entries).toHaveLength(1);
    expect(Object.fromEntries(entries[0].postings.map((p: Json) => [p.accountCode ?? codeOf.get(p.accountId), p.amountMinor]))).toEqual(want.revaluation.entry);
    expect(entries[0].postings.every((p: Json) => p.currency === 'EUR')).toBe(true);
  });

  it('shows every invoice as the hand calculation has it', async () => {
    expect(await invoice('A')).toMatchObject({ status: 'partially_paid', paidMinor: 50000, outstandingMinor: 103207 });
    expect(await invoice('B')).toMatchObject({ status: 'partially_paid', currency: 'JPY', paidMinor: 50000, outstandingMinor: 101033 });
    expect(await invoice('C')).toMatchObject({ status: 'written_off', writtenOffMinor: 29750, outstandingMinor: 0 });
    expect(await invoice('D')).toMatchObject({ status: 'paid', paidMinor: 35700, creditedToBalanceMinor: month.creditNote.beyondOwed, outstandingMinor: 0 });
  });

  it.each(['EUR', 'JPY'])('trial balance at the month end in %s: every account, debits equal credits', async (currency) => {
    const tb = section(await get(`/api/accounting/reports/trial-balance?asOf=${M.periodEnd}`), currency);
    expect(tbFigures(tb)).toEqual(want.monthEnd.trialBalance[currency]);
    expect(tb.balanced).toBe(true);
  });

  it('trial balance at the month end consolidated in EUR at the month-end rate', async () => {
    const c = (await get(`/api/accounting/reports/trial-balance?asOf=${M.periodEnd}`)).consolidated;
    const w = want.monthEnd.trialBalance.consolidated;
    expect(c.currency).toBe('EUR');
    expect(c.rates).toEqual([expect.objectContaining({ rateDate: M.periodEnd })]);
    expect({ lines: byCode(c.lines), rounding: c.roundingMinor, debit: c.totals.debitMinor, credit: c.totals.creditMinor }).toEqual(w);
    expect(c.balanced).toBe(true);
  });

  it.each(['EUR', 'JPY', 'consolidated'])('balance sheet at the month end, %s', async (which) => {
    const view = await get(`/api/accounting/reports/balance-sheet?asOf=${M.periodEnd}`);
    const bs = which === 'consolidated' ? view.consolidated : section(view, which);
    expect(bsFigures(bs)).toEqual(want.monthEnd.balanceSheet[which]);
    expect(bs.balanced).toBe(true);
  });

  it.each(['EUR', 'JPY', 'consolidated'])('income statement of the month, %s', async (which) => {
    const view = await get(`/api/accounting/reports/income-statement?from=${M.periodStart}&to=${M.periodEnd}`);
    expect(isFigures(which === 'consolidated' ? view.consolidated : section(view, which))).toEqual(want.monthEnd.incomeStatement[which]);
  });

  it("keeps the same figures in the close's statements", async () => {
    const { statements } = await get(`/api/accounting/closes/${M.periodStart}/statements`);
    expect(statements.periodEnd).toBe(M.periodEnd);
    for (const currency of ['EUR', 'JPY']) {
      const s = section(statements, currency);
      expect({ currency, ...tbFigures(s.trialBalance) }).toEqual({ currency, ...want.monthEnd.trialBalance[currency] });
      expect({ currency, ...bsFigures(s.balanceSheet) }).toEqual({ currency, ...want.monthEnd.balanceSheet[currency] });
      expect({ currency, ...isFigures(s.incomeStatement) }).toEqual({ currency, ...want.monthEnd.incomeStatement[currency] });
    }
  });

  it('refuses a posting dated into the closed month, and books the correction in the next month', async () => {
    const { amountMinor, debit, credit } = month.correction;
    const draft = (accountingDate: string, kind: 'adjusting' | 'standard') =>
      http()
        .post('/api/accounting/drafts')
        .set(bearer(finance.token))
        .send({
          kind,
          accountingDate,
          description: 'Card processing fee on invoice A, missed',
          postings: [
            { accountCode: debit, currency: 'EUR', amountMinor },
            { accountCode: credit, currency: 'EUR', amountMinor: -amountMinor },
          ],
        })
        .expect(201);

    const late = await draft(M.periodEnd, 'adjusting');
    const refused = await http().post(`/api/accounting/drafts/${late.body.id}/approve`).set(bearer(admin));
    expect(refused.status).toBe(409);
    problemJson(refused);
    expect(tbFigures(section(await get(`/api/accounting/reports/trial-balance?asOf=${M.periodEnd}`), 'EUR'))).toEqual(want.monthEnd.trialBalance.EUR);

    const correction = await draft(N.periodStart, 'standard');
    const posted = await http().post(`/api/accounting/drafts/${correction.body.id}/approve`).set(bearer(admin)).expect(200);
    expect(posted.body.status).toBe('posted');
    expect(tbFigures(section(await get(`/api/accounting/reports/trial-balance?asOf=${N.periodStart}`), 'EUR'))).toEqual(want.nextMonth.trialBalanceDay1.EUR);
    const nextIs = section(await get(`/api/accounting/reports/income-statement?from=${N.periodStart}&to=${N.periodEnd}`), 'EUR');
    expect({ revenue: nextIs.revenue.totalMinor, costOfSales: nextIs.costOfSales.totalMinor, grossProfit: nextIs.grossProfitMinor, netIncome: nextIs.netIncomeMinor }).toEqual(want.nextMonth.incomeStatement.EUR);
    // The closed month is as it was.
    expect(tbFigures(section(await get(`/api/accounting/reports/trial-balance?asOf=${M.periodEnd}`), 'EUR'))).toEqual(want.monthEnd.trialBalance.EUR);
    expect(isFigures(section(await get(`/api/accounting/reports/income-statement?from=${M.periodStart}&to=${M.periodEnd}`), 'EUR'))).toEqual(want.monthEnd.incomeStatement.EUR);
  });
});
