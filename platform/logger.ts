/**
 * Structured JSON logs (pino). Secrets, tokens, card data and PII are redacted by key wherever they appear, as a
 * second line of defence: code must not log payloads in the first place.
 */
import pino, { type Logger } from 'pino';

export const REDACTED_KEYS = [
  'authorization',
  'cookie',
  'password',
  'passwordHash',
  'token',
  'accessToken',
  'refreshToken',
  'apiKey',
  'secret',
  'cardNumber',
  'cvc',
  'paymentMethod',
  'email',
  'phone',
  'name',
  'address',
  'dateOfBirth',
  'taxId',
];

export type { Logger };

export function createLogger(opts: { level: string; service: string }): Logger {
  return pino({
    level: opts.level,
    base: { service: opts.service },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: REDACTED_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`, `headers["${k}"]`]),
      censor: '[redacted]',
    },
    formatters: { level: (label) => ({ level: label }) },
  });
}
