import type { Context } from 'koa';
import { z } from 'zod';
import { route, type AnyRoute } from '../routing';
import { freeText, timeZone } from '../schemas';
import { accountLedgerHtml, balanceSheetHtml, cashSummaryHtml, incomeStatementHtml, journalHtml, REPORT_CSP, trialBalanceHtml } from './html';
import {
  accountLedgerSchema,
  accountSchema,
  asOfQuery,
  balanceSheetSchema,
  cashSummarySchema,
  createAccountBody,
  createDraftBody,
  currency,
  draftSchema,
  idParams,
  importRatesBody,
  incomeStatementSchema,
  isoDate,
  journalCsvQuery,
  journalQuery,
  journalSchema,
  ledgerQuery,
  rangeQuery,
  rateBody,
  rateSchema,
  rejectBody,
  trialBalanceSchema,
} from './schemas';
import type { AccountingService } from './service';

const TAG = 'accounting';
const READ = { permission: 'accounting:read' } as const;
const POST = { permission: 'accounting:post' } as const;
const CLOSE = { permission: 'accounting:close' } as const;
const ADMIN = { permission: 'accounting:admin' } as const;
const periodParams = z.object({ start: isoDate }).strict();
const periodSchema = z.object({
  periodStart: z.string(),
  periodEnd: z.string(),
  status: z.enum(['open', 'locked', 'closed']),
  closedAt: z.string().nullable(),
  events: z.array(z.object({ action: z.enum(['lock', 'close', 'reopen']), fromStatus: z.string(), actor: z.string(), reason: z.string().nullable(), at: z.string() })),
});
const settingsSchema = z.object({ timeZone: z.string(), reportingCurrency: z.string().nullable() });
const periodMove = (accounting: AccountingService, action: 'lock' | 'close') =>
  route({
    method: 'post',
    path: `/api/accounting/periods/:start/${action}`,
    summary:
      action === 'lock'
        ? 'Lock a period: from now on only adjusting entries may be dated into it (waits for postings in flight)'
        : 'Close a period: nothing more may be dated into it; its balance snapshot is written (earlier periods first)',
    tag: TAG,
    access: CLOSE,
    params: periodParams,
    responses: {
      200: { description: 'The period, with its history', schema: periodSchema },
      404: { description: 'No period starts on that date', schema: null },
      409: { description: 'The period is closed, or an earlier one is still open', schema: null },
    },
    async handler(ctx, { params, principal }) {
      ctx.body = await accounting.movePeriod(principal!, params.start, action);
    },
  });
/** The reports also answer as a printable page (reply below). */
const PAGE = ['text/html'];
const HTML_NOTE = ' Add format=html (or send Accept: text/html) for a printable page.';

/** JSON unless the caller asks for the page: ?format=html, or an Accept header that prefers text/html. */
function wantsHtml(ctx: Context, format: 'json' | 'html' | undefined): boolean {
  return format === 'html' || (format === undefined && ctx.accepts('application/json', 'text/html') === 'text/html');
}

function reply<V>(ctx: Context, format: 'json' | 'html' | undefined, view: V, html: (v: V) => string) {
  ctx.vary('Accept');
  if (wantsHtml(ctx, format)) {
    ctx.set('Content-Security-Policy', REPORT_CSP);
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = html(view);
  } else {
    ctx.body = view;
  }
}

