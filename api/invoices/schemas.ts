/** The invoice routes' request and response schemas (zod, strict), beside the routes. */
import { z } from 'zod';
import { AGEING_BUCKETS, lineProblem, MAX_LINES, MAX_QUANTITY, MAX_TAX_RATE_BP } from '../../core/invoices';
import { CURRENCIES, MAX_AMOUNT_MINOR } from '../../core/money';
import { INVOICE_STATUSES } from '../../modules/invoices';
import { isoDate } from '../accounting/schemas';
import { documentedRules, freeText } from '../schemas';

export const amountMinor = z.number().int('must be an integer number of minor units').min(1).max(MAX_AMOUNT_MINOR);
const customerId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'an opaque id of [A-Za-z0-9_-] (no personal data)');
const terms = z.string().regex(/^net_([0-9]|[1-9][0-9]|[1-2][0-9][0-9]|3[0-5][0-9]|36[0-5])$/, 'net_<days>, from net_0 to net_365');

/** Said the same in the refusal and in the document, so a client (and the document's test) can tell it is this rule. */
const TOTAL_RULE = `the invoice total (lines with their tax) is at most ${MAX_AMOUNT_MINOR} minor units`;

export const line = z
  .object({
    description: freeText(500, { min: 1 }),
    quantity: z.number().int().min(1).max(MAX_QUANTITY),
    unitPriceMinor: z.number().int('must be an integer number of minor units').min(0).max(MAX_AMOUNT_MINOR),
    taxRateBp: z.number().int().min(0).max(MAX_TAX_RATE_BP).describe('Tax rate in basis points: 1900 = 19 %'),
  })
  .strict();

export const createInvoiceBody = z
  .object({
    customerId,
    currency: z.enum(CURRENCIES),
    lines: z
      .array(line)
      .min(1)
      .max(MAX_LINES)
      // Each line within bounds can still add up past what an amount may be (the totals refuse it: was a 500).
      .refine((ls) => lineProblem(ls) === undefined, TOTAL_RULE)
      .meta(documentedRules(TOTAL_RULE)),
    terms: terms.optional(),
    dueDate: isoDate.optional().describe('Overrides terms'),
    note: freeText(1000).optional(),
    series: z.string().regex(/^[A-Z0-9]{1,16}$/).optional().describe('Numbering series (default INV): numbers are gapless per series'),
  })
  .strict();

export const updateDraftBody = createInvoiceBody
  .omit({ series: true })
  .partial()
  .strict()
  .refine((b) => Object.keys(b).length > 0, 'send at least one field to change')
  .meta({ minProperties: 1 });

export const invoice = z.object({
  id: z.string().uuid(),
  number: z.string().nullable().describe('INV-000042 once issued'),
  series: z.string(),
  status: z.enum(INVOICE_STATUSES),
  customerId: z.string(),
  currency: z.string(),
  terms: z.string().nullable(),
  issueDate: z.string().nullable(),
  dueDate: z.string().nullable(),
  note: z.string().nullable(),
  lines: z.array(line.extend({ netMinor: z.number().int() })),
  subtotalMinor: z.number().int(),
  taxMinor: z.number().int().describe('Rounded half up, once per invoice'),
  totalMinor: z.number().int(),
  paidMinor: z.number().int(),
  creditedMinor: z.number().int(),
  creditedToBalanceMinor: z.number().int(),
  writtenOffMinor: z.number().int(),
  outstandingMinor: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

export const listQuery = z
  .object({
    status: z.enum(INVOICE_STATUSES).optional(),
    customerId: customerId.optional(),
    dueBefore: isoDate.optional(),
    dueAfter: isoDate.optional(),
    limit: z.coerce.number().int().min(1).max(100).default(20),
    cursor: z.string().max(500).optional(),
  })
  .strict();

export const paymentBody = z.object({ amountMinor, method: z.enum(['bank_transfer', 'cash']), reference: z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/).optional() }).strict();
export const creditNoteBody = z
  .object({
    amountMinor,
    settlement: z
      .enum(['customer_credit', 'refund'])
      .default('customer_credit')
      .describe(
        'What the credit exceeds the amount still owed by (a paid invoice): the customer’s credit balance (default), or refunded to the card payment(s) of this invoice through the refund workflow; a refund that is refused (more than was paid by card and not yet refunded, the provider declined) issues no credit note (422)',
      ),
    reason: freeText(500).optional(),
  })
  .strict();
export const reasonBody = z.object({ reason: freeText(500).optional() }).strict();
export const dunningPolicy = z
  .object({
    offsetsDays: z
      .array(z.number().int().min(-60).max(365))
      .max(10)
      .refine((o) => new Set(o).size === o.length, 'offsets must be distinct')
      .meta(documentedRules('offsets must be distinct')),
  })
  .strict()
  .describe('Reminders at these offsets from the due date, in days (negative: before it)');

const buckets = z.object(Object.fromEntries([...AGEING_BUCKETS.map((b) => [b, z.number().int()]), ['totalMinor', z.number().int()]]));
export const ageingQuery = z.object({ asOf: isoDate.optional().describe('Default: today (UTC)'), format: z.enum(['json', 'html']).optional() }).strict();
export const ageingReport = z.object({
  asOf: z.string(),
  currencies: z.array(z.object({ currency: z.string(), customers: z.array(buckets.extend({ customerId: z.string() })), total: buckets })),
});
