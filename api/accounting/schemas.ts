/** Request and response schemas of the accounting routes (strict: unknown fields are refused). */
import { z } from 'zod';
import { ACCOUNT_TYPES, RATE_PATTERN, SUBTYPES, isIsoDate, isValidRate, subtypeFits } from '../../core/accounting';
import { CURRENCIES, MAX_AMOUNT_MINOR } from '../../core/money';
import { documentedRules, freeText } from '../schemas';

const CALENDAR_DATE = 'a calendar date, YYYY-MM-DD (from 1900 on)';
/**
 * A calendar date from 1900 on (isIsoDate) as one pattern, leap years included, so the document states exactly what
 * is taken (checked equal to isIsoDate for every YYYY-MM-DD of years 1800-9999).
 */
const CALENDAR_DATE_PATTERN =
  /^(?:(?:19|[2-9][0-9])[0-9]{2}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8]))|(?:(?:19|[2-9][0-9])(?:0[48]|[2468][048]|[13579][26])|(?:[2468][048]|[3579][26])00)-02-29)$/;
export const isoDate = z
  .string()
  .regex(CALENDAR_DATE_PATTERN, { message: CALENDAR_DATE, abort: true })
  .refine(isIsoDate, CALENDAR_DATE)
  .meta({ format: 'date' });
export const currency = z.enum(CURRENCIES, { error: 'an ISO 4217 currency code FinFlow knows, such as EUR' });
const format = z.enum(['json', 'html']).optional().describe('html: a printable page (also chosen by Accept: text/html)');
const reportingCurrency = currency
  .optional()
  .describe("Consolidate in this currency (default: the tenant's reporting currency; none set and none given: no consolidation)");
const fromBeforeTo = <T extends { from: string; to: string }>(q: T) => q.from <= q.to;
const RANGE_RULE = 'from must not be after to';
const rangeProblem = { path: ['from'], message: RANGE_RULE };

export const asOfQuery = z.object({ asOf: isoDate, reportingCurrency, format }).strict();
export const rangeQuery = z.object({ from: isoDate, to: isoDate, reportingCurrency, format }).strict().refine(fromBeforeTo, rangeProblem).meta(documentedRules(RANGE_RULE));
export const ledgerQuery = z.object({ from: isoDate, to: isoDate, format }).strict().refine(fromBeforeTo, rangeProblem).meta(documentedRules(RANGE_RULE));
export const journalQuery = z
  .object({
    from: isoDate,
    to: isoDate,
    limit: z.coerce.number().int().min(1).max(500).default(100),
    cursor: z.string().max(500).optional(),
    format,
  })
  .strict()
  .refine(fromBeforeTo, rangeProblem)
  .meta(documentedRules(RANGE_RULE));
export const journalCsvQuery = z.object({ from: isoDate, to: isoDate }).strict().refine(fromBeforeTo, rangeProblem).meta(documentedRules(RANGE_RULE));
export const idParams = z.object({ id: z.string().uuid() }).strict();

const tenantCode = z.string().regex(/^[0-9]{4}-[A-Za-z0-9]{1,32}$/, 'four digits, a dash and 1 to 32 letters or digits, e.g. 6100-TRAVEL');
const anyCode = z.string().regex(/^[0-9]{4}(-[A-Za-z0-9]{1,32})?$/, 'an account code, e.g. 1000 or 6100-TRAVEL');

const SUBTYPE_RULE = 'not a subtype of that type (asset: current_asset, non_current_asset, contra_asset; ...)';
const CASH_RULE = 'only a current asset can be a cash account';
export const createAccountBody = z
  .object({
    code: tenantCode,
    name: freeText(200, { min: 1 }),
    type: z.enum(ACCOUNT_TYPES),
    subtype: z.enum(SUBTYPES as [string, ...string[]]),
    isCash: z.boolean().default(false),
  })
  .strict()
  .refine((a) => subtypeFits(a.type, a.subtype), { path: ['subtype'], message: SUBTYPE_RULE })
  .refine((a) => !a.isCash || a.subtype === 'current_asset', { path: ['isCash'], message: CASH_RULE })
  .meta(documentedRules(SUBTYPE_RULE, CASH_RULE));

