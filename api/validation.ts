import type { z } from 'zod';
import { DomainError, type FieldProblem } from './errors';

/** Validates input against a (strict) zod schema; a mismatch is a 400 listing every offending field. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, where: 'body' | 'query' | 'params' | 'headers' = 'body'): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const errors: FieldProblem[] = result.error.issues.map((i) => ({
    path: [where, ...i.path.map(String)].join('.'),
    message: i.message,
  }));
  throw new DomainError('validation-error', `Invalid ${where}: ${errors.map((e) => `${e.path} ${e.message}`).join('; ')}`, { errors });
}
