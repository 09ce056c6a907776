import { createHash } from 'node:crypto';

/** FinFlow's UUIDv5 namespace: derived ids are stable across processes, releases and retries. */
const NAMESPACE = Buffer.from('6f1c5a0e3b7d4d8e9a2f0c4b1e7d3a95', 'hex');

/**
 * A deterministic UUID (RFC 9562 version 5) from business keys, e.g. (workflow id, step). An activity that is
 * retried derives the same event id, ledger entry id or provider idempotency key, so it cannot act twice.
 */
export function deterministicUuid(...parts: string[]): string {
  const hash = createHash('sha1').update(NAMESPACE).update(parts.join('\u001f')).digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const h = hash.subarray(0, 16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}
