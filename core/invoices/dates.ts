/**
 * Calendar dates of an invoice as ISO strings (YYYY-MM-DD), day arithmetic in UTC: payment terms to a due date,
 * the dunning schedule around it, and how overdue a balance is. Pure and workflow-safe (no clock is read here).
 */

const DAY_MS = 86_400_000;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

export function isIsoDate(s: string): boolean {
  if (!ISO_DATE.test(s)) return false;
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
}

export function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

/** Whole days from `a` to `b` (positive when b is later). */
export function daysBetween(a: string, b: string): number {
  return Math.round((Date.parse(`${b}T00:00:00Z`) - Date.parse(`${a}T00:00:00Z`)) / DAY_MS);
}

/** The UTC calendar date of a moment. */
export const dateOf = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
/** The first moment of a date (UTC midnight), in epoch ms. */
export const startOf = (date: string): number => Date.parse(`${date}T00:00:00Z`);

/** Payment terms: `net_<days>` (net_0 is due on receipt). */
export type Terms = `net_${number}`;
export const TERMS_PATTERN = /^net_(\d{1,3})$/;

export function termsDays(terms: string): number {
  const m = TERMS_PATTERN.exec(terms);
  if (!m) throw new RangeError(`terms are net_<days> (net_0 to net_365), got ${JSON.stringify(terms)}`);
  const days = Number(m[1]);
  if (days > 365) throw new RangeError('terms are at most net_365');
  return days;
}

/** The due date: an explicit one (never before the issue date), else the issue date plus the terms. */
export function dueDateFor(issueDate: string, due: { dueDate?: string; terms?: string }): string {
  if (due.dueDate) {
    if (!isIsoDate(due.dueDate)) throw new RangeError(`not a date: ${due.dueDate}`);
    return due.dueDate < issueDate ? issueDate : due.dueDate;
  }
  return addDays(issueDate, termsDays(due.terms ?? 'net_30'));
}

/**
 * A tenant's dunning policy: reminders at these offsets from the due date, in days (negative: before it, e.g.
 * -3 = three days before; positive: after it). At most 10, each from -60 to 365.
 */
export interface DunningPolicy {
  offsetsDays: number[];
}
export const DEFAULT_DUNNING_POLICY: DunningPolicy = { offsetsDays: [-3, 1, 7, 14, 30] };

export function dunningPolicyProblem(p: DunningPolicy): string | undefined {
  if (!Array.isArray(p.offsetsDays) || p.offsetsDays.length > 10) return 'at most 10 reminder offsets';
  if (!p.offsetsDays.every((d) => Number.isSafeInteger(d) && d >= -60 && d <= 365)) return 'each offset is a whole number of days from -60 to 365';
  if (new Set(p.offsetsDays).size !== p.offsetsDays.length) return 'offsets must be distinct';
  return undefined;
}

export interface Reminder {
  /** 1-based, in date order: the reminder's occurrence in its invoice.reminder_due event. */
  number: number;
  offsetDays: number;
  /** The date it falls due (UTC midnight starts it). */
  date: string;
  sent: boolean;
}

/** The reminders of an invoice due on `dueDate`, in date order; those dated before `issueDate` are dropped. */
export function dunningSchedule(issueDate: string, dueDate: string, policy: DunningPolicy): Reminder[] {
  return [...policy.offsetsDays]
    .sort((a, b) => a - b)
    .map((offsetDays) => ({ offsetDays, date: addDays(dueDate, offsetDays) }))
    .filter((r) => r.date > issueDate)
    .map((r, i) => ({ ...r, number: i + 1, sent: false }));
}

/** An invoice is overdue from the first moment after its due date (the day after, UTC). */
export const overdueFrom = (dueDate: string): number => startOf(addDays(dueDate, 1));
