/**
 * Password hashing with scrypt at OWASP's recommended parameters (N=2^17, r=8, p=1: 128 MiB and a few hundred
 * milliseconds per hash), random salt, the parameters stored with the hash (`scrypt$logN$r$p$salt$key`). A hash
 * stored with other parameters still verifies, and `needsRehash` tells the login to store a new one.
 */
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const scrypt = (password: string, salt: Buffer, keylen: number, opts: ScryptOptions) =>
  new Promise<Buffer>((resolve, reject) => scryptCb(password, salt, keylen, opts, (err, key) => (err ? reject(err) : resolve(key))));

interface Params {
  logN: number;
  r: number;
  p: number;
}
export const SCRYPT_PARAMS: Readonly<Params> = { logN: 17, r: 8, p: 1 };
const KEY_BYTES = 32;

/** scrypt needs 128 * N * r * p bytes (plus a little): allow that, and refuse rows asking for more than twice today's. */
const memoryFor = ({ logN, r, p }: Params) => 128 * 2 ** logN * r * p;
const MAX_MEMORY = 2 * memoryFor(SCRYPT_PARAMS);
const options = (params: Params): ScryptOptions => ({ N: 2 ** params.logN, r: params.r, p: params.p, maxmem: memoryFor(params) + 1024 * 1024 });

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const { logN, r, p } = SCRYPT_PARAMS;
  const key = await scrypt(password.normalize('NFC'), salt, KEY_BYTES, options(SCRYPT_PARAMS));
  return `scrypt$${logN}$${r}$${p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

function parse(stored: string): { params: Params; salt: Buffer; key: Buffer } | undefined {
  const [scheme, logN, r, p, salt, key, ...rest] = stored.split('$');
  const params = { logN: Number(logN), r: Number(r), p: Number(p) };
  if (scheme !== 'scrypt' || rest.length || !salt || !key) return undefined;
  if (![params.logN, params.r, params.p].every((n) => Number.isInteger(n) && n >= 1) || params.logN > 24 || memoryFor(params) > MAX_MEMORY) return undefined;
  return { params, salt: Buffer.from(salt, 'base64'), key: Buffer.from(key, 'base64') };
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parse(stored);
  if (!parsed || parsed.key.length === 0) return false;
  const actual = await scrypt(password.normalize('NFC'), parsed.salt, parsed.key.length, options(parsed.params));
  return timingSafeEqual(actual, parsed.key);
}

/** Stored with other parameters than today's: after a successful login, store a fresh hash of the password. */
export function needsRehash(stored: string): boolean {
  const parsed = parse(stored);
  return !parsed || parsed.params.logN !== SCRYPT_PARAMS.logN || parsed.params.r !== SCRYPT_PARAMS.r || parsed.params.p !== SCRYPT_PARAMS.p || parsed.key.length !== KEY_BYTES;
}

/** Spent on unknown emails so a login's timing does not reveal whether the account exists. */
let decoy: Promise<string> | undefined;
export async function burnPasswordCheck(password: string): Promise<void> {
  decoy ??= hashPassword('decoy-password-for-timing');
  await verifyPassword(password, await decoy);
}
