/**
 * Keyset pagination over (created_at, id), newest first: the cursor is the last row's position, opaque to
 * callers. A cursor this API did not issue is a 400 naming `query.cursor`.
 */
import { DomainError } from './errors';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** The only time a cursor carries: Date#toISOString of a row's created_at (Date.parse takes '1' or 'March 7', PostgreSQL does not). */
const ISO_MOMENT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const issuedMoment = (t: unknown) => typeof t === 'string' && ISO_MOMENT.test(t) && !Number.isNaN(Date.parse(t)) && new Date(t).toISOString() === t;

export interface CursorPosition {
  t: string;
  id: string;
}

export function decodeCursor(cursor: string | undefined): CursorPosition | undefined {
  if (!cursor) return undefined;
  try {
    const after = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as CursorPosition;
    // The time and id go into ::timestamptz and ::uuid casts: anything else would fail in PostgreSQL, not here.
    if (!issuedMoment(after.t) || typeof after.id !== 'string' || !UUID.test(after.id)) throw new Error('bad cursor');
    return after;
  } catch {
    throw new DomainError('validation-error', 'The cursor is not one this API issued', { errors: [{ path: 'query.cursor', message: 'invalid cursor' }] });
  }
}

/** One page from rows fetched with LIMIT page size + 1, and the cursor of the next page, if any. */
export function page<R extends { created_at: Date; id: string }, V>(rows: R[], limit: number, view: (r: R) => V): { data: V[]; nextCursor: string | null } {
  const shown = rows.slice(0, limit);
  const last = shown[shown.length - 1];
  const nextCursor = rows.length > limit && last ? Buffer.from(JSON.stringify({ t: last.created_at.toISOString(), id: last.id })).toString('base64url') : null;
  return { data: shown.map(view), nextCursor };
}
