import { createHash } from 'node:crypto';

/**
 * A hash of a request body with its object keys sorted: stored beside an Idempotency-Key, so a repeat of the same
 * request finds the same resource and a different request under a used key is refused.
 */
export function requestHash(body: unknown): Buffer {
  const ordered = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(ordered)
    : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, ordered((v as Record<string, unknown>)[k])]))
    : v;
  return createHash('sha256').update(JSON.stringify(ordered(body))).digest();
}
