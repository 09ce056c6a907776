/**
 * Tenant API keys: `ffk_<16-char id>_<43-char secret>`. The `ffk_` prefix makes a leaked key recognisable to
 * secret scanners; the id finds the key row; only an HMAC of the secret (under a server-side pepper) is stored.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const FORMAT = /^ffk_([A-Za-z0-9]{16})_([A-Za-z0-9_-]{43})$/;
const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export function looksLikeApiKey(token: string): boolean {
  return token.startsWith('ffk_');
}

export function generateApiKey(pepper: Buffer): { keyId: string; secretHash: Buffer; plaintext: string } {
  const keyId = Array.from(randomBytes(16), (b) => BASE62[b % 62]).join('');
  const secret = randomBytes(32).toString('base64url');
  return { keyId, secretHash: hashSecret(pepper, secret), plaintext: `ffk_${keyId}_${secret}` };
}

export function parseApiKey(token: string): { keyId: string; secret: string } | undefined {
  const m = FORMAT.exec(token);
  return m ? { keyId: m[1]!, secret: m[2]! } : undefined;
}

export function hashSecret(pepper: Buffer, secret: string): Buffer {
  return createHmac('sha256', pepper).update(secret).digest();
}

export function secretMatches(pepper: Buffer, secret: string, stored: Buffer): boolean {
  const actual = hashSecret(pepper, secret);
  return actual.length === stored.length && timingSafeEqual(actual, stored);
}
