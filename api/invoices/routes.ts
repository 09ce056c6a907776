import type { Context } from 'koa';
import { z } from 'zod';
import { dateOf } from '../../core/invoices';
import { route, type AnyRoute } from '../routing';
import { ageingHtml, REPORT_CSP } from './html';
import { ageingQuery, ageingReport, createInvoiceBody, creditNoteBody, dunningPolicy, invoice, listQuery, paymentBody, reasonBody, updateDraftBody } from './schemas';
import type { InvoicesService } from './service';

const TAG = 'invoices';
const READ = { permission: 'invoices:read' } as const;
const WRITE = { permission: 'invoices:write' } as const;
const idParams = z.object({ id: z.string().uuid() }).strict();
const keyHeader = z.object({ 'idempotency-key': z.string().regex(/^[A-Za-z0-9._:-]{1,255}$/, '1 to 255 characters of [A-Za-z0-9._:-]') });
const one = (description: string) => ({ 200: { description, schema: invoice } });
const refusals = {
  404: { description: 'No such invoice in this tenant', schema: null },
  409: { description: 'Not possible in the invoice’s state (the problem says why)', schema: null },
  422: { description: 'Refused by the invoice’s rules (over the outstanding amount, invalid lines)', schema: null },
};
const example = { customerId: 'cus_42', currency: 'EUR', terms: 'net_30', lines: [{ description: 'Consulting, March', quantity: 2, unitPriceMinor: 50000, taxRateBp: 1900 }] };

function sendHtml(ctx: Context, html: string) {
  ctx.vary('Accept');
  ctx.set('Content-Security-Policy', REPORT_CSP);
  ctx.type = 'text/html; charset=utf-8';
  ctx.body = html;
}

