import { createHmac } from 'node:crypto';

/**
 * A keyed hash of a personal identifier (HMAC-SHA256 under PII_HASH_KEY): lets FinFlow match identifiers, such
 * as a national id against the KYC deny list, without storing them again, and without the hash being reversible
 * by enumerating the identifier space (a plain hash of a national id would be).
 */
export function piiHash(key: Buffer, normalized: string): Buffer {
  return createHmac('sha256', key).update(normalized, 'utf8').digest();
}
