/**
 * Amounts inside reports are bigint minor units: sums of many postings may pass 2^53 where a single amount cannot.
 * They leave as JSON numbers only when exact; a larger figure is refused, never rounded (like minorFromSum).
 */
import { AccountingError } from './errors';

const MAX = BigInt(Number.MAX_SAFE_INTEGER);

export function safeMinor(n: bigint, what = 'a report figure'): number {
  if (n > MAX || n < -MAX) throw new AccountingError('too-large', `${what} (${n} minor units) exceeds 2^53 - 1 and cannot be written exactly`);
  return Number(n);
}

/** A deep copy with every bigint turned into an exact number (or a refusal). */
export function toJsonSafe<T>(value: T): JsonSafe<T> {
  return convert(value) as JsonSafe<T>;
}

function convert(v: unknown): unknown {
  if (typeof v === 'bigint') return safeMinor(v);
  if (Array.isArray(v)) return v.map(convert);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, convert(x)]));
  return v;
}

export type JsonSafe<T> = T extends bigint
  ? number
  : T extends (infer U)[]
    ? JsonSafe<U>[]
    : T extends object
      ? { [K in keyof T]: JsonSafe<T[K]> }
      : T;

export const sum = (xs: Iterable<bigint>): bigint => {
  let total = 0n;
  for (const x of xs) total += x;
  return total;
};
