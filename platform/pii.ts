import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';

/**
 * A keyed hash of a personal identifier (HMAC-SHA256 under PII_HASH_KEY): lets FinFlow match identifiers, such
 * as a national id against the KYC deny list, without storing them again, and without the hash being reversible
 * by enumerating the identifier space (a plain hash of a national id would be).
 */
export function piiHash(key: Buffer, normalized: string): Buffer {
  return createHmac('sha256', key).update(normalized, 'utf8').digest();
}

/** The keys of personal data at rest (PII_ENCRYPTION_KEYS): every version still in use, and the one that encrypts. */
export interface PiiKeys {
  keys: ReadonlyMap<string, Buffer>;
  activeId: string;
}

export const piiKeys = (cfg: { PII_ENCRYPTION_KEYS: ReadonlyMap<string, Buffer>; PII_ENCRYPTION_KEY_ID: string }): PiiKeys => ({
  keys: cfg.PII_ENCRYPTION_KEYS,
  activeId: cfg.PII_ENCRYPTION_KEY_ID,
});

const PREFIX = 'pii:v1:';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class PiiDecryptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PiiDecryptionError';
  }
}

/**
 * Encrypts one value (AES-256-GCM, a fresh 96-bit IV) under the active key: `pii:v1:<key id>:<base64 iv|ct|tag>`.
 * `context` (tenant, record and column) is authenticated with it, so a value copied to another row or column does
 * not decrypt there. The key id says which key to decrypt with: rotation adds a key, makes it active, and keeps the
 * old one listed while values under it remain.
 */
export function encryptPii(k: PiiKeys, plaintext: string, context: string): string {
  const key = k.keys.get(k.activeId);
  if (!key) throw new Error(`PII key ${k.activeId} is not configured`);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(`${PREFIX}${k.activeId}:${context}`, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return `${PREFIX}${k.activeId}:${Buffer.concat([iv, ciphertext, cipher.getAuthTag()]).toString('base64')}`;
}

/** The key id an encrypted value names (to find values still under a retired key). */
export function piiKeyId(value: string): string | undefined {
  if (!value.startsWith(PREFIX)) return undefined;
  const rest = value.slice(PREFIX.length);
  const i = rest.indexOf(':');
  return i > 0 ? rest.slice(0, i) : undefined;
}

/** Decrypts a value encryptPii made for the same context; throws PiiDecryptionError (naming no value) otherwise. */
export function decryptPii(k: PiiKeys, value: string, context: string): string {
  const keyId = piiKeyId(value);
  if (!keyId) throw new PiiDecryptionError('not an encrypted personal-data value');
  const key = k.keys.get(keyId);
  if (!key) throw new PiiDecryptionError(`PII key ${keyId} is not configured (keep retired keys listed in PII_ENCRYPTION_KEYS)`);
  const raw = Buffer.from(value.slice(PREFIX.length + keyId.length + 1), 'base64');
  if (raw.length < IV_BYTES + TAG_BYTES) throw new PiiDecryptionError('truncated encrypted value');
  const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES));
  decipher.setAAD(Buffer.from(`${PREFIX}${keyId}:${context}`, 'utf8'));
  decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)), decipher.final()]).toString('utf8');
  } catch {
    throw new PiiDecryptionError(`encrypted value does not authenticate under key ${keyId} for its record`);
  }
}