export function accountingRoutes(accounting: AccountingService): AnyRoute[] {
  return [
    route({
      method: 'get',
      path: '/api/accounting/periods',
      summary: 'Accounting periods (calendar months in the tenant’s time zone) with their status and history',
      tag: TAG,
      access: READ,
      query: z.object({ from: isoDate.optional(), to: isoDate.optional() }).strict(),
      responses: { 200: { description: 'Periods, oldest first', schema: z.object({ data: z.array(periodSchema) }) } },
      async handler(ctx, { query, principal }) {
        ctx.body = { data: await accounting.periods(principal!, query) };
      },
    }),
    periodMove(accounting, 'lock'),
    periodMove(accounting, 'close'),
    route({
      method: 'post',
      path: '/api/accounting/periods/:start/reopen',
      summary: 'Reopen a closed period (admin only, with a reason; audited): its snapshot and later ones are dropped',
      tag: TAG,
      access: ADMIN,
      params: periodParams,
      body: z.object({ reason: freeText(500, { min: 1 }) }).strict(),
      example: { body: { reason: 'supplier invoice received late' } },
      responses: {
        200: { description: 'The period, open again, with its history', schema: periodSchema },
        404: { description: 'No period starts on that date', schema: null },
        409: { description: 'The period is not closed', schema: null },
      },
      async handler(ctx, { params, body, principal }) {
        ctx.body = await accounting.movePeriod(principal!, params.start, 'reopen', body.reason);
      },
    }),
    route({
      method: 'get',
      path: '/api/accounting/settings',
      summary: 'The books’ time zone and reporting currency',
      tag: TAG,
      access: READ,
      responses: { 200: { description: 'Settings', schema: settingsSchema } },
      async handler(ctx, { principal }) {
        ctx.body = await accounting.settings(principal!);
      },
    }),
    route({
      method: 'patch',
      path: '/api/accounting/settings',
      summary: 'Change the books’ time zone (entries already posted keep their accounting date) or reporting currency (admin)',
      tag: TAG,
      access: ADMIN,
      body: z
        .object({ timeZone: timeZone.optional(), reportingCurrency: currency.optional() })
        .strict()
        .refine((b) => b.timeZone !== undefined || b.reportingCurrency !== undefined, 'name timeZone, reportingCurrency or both')
        .meta({ minProperties: 1 }),
      example: { body: { timeZone: 'Europe/Berlin', reportingCurrency: 'EUR' } },
      responses: { 200: { description: 'Settings', schema: settingsSchema } },
      async handler(ctx, { body, principal }) {
        ctx.body = await accounting.updateSettings(principal!, body);
      },
    }),
    route({
      method: 'get',
      path: '/api/accounting/accounts',
      summary: "The tenant's chart of accounts: system accounts and its own, with type, subtype and normal balance",
      tag: TAG,
      access: READ,
      responses: { 200: { description: 'The chart', schema: z.object({ data: z.array(accountSchema) }) } },
      async handler(ctx, { principal }) {
        ctx.body = { data: await accounting.accounts(principal!) };
      },
    }),
    route({
      method: 'post',
      path: '/api/accounting/accounts',
      summary: 'Add an account of the tenant (code NNNN-XXX, so no system account can ever take it)',
      tag: TAG,
      access: POST,
      body: createAccountBody,
      example: { body: { code: '6200-RENT', name: 'Office rent', type: 'expense', subtype: 'expense' } },
      responses: { 201: { description: 'Created', schema: accountSchema }, 409: { description: 'The code is taken', schema: null } },
      async handler(ctx, { body, principal }) {
        ctx.status = 201;
        ctx.body = await accounting.createAccount(principal!, body);
      },
    }),
    route({
      method: 'get',
      path: '/api/accounting/drafts',
      summary: 'Manual journal entry drafts, newest first (status=draft: waiting for a checker)',
      tag: TAG,
      access: READ,
      query: z.object({ status: z.enum(['draft', 'posted', 'rejected']).optional(), limit: z.coerce.number().int().min(1).max(200).default(50) }).strict(),
      responses: { 200: { description: 'Drafts', schema: z.object({ data: z.array(draftSchema) }) } },
      async handler(ctx, { query, principal }) {
        ctx.body = { data: await accounting.drafts(principal!, query) };
      },
    }),
    route({
      method: 'post',
      path: '/api/accounting/drafts',
      summary: 'Draft a manual journal entry (maker); it is posted only when another person approves it',
      tag: TAG,
      access: POST,
      body: createDraftBody,
      example: {
        body: {
          kind: 'adjusting',
          accountingDate: '2025-01-31',
          description: 'Accrue January bank interest',
          postings: [
            { accountCode: '1000', currency: 'EUR', amountMinor: 1234 },
            { accountCode: '4000', currency: 'EUR', amountMinor: -1234 },
          ],
        },
      },
      responses: { 201: { description: 'Drafted', schema: draftSchema }, 422: { description: 'An account does not exist in this tenant', schema: null } },
      async handler(ctx, { body, principal }) {
        ctx.status = 201;
        ctx.body = await accounting.createDraft(principal!, body);
      },
    }),
    route({
      method: 'post',
      path: '/api/accounting/drafts/:id/approve',
      summary: 'Approve a draft (checker): posts it as a manual entry made by its maker and approved by you',
      tag: TAG,
      access: POST,
      params: idParams,
      responses: {
        200: { description: 'Posted', schema: draftSchema },
        403: { description: 'You made this draft: another person must decide it (four eyes)', schema: null },
        404: { description: 'No such draft', schema: null },
        409: { description: 'Already decided, or its period is closed', schema: null },
      },
      async handler(ctx, { params, principal }) {
        ctx.body = await accounting.decideDraft(principal!, params.id, 'approve');
      },
    }),
    route({
      method: 'post',
      path: '/api/accounting/drafts/:id/reject',
      summary: 'Reject a draft (checker), with a reason',
      tag: TAG,
      access: POST,
      params: idParams,
      body: rejectBody,
      example: { body: { reason: 'wrong account' } },
      responses: {
        200: { description: 'Rejected', schema: draftSchema },
        403: { description: 'You made this draft (four eyes)', schema: null },
        404: { description: 'No such draft', schema: null },
        409: { description: 'Already decided', schema: null },
      },
      async handler(ctx, { params, body, principal }) {
        ctx.body = await accounting.decideDraft(principal!, params.id, 'reject', body.reason);
      },
    }),
    route({
      method: 'get',
      path: '/api/accounting/fx-rates',
      summary: 'Exchange rates, newest first',
      tag: TAG,
      access: READ,
      query: z.object({ base: currency.optional(), quote: currency.optional(), from: isoDate.optional(), to: isoDate.optional(), limit: z.coerce.number().int().min(1).max(1000).default(100) }).strict(),
      responses: { 200: { description: 'Rates', schema: z.object({ data: z.array(rateSchema) }) } },
      async handler(ctx, { query, principal }) {
        ctx.body = { data: await accounting.rates(principal!, query) };
      },
    }),
    route({
      method: 'put',
      path: '/api/accounting/fx-rates',
      summary: 'Set the rate of a currency pair on a date (1 base = rate quote); replaces that pair and date',
      tag: TAG,
      access: POST,
      body: rateBody,
      example: { body: { base: 'EUR', quote: 'JPY', date: '2025-01-31', rate: '160.25' } },
      responses: { 201: { description: 'Created', schema: z.object({ created: z.boolean() }) }, 200: { description: 'Replaced', schema: z.object({ created: z.boolean() }) } },
      async handler(ctx, { body, principal }) {
        const created = await accounting.putRate(principal!, body);
        ctx.status = created ? 201 : 200;
        ctx.body = { created };
      },
    }),
    route({
      method: 'post',
      path: '/api/accounting/fx-rates/import',
      summary: 'Load a CSV of rates (header base,quote,date,rate[,source]); all lines or none, bad lines named by number',
      tag: TAG,
      access: POST,
      body: importRatesBody,
      example: { body: { csv: 'base,quote,date,rate\nEUR,JPY,2025-01-31,160.25\nUSD,EUR,2025-01-31,0.9612\n' } },
      responses: { 201: { description: 'Imported', schema: z.object({ created: z.number().int(), updated: z.number().int() }) } },
      async handler(ctx, { body, principal }) {
        ctx.status = 201;
        ctx.body = await accounting.importRates(principal!, body.csv);
      },
    }),
    route({
      method: 'get',
      path: '/api/accounting/reports/trial-balance',
      summary: `Trial balance as of a date, per currency and consolidated (rounding on the rounding account).${HTML_NOTE}`,
      tag: TAG,
      access: READ,
      query: asOfQuery,
      responses: { 200: { description: 'The trial balance', schema: trialBalanceSchema, alsoAs: PAGE }, 422: { description: 'No exchange rate for a currency pair', schema: null } },
      async handler(ctx, { query, principal }) {
        reply(ctx, query.format, await accounting.trialBalance(principal!, query), trialBalanceHtml);
      },
    }),
    route({
      method: 'get',
      path: '/api/accounting/reports/balance-sheet',
      summary: `Balance sheet as of a date: assets = liabilities + equity + current earnings, checked.${HTML_NOTE}`,
      tag: TAG,
      access: READ,
      query: asOfQuery,
      responses: { 200: { description: 'The balance sheet', schema: balanceSheetSchema, alsoAs: PAGE }, 422: { description: 'No exchange rate for a currency pair', schema: null } },
      async handler(ctx, { query, principal }) {
        reply(ctx, query.format, await accounting.balanceSheet(principal!, query), balanceSheetHtml);
      },
    }),
    route({
      method: 'get',
      path: '/api/accounting/reports/income-statement',
      summary: `Income statement for from..to (closing entries left out).${HTML_NOTE}`,
      tag: TAG,
      access: READ,
      query: rangeQuery,
      responses: { 200: { description: 'The income statement', schema: incomeStatementSchema, alsoAs: PAGE }, 422: { description: 'No exchange rate for a currency pair', schema: null } },
      async handler(ctx, { query, principal }) {
        reply(ctx, query.format, await accounting.incomeStatement(principal!, query), incomeStatementHtml);
      },
    }),
    route({
      method: 'get',
      path: '/api/accounting/reports/cash-summary',
      summary: `Cash accounts for from..to: opening, inflows, outflows, closing.${HTML_NOTE}`,
      tag: TAG,
      access: READ,
      query: rangeQuery,
      responses: { 200: { description: 'The cash summary', schema: cashSummarySchema, alsoAs: PAGE }, 422: { description: 'No exchange rate for a currency pair', schema: null } },
      async handler(ctx, { query, principal }) {
        reply(ctx, query.format, await accounting.cashSummary(principal!, query), cashSummaryHtml);
      },
    }),
    route({
      method: 'get',
      path: '/api/accounting/reports/accounts/:id/ledger',
      summary: `One account's postings for from..to with the running balance, opening balance first.${HTML_NOTE}`,
      tag: TAG,
      access: READ,
      params: idParams,
      query: ledgerQuery,
      responses: { 200: { description: 'The account ledger', schema: accountLedgerSchema, alsoAs: PAGE }, 404: { description: 'No such account', schema: null } },
      async handler(ctx, { params, query, principal }) {
        reply(ctx, query.format, await accounting.accountLedger(principal!, params.id, query), accountLedgerHtml);
      },
    }),
    route({
      method: 'get',
      path: '/api/accounting/reports/journal',
      summary: `Journal entries of from..to in accounting-date order with their postings, maker and checker; cursor paginated.${HTML_NOTE}`,
      tag: TAG,
      access: READ,
      query: journalQuery,
      responses: { 200: { description: 'A page of the journal', schema: journalSchema, alsoAs: PAGE } },
      async handler(ctx, { query, principal }) {
        const view = await accounting.journal(principal!, query);
        const next = view.nextCursor ? `${ctx.path}?${new URLSearchParams({ from: query.from, to: query.to, limit: String(query.limit), cursor: view.nextCursor, format: 'html' })}` : null;
        reply(ctx, query.format, view, (v) => journalHtml(v, next));
      },
    }),
    route({
      method: 'get',
      path: '/api/accounting/reports/journal.csv',
      summary: 'General ledger export for from..to: text/csv, one line per posting (amount_minor: debit positive)',
      tag: TAG,
      access: READ,
      query: journalCsvQuery,
      responses: { 200: { description: 'text/csv', schema: null } },
      async handler(ctx, { query, principal }) {
        const csv = await accounting.journalCsv(principal!, query);
        ctx.type = 'text/csv; charset=utf-8';
        ctx.set('Content-Disposition', `attachment; filename="journal-${query.from}-${query.to}.csv"`);
        ctx.body = csv;
      },
    }),
  ];
}
