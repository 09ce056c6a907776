/**
 * Schemas shared by the contexts' routes. `freeText` is for every field a person types prose into (descriptions,
 * reasons, notes, metadata values): trimmed, bounded, and never a card number (core/security/card-numbers.ts). A
 * NUL character in any string is refused for every field in one place, api/validation.ts.
 */
import { z } from 'zod';
import { containsCardNumber } from '../core/security/card-numbers';

export const CARD_NUMBER_MESSAGE = 'must not contain a card number (send payment methods as pm_... tokens)';

export function freeText(max: number, opts: { min?: number } = {}) {
  return z
    .string()
    .trim()
    .min(opts.min ?? 0, 'required')
    .max(max)
    .refine((s) => !containsCardNumber(s), CARD_NUMBER_MESSAGE);
}

/** An IANA time zone: the tenant's accounting days (and so its periods) begin and end at its midnight. */
export const timeZone = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+){0,2}$/, 'an IANA time zone such as Europe/Berlin or Asia/Taipei')
  .max(64)
  .refine((tz) => {
    try {
      new Intl.DateTimeFormat('en', { timeZone: tz });
      return true;
    } catch {
      return false;
    }
  }, 'an IANA time zone such as Europe/Berlin or Asia/Taipei');

