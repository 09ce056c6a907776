import { z } from 'zod';
import { REPAYMENT_STATUS_MAX, REPAYMENT_STATUS_MIN, PROFILE_MONTHS, MODEL_CURRENCY } from '../../core/credit/features';
import { CURRENCIES, MAX_AMOUNT_MINOR } from '../../core/money';
import { documentedRules, freeText, text } from '../schemas';
import { route, type AnyRoute } from '../routing';
import { answerUpdate, UPDATE_NOT_TAKEN } from '../workflow-updates';
import type { CreditService } from './service';

const TAG = 'credit';
const idempotencyKey = z.string().regex(/^[A-Za-z0-9._:-]{1,255}$/, '1 to 255 characters of [A-Za-z0-9._:-]');
/** Profile amounts: whole minor units, within what the model's float32 input holds exactly. */
const PROFILE_AMOUNT_MAX = 10_000_000_000;
const int = (what: string) => z.number({ error: `must be a number (${what})` }).int('must be a whole number');
const months = <T extends z.ZodType>(item: T, what: string) =>
  z.array(item).length(PROFILE_MONTHS, `${what}: exactly ${PROFILE_MONTHS} months, most recent first`);
const name = text(100, { min: 1 });
const BIRTH_DATE_RULE = 'a date between 1900-01-01 and today';

export const applicantSchema = z
  .object({
    givenName: name,
    familyName: name,
    dateOfBirth: z.iso
      .date('an ISO date, YYYY-MM-DD')
      .refine((d) => d >= '1900-01-01' && d <= new Date().toISOString().slice(0, 10), BIRTH_DATE_RULE)
      .meta(documentedRules(BIRTH_DATE_RULE)),
    nationalId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9 .-]{3,31}$/, '4 to 32 letters, digits, spaces, dots or dashes'),
    country: z.string().regex(/^[A-Z]{2}$/, 'an ISO 3166-1 alpha-2 country code'),
    address: z
      .object({
        line1: text(200, { min: 1 }),
        line2: text(200).optional(),
        city: text(100, { min: 1 }),
        postalCode: z.string().regex(/^[A-Za-z0-9 -]{2,12}$/, '2 to 12 letters, digits, spaces or dashes'),
      })
      .strict(),
  })
  .strict();

export const creditProfileSchema = z
  .object({
    currency: z.literal(MODEL_CURRENCY, { error: `the credit model scores New Taiwan dollar profiles: must be ${MODEL_CURRENCY}` }),
    creditLimitMinor: int('minor units').min(1, 'a credit limit is positive').max(PROFILE_AMOUNT_MAX),
    repaymentStatus: months(
      int('repayment status code').min(REPAYMENT_STATUS_MIN, 'a code from -2 to 9').max(REPAYMENT_STATUS_MAX, 'a code from -2 to 9'),
      'repayment status codes (-2 no use, -1 paid in full, 0 minimum paid, 1..9 months late)',
    ),
    billAmountsMinor: months(int('minor units').min(-PROFILE_AMOUNT_MAX).max(PROFILE_AMOUNT_MAX), 'statement balances'),
    paymentAmountsMinor: months(int('minor units').min(0, 'a payment is never negative').max(PROFILE_AMOUNT_MAX), 'amounts paid'),
  })
  .strict();

export const submitApplicationBody = z
  .object({
    applicant: applicantSchema,
    creditProfile: creditProfileSchema,
    requestedLimit: z.object({ amountMinor: int('minor units').min(1).max(MAX_AMOUNT_MINOR), currency: z.enum(CURRENCIES) }).strict(),
  })
  .strict();

const reasonSchema = z.object({ code: z.string(), text: z.string() });
const application = z.object({
  id: z.string().uuid(),
  status: z.enum(['submitted', 'kyc', 'scoring', 'in_review', 'escalated', 'approved', 'declined']),
  decision: z.enum(['approved', 'declined']).nullable(),
  decidedBy: z.enum(['auto', 'underwriter', 'kyc', 'review_timeout']).nullable(),
  probabilityOfDefault: z.number().nullable(),
  modelVersion: z.string().nullable(),
  reasons: z.array(reasonSchema),
  requestedLimit: z.object({ amountMinor: z.number().int(), currency: z.string() }),
  approvedLimitMinor: z.number().int().nullable(),
  creditLine: z.object({ id: z.string().uuid(), limitMinor: z.number().int(), drawnMinor: z.number().int(), currency: z.string(), status: z.string() }).nullable(),
  creditProfile: creditProfileSchema,
  createdAt: z.string(),
  decidedAt: z.string().nullable(),
});
const idParams = z.object({ id: z.string().uuid() }).strict();

export const EXAMPLE_APPLICATION = {
  applicant: {
    givenName: 'Mei',
    familyName: 'Lin',
    dateOfBirth: '1988-04-12',
    nationalId: 'A123456789',
    country: 'TW',
    address: { line1: '7 Xinyi Road', city: 'Taipei', postalCode: '110' },
  },
  creditProfile: {
    currency: 'TWD',
    creditLimitMinor: 20_000_000,
    repaymentStatus: [-1, -1, 0, 0, -1, -1],
    billAmountsMinor: [1_500_000, 1_200_000, 900_000, 850_000, 400_000, 300_000],
    paymentAmountsMinor: [1_200_000, 900_000, 850_000, 400_000, 300_000, 250_000],
  },
  requestedLimit: { amountMinor: 5_000_000, currency: 'TWD' },
};

