/**
 * Platform operators: the people who run FinFlow itself, not users of any tenant. Nobody can register as one: each
 * is configured (PLATFORM_OPERATORS) by name with the SHA-256 of a random `ffo_` token, which they present as a
 * Bearer credential. An operator acts on the platform (the smoke probe, payloads of any tenant at the codec
 * endpoint), never inside a tenant's data. Generate a token and its configuration entry with
 * `node -e "const t='ffo_'+require('crypto').randomBytes(32).toString('base64url');console.log(t, require('crypto').createHash('sha256').update(t).digest('hex'))"`.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export interface Operator {
  name: string;
}

const FORMAT = /^ffo_[A-Za-z0-9_-]{43}$/;

export function looksLikeOperatorToken(token: string): boolean {
  return token.startsWith('ffo_');
}

export class OperatorTokens {
  constructor(private readonly operators: readonly { name: string; tokenSha256: Buffer }[] = []) {}

  /** The operator the token belongs to, or undefined. Compares digests in constant time, every entry. */
  identify(token: string): Operator | undefined {
    if (!FORMAT.test(token)) return undefined;
    const digest = createHash('sha256').update(token).digest();
    let found: Operator | undefined;
    for (const op of this.operators) if (timingSafeEqual(digest, op.tokenSha256) && !found) found = { name: op.name };
    return found;
  }
}
