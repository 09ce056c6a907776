import type { z } from 'zod';
import { DomainError, type FieldProblem } from './errors';

/**
 * Where a string in the input (a value or an object key) holds a NUL character, or a lone UTF-16 surrogate (JSON's
 * "\\ud800"): PostgreSQL refuses the first in text and jsonb, so it would fail at the database, not at the door, and
 * stores the second as U+FFFD, not as sent. Checked for every field of every route here; the OpenAPI document says
 * so with the same pattern on every request string (api/routing.ts).
 */
export const STORABLE_TEXT_PATTERN = '^[^\\u0000\\uD800-\\uDFFF]*$';
// In unicode mode a surrogate pair is one code point (above U+FFFF), so only a lone surrogate falls in the range.
const STORABLE_TEXT = new RegExp(STORABLE_TEXT_PATTERN, 'u');
const unstorable = (s: string) => !STORABLE_TEXT.test(s);

function nulPaths(value: unknown, path: string[], out: string[][]): void {
  if (typeof value === 'string') {
    if (unstorable(value)) out.push(path);
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => nulPaths(v, [...path, String(i)], out));
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (unstorable(k)) out.push(path);
      else nulPaths(v, [...path, k], out);
    }
  }
}

/** Validates input against a (strict) zod schema; a mismatch is a 400 listing every offending field. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, where: 'body' | 'query' | 'params' | 'headers' = 'body'): z.output<S> {
  const nul: string[][] = [];
  nulPaths(input, [], nul);
  if (nul.length) {
    const errors: FieldProblem[] = nul.map((p) => ({ path: [where, ...p].join('.'), message: 'must not contain a NUL character (\\u0000) or a lone surrogate' }));
    throw new DomainError('validation-error', `Invalid ${where}: ${errors.map((e) => `${e.path} ${e.message}`).join('; ')}`, { errors });
  }
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const errors: FieldProblem[] = result.error.issues.map((i) => ({
    path: [where, ...i.path.map(String)].join('.'),
    message: i.message,
  }));
  throw new DomainError('validation-error', `Invalid ${where}: ${errors.map((e) => `${e.path} ${e.message}`).join('; ')}`, { errors });
}