export function invoiceRoutes(invoices: InvoicesService): AnyRoute[] {
  return [
    route({
      method: 'post',
      path: '/api/invoices',
      summary: 'Create a draft invoice (its InvoiceLifecycle starts). The same Idempotency-Key with the same body finds the same draft.',
      tag: TAG,
      access: WRITE,
      headers: keyHeader,
      body: createInvoiceBody,
      example: { body: example },
      responses: { 201: { description: 'The draft', schema: invoice }, 200: { description: 'The draft this key already created', schema: invoice }, 422: { description: 'The key was used with another request', schema: null } },
      async handler(ctx, { headers, body, principal }) {
        const { invoice: v, created } = await invoices.create(principal!, headers['idempotency-key'], body);
        ctx.status = created ? 201 : 200;
        ctx.set('Location', `/api/invoices/${v.id}`);
        ctx.body = v;
      },
    }),
    route({
      method: 'get',
      path: '/api/invoices',
      summary: 'List invoices, newest first, filtered by status, customer and due date (before/after, exclusive), with cursor pagination',
      tag: TAG,
      access: READ,
      query: listQuery,
      responses: { 200: { description: 'A page of invoices', schema: z.object({ data: z.array(invoice), nextCursor: z.string().nullable() }) } },
      async handler(ctx, { query, principal }) {
        ctx.body = await invoices.list(principal!, query);
      },
    }),
    route({
      method: 'get',
      path: '/api/invoices/ageing',
      summary: 'Receivables ageing: what customers owe by days past due (current, 1-30, 31-60, 61-90, 90+), per customer and in total, per currency. format=html (or Accept: text/html) for a printable page.',
      tag: TAG,
      access: READ,
      query: ageingQuery,
      responses: { 200: { description: 'The ageing report (JSON, or the HTML page)', schema: ageingReport, alsoAs: ['text/html'] } },
      async handler(ctx, { query, principal }) {
        const { report, tenantName } = await invoices.ageing(principal!, query.asOf ?? dateOf(Date.now()));
        const html = query.format === 'html' || (query.format === undefined && ctx.accepts('application/json', 'text/html') === 'text/html');
        if (html) sendHtml(ctx, ageingHtml(report, tenantName));
        else ctx.body = report;
      },
    }),
    route({
      method: 'get',
      path: '/api/invoices/dunning-policy',
      summary: 'The tenant’s dunning policy: reminder offsets from the due date, in days',
      tag: TAG,
      access: READ,
      responses: { 200: { description: 'The policy (the platform default until one is set)', schema: dunningPolicy } },
      async handler(ctx, { principal }) {
        ctx.body = await invoices.dunningPolicy(principal!);
      },
    }),
    route({
      method: 'put',
      path: '/api/invoices/dunning-policy',
      summary: 'Set the dunning policy; invoices issued from then on follow it',
      tag: TAG,
      access: WRITE,
      body: dunningPolicy,
      example: { body: { offsetsDays: [-3, 1, 7, 14] } },
      responses: { 200: { description: 'The policy', schema: dunningPolicy } },
      async handler(ctx, { body, principal }) {
        ctx.body = await invoices.setDunningPolicy(principal!, body);
      },
    }),
    route({
      method: 'get',
      path: '/api/invoices/:id',
      summary: 'An invoice',
      tag: TAG,
      access: READ,
      params: idParams,
      responses: { ...one('The invoice'), 404: refusals[404] },
      async handler(ctx, { params, principal }) {
        ctx.body = await invoices.get(principal!, params.id);
      },
    }),
    route({
      method: 'get',
      path: '/api/invoices/:id/document',
      summary: 'The issued invoice as a printable HTML page',
      tag: TAG,
      access: READ,
      params: idParams,
      responses: { 200: { description: 'The HTML document', schema: null }, 404: refusals[404], 409: { description: 'A draft has no document', schema: null } },
      async handler(ctx, { params, principal }) {
        sendHtml(ctx, await invoices.document(principal!, params.id));
      },
    }),
    route({
      method: 'patch',
      path: '/api/invoices/:id',
      summary: 'Edit a draft (lines are replaced as a whole)',
      tag: TAG,
      access: WRITE,
      params: idParams,
      body: updateDraftBody,
      example: { body: { note: 'Payable by bank transfer' } },
      responses: { ...one('The draft'), ...refusals },
      async handler(ctx, { params, body, principal }) {
        ctx.body = await invoices.updateDraft(principal!, params.id, body);
      },
    }),
    route({
      method: 'post',
      path: '/api/invoices/:id/issue',
      summary: 'Issue the draft: numbered by the database (gapless per series), booked (receivable vs revenue and tax payable), invoice.created, its document',
      tag: TAG,
      access: WRITE,
      params: idParams,
      responses: { ...one('The issued invoice'), ...refusals },
      async handler(ctx, { params, principal }) {
        ctx.body = await invoices.issue(principal!, params.id);
      },
    }),
    route({
      method: 'post',
      path: '/api/invoices/:id/void',
      summary: 'Void a draft, or an issued invoice nothing was paid or credited on (the issue entry is reversed)',
      tag: TAG,
      access: WRITE,
      params: idParams,
      body: reasonBody.optional(),
      example: { body: { reason: 'issued by mistake' } },
      responses: { ...one('The void invoice'), ...refusals },
      async handler(ctx, { params, body, principal }) {
        ctx.body = await invoices.void(principal!, params.id, body?.reason);
      },
    }),
    route({
      method: 'post',
      path: '/api/invoices/:id/write-off',
      summary: 'Write an overdue invoice’s outstanding balance off to bad-debt expense',
      tag: TAG,
      access: WRITE,
      params: idParams,
      body: reasonBody.optional(),
      example: { body: { reason: 'customer insolvent' } },
      responses: { ...one('The written-off invoice'), ...refusals },
      async handler(ctx, { params, body, principal }) {
        ctx.body = await invoices.writeOff(principal!, params.id, body?.reason);
      },
    }),
    route({
      method: 'post',
      path: '/api/invoices/:id/payments',
      summary: 'Record a payment received (bank transfer, cash): never more than outstanding; the same Idempotency-Key pays once',
      tag: TAG,
      access: WRITE,
      params: idParams,
      headers: keyHeader,
      body: paymentBody,
      example: { body: { amountMinor: 50000, method: 'bank_transfer', reference: 'BANK-2026-0042' } },
      responses: { ...one('The invoice after the payment'), ...refusals },
      async handler(ctx, { params, headers, body, principal }) {
        ctx.body = await invoices.recordPayment(principal!, params.id, headers['idempotency-key'], body);
      },
    }),
    route({
      method: 'post',
      path: '/api/invoices/:id/credit-notes',
      summary: 'Issue a credit note: revenue and tax reversed pro rata; beyond what is owed, the customer’s credit balance or (settlement refund) a refund of the card payment(s)',
      tag: TAG,
      access: WRITE,
      params: idParams,
      headers: keyHeader,
      body: creditNoteBody,
      example: { body: { amountMinor: 10000, reason: 'returned goods' } },
      responses: { ...one('The invoice after the credit note'), ...refusals },
      async handler(ctx, { params, headers, body, principal }) {
        ctx.body = await invoices.creditNote(principal!, params.id, headers['idempotency-key'], body);
      },
    }),
    route({
      method: 'post',
      path: '/api/invoices/:id/apply-credit',
      summary: 'Pay the invoice from the customer’s credit balance in its currency (as much as both allow)',
      tag: TAG,
      access: WRITE,
      params: idParams,
      headers: keyHeader,
      responses: { ...one('The invoice after it'), ...refusals },
      async handler(ctx, { params, headers, principal }) {
        ctx.body = await invoices.applyCredit(principal!, params.id, headers['idempotency-key']);
      },
    }),
  ];
}
