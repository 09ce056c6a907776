/**
 * Structured JSON logs (pino). Secrets, tokens, card data and PII are redacted wherever they appear, as a second
 * line of defence: code must not log payloads in the first place. Every logged object is walked to any depth: a
 * field whose name is sensitive (REDACTED_KEYS, compared without case, dashes or underscores, so `client_secret`,
 * `clientSecret` and `X-Client-Secret` are one name; or containing secret, token, password, api key or private
 * key) is replaced by `[redacted]`, and a card number (13-19 digits passing Luhn) inside any string by `[card]`.
 */
import pino, { type DestinationStream, type Logger } from 'pino';
import { luhnValid } from '../core/security/card-numbers';

/** Field names never logged with their value (any depth; headers included). */
export const REDACTED_KEYS = [
  // credentials
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'apiKey',
  'key',
  'password',
  'passwordHash',
  'token',
  'accessToken',
  'refreshToken',
  'secret',
  'clientSecret',
  'webhookSecret',
  'stripe-signature',
  'signature',
  'privateKey',
  'pepper',
  // card and bank data
  'cardNumber',
  'number',
  'pan',
  'cvc',
  'cvv',
  'paymentMethod',
  'iban',
  'accountNumber',
  // personal data
  'email',
  'phone',
  'name',
  'givenName',
  'familyName',
  'firstName',
  'lastName',
  'fullName',
  'displayName',
  'dateOfBirth',
  'dob',
  'birthDate',
  'address',
  'line1',
  'line2',
  'city',
  'postalCode',
  'nationalId',
  'taxId',
  'ssn',
  'ip',
  'ipAddress',
];

const normalize = (key: string) => key.toLowerCase().replace(/[^a-z0-9]/g, '');
const EXACT = new Set(REDACTED_KEYS.map(normalize));
const CONTAINS = ['secret', 'token', 'password', 'apikey', 'privatekey'];

export function isSensitiveKey(key: string): boolean {
  const k = normalize(key);
  return EXACT.has(k) || CONTAINS.some((part) => k.includes(part));
}

const DIGIT_RUN = /\d(?:[ -]?\d)*/g;

/** `text` with every card number in it replaced by `[card]`. */
export function maskCardNumbers(text: string): string {
  if (!/\d{4}/.test(text.replace(/[ -]/g, ''))) return text;
  return text.replace(DIGIT_RUN, (run) => {
    const digits = run.replace(/[ -]/g, '');
    return digits.length >= 13 && digits.length <= 19 && luhnValid(digits) ? '[card]' : run;
  });
}

const MAX_DEPTH = 12;

/** A copy of `value` with sensitive fields and card numbers redacted; objects other than plain ones pass as they are. */
export function redact(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (typeof value === 'string') return maskCardNumbers(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH || seen.has(value)) return '[redacted: too deep]';
  if (Array.isArray(value)) {
    seen.add(value);
    return value.map((v) => redact(v, depth + 1, seen));
  }
  // Plain objects of any realm (Node's own, such as request headers, and a test VM's); Error, Date, Buffer and
  // other instances keep their own serializers.
  const proto = Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null;
  if (proto !== null && proto.constructor?.name !== 'Object') return value;
  seen.add(value);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = isSensitiveKey(k) && v !== undefined && v !== null ? '[redacted]' : redact(v, depth + 1, seen);
  return out;
}

export type { Logger };

/** `destination`: where the lines go (stdout by default; a test captures them). */
export function createLogger(opts: { level: string; service: string }, destination?: DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level: opts.level,
    base: { service: opts.service },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: {
      level: (label) => ({ level: label }),
      log: (obj) => redact(obj) as Record<string, unknown>,
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
