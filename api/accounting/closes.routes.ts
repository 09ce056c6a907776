/**
 * The period close over HTTP (finance): start a close, follow it, sign it off, list closes and download a closed
 * month's statements (JSON, HTML, CSV); an admin reopens a closed month, which runs the close again.
 */
import { z } from 'zod';
import { route, type AnyRoute } from '../routing';
import { UPDATE_NOT_TAKEN } from '../workflow-updates';
import { freeText } from '../schemas';
import { REPORT_CSP } from './html';
import { closeStatementsCsv, closeStatementsHtml } from './close-statements';
import type { PeriodCloseService } from './closes.service';
import { isoDate } from './schemas';

const TAG = 'accounting';
const READ = { permission: 'accounting:read' } as const;
const CLOSE = { permission: 'accounting:close' } as const;
const ADMIN = { permission: 'accounting:admin' } as const;

/** A month by its first day, 1900 on: a pattern the document states as it is checked. */
const monthStart = z.string().regex(/^(19|[2-9][0-9])[0-9]{2}-(0[1-9]|1[0-2])-01$/, 'the first day of a month, YYYY-MM-01');
const params = z.object({ start: monthStart }).strict();
const startBody = z.object({ periodStart: monthStart }).strict();

const closeView = z.object({
  periodStart: z.string(),
  periodEnd: z.string(),
  run: z.number().int(),
  workflowId: z.string(),
  trigger: z.enum(['schedule', 'manual', 'reopen']),
  startedBy: z.string(),
  status: z.enum(['running', 'awaiting_sign_off', 'closed']),
  escalatedAt: z.string().nullable(),
  signedOffBy: z.string().nullable(),
  signedOffAt: z.string().nullable(),
  yearEnd: z.boolean(),
  startedAt: z.string(),
  closedAt: z.string().nullable(),
  trialBalance: z.array(z.object({ currency: z.string(), debitMinor: z.number().int(), creditMinor: z.number().int(), balanced: z.boolean() })),
});
const progress = z.object({
  step: z.string(),
  periodStart: z.string().nullable(),
  periodEnd: z.string().nullable(),
  run: z.number().int().nullable(),
  startedBy: z.string(),
  escalated: z.boolean(),
  signOffDueAt: z.string().nullable(),
  signedOffBy: z.string().nullable(),
});
const started = z.object({ workflowId: z.string(), periodStart: z.string(), progress: progress.passthrough().nullable() });

export function periodCloseRoutes(closes: PeriodCloseService): AnyRoute[] {
  return [
    route({
      method: 'get',
      path: '/api/accounting/closes',
      summary: 'Closes of periods, newest first, each with its trial balance totals',
      tag: TAG,
      access: READ,
      query: z.object({ from: isoDate.optional(), to: isoDate.optional(), limit: z.coerce.number().int().min(1).max(120).default(24) }).strict(),
      responses: { 200: { description: 'Closes', schema: z.object({ data: z.array(closeView) }) } },
      async handler(ctx, { query, principal }) {
        ctx.body = { data: await closes.list(principal!, query) };
      },
    }),
    route({
      method: 'post',
      path: '/api/accounting/closes',
      summary: 'Start closing a month now (a person: soft lock, FX revaluation, statements, then a sign-off by someone else in finance)',
      tag: TAG,
      access: CLOSE,
      body: startBody,
      example: { body: { periodStart: '2025-01-01' } },
      responses: {
        202: { description: 'Started: follow it at GET /api/accounting/closes/{start}', schema: started },
        409: { description: 'The month is closed, a close of it is running, or an earlier month is still open (months close in order: reason earlier-period-open)', schema: null },
        422: { description: 'The month has not ended', schema: null },
      },
      async handler(ctx, { body, principal }) {
        ctx.status = 202;
        ctx.body = await closes.start(principal!, body.periodStart);
      },
    }),
    route({
      method: 'get',
      path: '/api/accounting/closes/:start',
      summary: "A month's latest close, with its progress (the workflow's query) while it runs",
      tag: TAG,
      access: READ,
      params,
      responses: {
        200: { description: 'The close', schema: closeView.extend({ fxRevaluation: z.unknown(), progress: progress.passthrough().nullable() }) },
        404: { description: 'No close of that month', schema: null },
      },
      async handler(ctx, { params: p, principal }) {
        ctx.body = await closes.get(principal!, p.start);
      },
    }),
    route({
      method: 'post',
      path: '/api/accounting/closes/:start/sign-off',
      summary: 'Sign off the statements of a close (finance; never the person who started it); the month is then closed',
      tag: TAG,
      access: CLOSE,
      params,
      responses: {
        200: { description: 'Signed off: the close goes on to the hard lock', schema: progress.passthrough() },
        404: { description: 'No close of that month', schema: null },
        409: { description: 'Nothing to sign off, or the caller may not sign this close off (who started it; not finance)', schema: null },
        503: { description: UPDATE_NOT_TAKEN, schema: null },
      },
      async handler(ctx, { params: p, principal }) {
        ctx.body = await closes.signOff(principal!, p.start);
      },
    }),
    route({
      method: 'post',
      path: '/api/accounting/closes/:start/reopen',
      summary: 'Reopen a closed month (admin, with a reason; audited) and run its close again',
      tag: TAG,
      access: ADMIN,
      params,
      body: z.object({ reason: freeText(500, { min: 1 }) }).strict(),
      example: { body: { reason: 'late supplier invoice' } },
      responses: {
        202: { description: 'Reopened: the close runs again', schema: started },
        409: { description: 'The month is not closed', schema: null },
      },
      async handler(ctx, { params: p, body, principal }) {
        ctx.status = 202;
        ctx.body = await closes.reopen(principal!, p.start, body.reason);
      },
    }),
    route({
      method: 'get',
      path: '/api/accounting/closes/:start/statements',
      summary: "A closed month's statements as signed off: JSON, a printable page (format=html) or CSV (format=csv)",
      tag: TAG,
      access: READ,
      params,
      query: z.object({ format: z.enum(['json', 'html', 'csv']).default('json') }).strict(),
      responses: {
        200: { description: 'The statements snapshot', schema: z.object({ periodStart: z.string(), run: z.number().int(), signedOffBy: z.string().nullable(), statements: z.unknown() }) },
        404: { description: 'No close of that month', schema: null },
        409: { description: 'The close is not finished', schema: null },
      },
      async handler(ctx, { params: p, query, principal }) {
        const close = await closes.statements(principal!, p.start);
        if (query.format === 'html') {
          ctx.set('Content-Security-Policy', REPORT_CSP);
          ctx.type = 'text/html; charset=utf-8';
          ctx.body = closeStatementsHtml(close);
        } else if (query.format === 'csv') {
          ctx.type = 'text/csv; charset=utf-8';
          ctx.set('Content-Disposition', `attachment; filename="statements-${p.start}-run${close.run}.csv"`);
          ctx.body = closeStatementsCsv(close);
        } else {
          ctx.body = { periodStart: close.periodStart, periodEnd: close.periodEnd, run: close.run, signedOffBy: close.signedOffBy, closedAt: close.closedAt, statements: close.statements };
        }
      },
    }),
  ];
}