const ACCOUNT_RULE = 'name the account by accountId or by accountCode (one of them)';
const BALANCE_RULE = 'the postings must balance in each currency';
const draftPosting = z
  .object({
    accountId: z.string().uuid().optional(),
    accountCode: anyCode.optional(),
    currency,
    amountMinor: z
      .number()
      .int('a whole number of minor units')
      .min(-MAX_AMOUNT_MINOR)
      .max(MAX_AMOUNT_MINOR)
      .refine((n) => n !== 0, 'a posting is never zero')
      .meta({ not: { const: 0 }, description: 'debit positive, credit negative; never zero' }),
  })
  .strict()
  .refine((p) => (p.accountId === undefined) !== (p.accountCode === undefined), { message: ACCOUNT_RULE })
  .meta(documentedRules(ACCOUNT_RULE));

export const createDraftBody = z
  .object({
    kind: z.enum(['standard', 'adjusting']).default('standard'),
    accountingDate: isoDate,
    description: freeText(500, { min: 1 }),
    postings: z.array(draftPosting).min(2, 'double entry needs at least two postings').max(100),
  })
  .strict()
  .superRefine((d, ctx) => {
    const totals = new Map<string, bigint>();
    for (const p of d.postings) totals.set(p.currency, (totals.get(p.currency) ?? 0n) + BigInt(p.amountMinor));
    for (const [c, t] of totals) if (t !== 0n) ctx.addIssue({ code: 'custom', path: ['postings'], message: `${BALANCE_RULE}: in ${c} debits minus credits = ${t}` });
  })
  .meta(documentedRules(BALANCE_RULE));

export const rejectBody = z.object({ reason: freeText(500, { min: 1 }) }).strict();

const PAIR_RULE = 'base and quote must differ';
export const rateBody = z
  .object({
    base: currency,
    quote: currency,
    date: isoDate,
    rate: z
      .string()
      .regex(RATE_PATTERN, 'a decimal string, up to 12 digits each side of the point')
      // isValidRate's "greater than zero" as a pattern too, so the document says it: some digit is not 0.
      .regex(/[1-9]/, 'greater than zero')
      .refine(isValidRate, 'greater than zero')
      .describe('1 base = rate quote'),
    source: freeText(100, { min: 1 }).optional(),
  })
  .strict()
  .refine((r) => r.base !== r.quote, { path: ['quote'], message: PAIR_RULE })
  .meta(documentedRules(PAIR_RULE));

export const importRatesBody = z
  .object({ csv: z.string().min(1).max(1_000_000).describe('RFC 4180 CSV: a header naming base,quote,date,rate (and optionally source), each once, then one rate a line. The request body limit (API_BODY_LIMIT_KB, 100 kB by default: about 3,500 lines) applies first.') })
  .strict();

// ---------------------------------------------------------------- responses (documented; minor units are integers)

const minor = z.number().int();
const account = z.object({
  id: z.string().uuid(),
  code: z.string(),
  name: z.string(),
  type: z.enum(ACCOUNT_TYPES),
  subtype: z.string(),
  isCash: z.boolean(),
  systemKey: z.string().nullable(),
  normalBalance: z.enum(['debit', 'credit']),
});
export const accountSchema = account;
export const draftSchema = z.object({
  id: z.string().uuid(),
  kind: z.enum(['standard', 'adjusting']),
  accountingDate: z.string(),
  description: z.string(),
  postings: z.array(z.object({ accountId: z.string().uuid(), currency: z.string(), amountMinor: minor })),
  status: z.enum(['draft', 'posted', 'rejected']),
  createdBy: z.string(),
  createdAt: z.string(),
  decidedBy: z.string().nullable(),
  decidedAt: z.string().nullable(),
  reason: z.string().nullable(),
  entryId: z.string().uuid().nullable(),
});
export const rateSchema = z.object({ base: z.string(), quote: z.string(), rateDate: z.string(), rate: z.string(), source: z.string(), enteredBy: z.string(), enteredAt: z.string() });
const rateUsed = z.object({ from: z.string(), to: z.string(), base: z.string(), quote: z.string(), rate: z.string(), rateDate: z.string(), direction: z.enum(['direct', 'inverse']) });
const line = z.object({ accountId: z.string().uuid(), code: z.string(), name: z.string(), amountMinor: minor });
const section = z.object({ lines: z.array(line), totalMinor: minor });
const header = {
  report: z.string(),
  tenant: z.object({ id: z.string().uuid(), name: z.string(), timeZone: z.string() }),
  reportingCurrency: z.string().nullable(),
};
const consolidated = <T extends z.ZodRawShape>(shape: T) => z.object({ currency: z.string(), rates: z.array(rateUsed), ...shape }).nullable();

