/**
 * Schemas shared by the contexts' routes. `freeText` is for every field a person types prose into (descriptions,
 * reasons, notes, metadata values): trimmed, bounded, and never a card number (core/security/card-numbers.ts). A
 * NUL character in any string is refused for every field in one place, api/validation.ts.
 */
import { z } from 'zod';
import { CARD_NUMBER_CANDIDATE, containsCardNumber } from '../core/security/card-numbers';

export const CARD_NUMBER_MESSAGE = 'must not contain a card number (send payment methods as pm_... tokens)';

/** A character String#trim keeps (JavaScript's \s spelt out, so every regex engine reading the document agrees). */
const NOT_BLANK = /[^\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]/u;

/**
 * Text that is trimmed and bounded. A required one must hold something besides white space, checked before the trim
 * so the OpenAPI document can say it (a pattern), not only the code (a minimum after trimming): "   " is not a name.
 */
export function text(max: number, opts: { min?: number } = {}) {
  const min = opts.min ?? 0;
  const base = min > 0 ? z.string().regex(NOT_BLANK, { message: 'required', abort: true }) : z.string();
  return base.trim().min(min, 'required').max(max);
}

export function freeText(max: number, opts: { min?: number } = {}) {
  return text(max, opts)
    .refine((s) => !containsCardNumber(s), CARD_NUMBER_MESSAGE)
    .meta({ not: { pattern: CARD_NUMBER_CANDIDATE }, description: `Free text; ${CARD_NUMBER_MESSAGE}: no run of 13 or more digits` });
}

/**
 * Rules a JSON Schema cannot state (relative to today, or between fields), as the document says them: `x-rules` on the
 * schema they bind, each the text of the refusal (a refusal may add details after a colon). Written last on a schema
 * (zod keeps metadata on one instance only); the property test in test/integration/openapi.test.ts holds that a
 * request the document calls valid is refused, before its handler, only by one of these.
 */
export const documentedRules = (...rules: string[]) => ({ 'x-rules': rules });

const knownTimeZone = (tz: string) => {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
};
const TIME_ZONE_SHAPE = /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+){0,2}$/;

/**
 * An IANA time zone: the tenant's accounting days (and so its periods) begin and end at its midnight. The API takes
 * any name the runtime knows (aliases too); the document lists the canonical ones, each of which it takes.
 */
export const timeZone = z
  .string()
  .regex(TIME_ZONE_SHAPE, 'an IANA time zone such as Europe/Berlin or Asia/Taipei')
  .max(64)
  .refine(knownTimeZone, 'an IANA time zone such as Europe/Berlin or Asia/Taipei')
  .meta({ enum: ['UTC', ...Intl.supportedValuesOf('timeZone')].filter((tz) => TIME_ZONE_SHAPE.test(tz) && tz.length <= 64 && knownTimeZone(tz)) });