export function creditRoutes(credit: CreditService): AnyRoute[] {
  return [
    route({
      method: 'post',
      path: '/api/credit/applications',
      summary: 'Submit a credit application. Answers with the decision when it is automatic and quick, else 202.',
      tag: TAG,
      access: { permission: 'credit:apply' },
      headers: z.object({ 'idempotency-key': idempotencyKey }),
      body: submitApplicationBody,
      example: { body: EXAMPLE_APPLICATION },
      responses: {
        201: { description: 'Decided, or waiting for an underwriter', schema: application },
        202: { description: 'Still being checked and scored: poll the Location', schema: application },
        422: { description: 'The Idempotency-Key was used with a different request', schema: null },
      },
      async handler(ctx, { headers, body, principal }) {
        const { application: a, settled } = await credit.submit(principal!, headers['idempotency-key'], body);
        ctx.status = settled ? 201 : 202;
        ctx.set('Location', `/api/credit/applications/${a.id}`);
        ctx.body = a;
      },
    }),
    route({
      method: 'get',
      path: '/api/credit/applications',
      summary: 'List applications, newest first: your own, or all of the tenant with credit:read-all (the review queue: status=in_review)',
      tag: TAG,
      access: { permission: 'credit:read' },
      query: z
        .object({
          status: application.shape.status.optional(),
          limit: z.coerce.number().int().min(1).max(100).default(20),
          cursor: z.string().max(500).optional(),
        })
        .strict(),
      responses: { 200: { description: 'A page of applications', schema: z.object({ data: z.array(application), nextCursor: z.string().nullable() }) } },
      async handler(ctx, { query, principal }) {
        ctx.body = await credit.list(principal!, query);
      },
    }),
    route({
      method: 'get',
      path: '/api/credit/applications/:id',
      summary: 'An application: status, decision, reasons and model version',
      tag: TAG,
      access: { permission: 'credit:read' },
      params: idParams,
      responses: { 200: { description: 'The application', schema: application }, 404: { description: 'No such application visible to you', schema: null } },
      async handler(ctx, { params, principal }) {
        ctx.body = await credit.get(principal!, params.id);
      },
    }),
    route({
      method: 'get',
      path: '/api/credit/applications/:id/applicant',
      summary:
        "The applicant's identity (name, date of birth, country, address; never the national id, kept only as a keyed hash), for a reader of every application. Stored encrypted; after an erasure only erasedAt",
      tag: TAG,
      access: { permission: 'credit:read-all' },
      params: idParams,
      responses: {
        200: {
          description: 'The applicant, or when it was erased',
          schema: z.object({
            givenName: z.string().optional(),
            familyName: z.string().optional(),
            dateOfBirth: z.string().optional(),
            country: z.string().optional(),
            address: z.object({ line1: z.string(), line2: z.string().optional(), city: z.string(), postalCode: z.string() }).optional(),
            erasedAt: z.string().nullable(),
          }),
        },
        404: { description: 'No such application', schema: null },
      },
      async handler(ctx, { params, principal }) {
        ctx.body = await credit.applicant(principal!, params.id);
      },
    }),
    route({
      method: 'post',
      path: '/api/credit/applications/:id/decision',
      summary: "An underwriter's decision on an application in review; an approval may grant less than requested",
      tag: TAG,
      access: { permission: 'credit:decide' },
      params: idParams,
      // Two shapes, not one shape and a rule, so the document says it too: only an approval carries a limit.
      body: z.discriminatedUnion('decision', [
        z.object({ decision: z.literal('approve'), approvedLimitMinor: int('minor units').min(1).max(MAX_AMOUNT_MINOR).optional() }).strict(),
        z.object({ decision: z.literal('decline') }).strict(),
      ]),
      example: { body: { decision: 'approve', approvedLimitMinor: 3_000_000 } },
      responses: {
        200: { description: 'The decided application', schema: application },
        202: { description: 'A worker took the decision; it is still being recorded (read the application for its outcome)', schema: application },
        409: { description: 'Not in review', schema: null },
        503: { description: UPDATE_NOT_TAKEN, schema: null },
      },
      async handler(ctx, { params, body, principal }) {
        const { application: decided, applied } = await credit.decide(principal!, params.id, body);
        answerUpdate(ctx, decided, applied);
      },
    }),
    route({
      method: 'post',
      path: '/api/credit/deny-list',
      summary: 'Refuse an identity at KYC from now on (stored as a keyed hash of country and national id)',
      tag: TAG,
      access: { permission: 'credit:manage' },
      body: z
        .object({ country: applicantSchema.shape.country, nationalId: applicantSchema.shape.nationalId, reason: freeText(200, { min: 1 }) })
        .strict(),
      example: { body: { country: 'TW', nationalId: 'Z999999999', reason: 'confirmed identity fraud' } },
      responses: {
        201: { description: 'Listed', schema: z.object({ id: z.string().uuid() }) },
        200: { description: 'Already listed', schema: z.object({ id: z.string().uuid() }) },
      },
      async handler(ctx, { body, principal }) {
        const { id, created } = await credit.denyIdentity(principal!, body);
        ctx.status = created ? 201 : 200;
        ctx.body = { id };
      },
    }),
    route({
      method: 'delete',
      path: '/api/credit/deny-list/:id',
      summary: 'Remove a deny-list entry',
      tag: TAG,
      access: { permission: 'credit:manage' },
      params: idParams,
      responses: { 204: { description: 'Removed', schema: null }, 404: { description: 'No such entry', schema: null } },
      async handler(ctx, { params, principal }) {
        await credit.removeDenied(principal!, params.id);
        ctx.status = 204;
      },
    }),
  ];
}