const tbBody = {
  lines: z.array(z.object({ accountId: z.string().uuid(), code: z.string(), name: z.string(), type: z.string(), subtype: z.string(), debitMinor: minor, creditMinor: minor })),
  totals: z.object({ debitMinor: minor, creditMinor: minor }),
  balanced: z.boolean(),
};
export const trialBalanceSchema = z.object({
  ...header,
  asOf: z.string(),
  snapshotAsOf: z.string().nullable().describe('the closing snapshot the balances start from (null: from the first posting)'),
  currencies: z.array(z.object({ currency: z.string(), ...tbBody })),
  consolidated: consolidated({ roundingMinor: minor.describe('put on the rounding account so the converted balances sum to zero'), ...tbBody }),
});

const bsBody = {
  assets: z.object({ sections: z.array(section.extend({ subtype: z.string() })), totalMinor: minor }),
  liabilities: z.object({ sections: z.array(section.extend({ subtype: z.string() })), totalMinor: minor }),
  equity: section,
  currentEarningsMinor: minor,
  totalLiabilitiesAndEquityMinor: minor,
  balanced: z.boolean(),
};
export const balanceSheetSchema = z.object({
  ...header,
  asOf: z.string(),
  snapshotAsOf: z.string().nullable(),
  currencies: z.array(z.object({ currency: z.string(), ...bsBody })),
  consolidated: consolidated({ roundingMinor: minor, ...bsBody }),
});

const isBody = {
  revenue: section,
  contraRevenue: section,
  netRevenueMinor: minor,
  costOfSales: section,
  grossProfitMinor: minor,
  expenses: section,
  operatingIncomeMinor: minor,
  otherIncome: section,
  otherExpense: section,
  netIncomeMinor: minor,
};
export const incomeStatementSchema = z.object({
  ...header,
  from: z.string(),
  to: z.string(),
  currencies: z.array(z.object({ currency: z.string(), ...isBody })),
  consolidated: consolidated(isBody),
});

const cashLine = { accountId: z.string().uuid(), code: z.string(), name: z.string(), openingMinor: minor, inflowsMinor: minor, outflowsMinor: minor, closingMinor: minor };
const cashTotals = z.object({ openingMinor: minor, inflowsMinor: minor, outflowsMinor: minor, closingMinor: minor });
export const cashSummarySchema = z.object({
  ...header,
  from: z.string(),
  to: z.string(),
  currencies: z.array(z.object({ currency: z.string(), accounts: z.array(z.object(cashLine)), totals: cashTotals })),
  consolidated: consolidated({ accounts: z.array(z.object({ ...cashLine, roundingMinor: minor })), totals: cashTotals.extend({ roundingMinor: minor }) }),
});

export const accountLedgerSchema = z.object({
  report: z.string(),
  tenant: header.tenant,
  account,
  from: z.string(),
  to: z.string(),
  currencies: z.array(
    z.object({
      currency: z.string(),
      openingMinor: minor.describe("in the account's normal direction"),
      lines: z.array(
        z.object({ entryId: z.string().uuid(), accountingDate: z.string(), description: z.string(), kind: z.string(), debitMinor: minor, creditMinor: minor, balanceMinor: minor }),
      ),
      closingMinor: minor,
    }),
  ),
});

export const journalSchema = z.object({
  report: z.string(),
  tenant: header.tenant,
  from: z.string(),
  to: z.string(),
  data: z.array(
    z.object({
      id: z.string().uuid(),
      accountingDate: z.string(),
      postedAt: z.string(),
      kind: z.string(),
      description: z.string(),
      source: z.object({ type: z.string(), id: z.string() }),
      createdBy: z.string(),
      approvedBy: z.string().nullable(),
      reverses: z.string().uuid().nullable(),
      postings: z.array(z.object({ accountId: z.string().uuid(), code: z.string(), name: z.string(), currency: z.string(), amountMinor: minor })),
    }),
  ),
  nextCursor: z.string().nullable(),
});
