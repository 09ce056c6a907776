import type { Context } from 'koa';
import type Redis from 'ioredis';
import { DomainError } from '../errors';

// Fixed windows: INCR, with the expiry set by the first request of the window. Atomic in Redis.
const HIT = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {n, redis.call('PTTL', KEYS[1])}`;

export interface Limit {
  redis: Redis;
  prefix: string;
  /** Names the policy in the headers and the Redis key: `ip`, `tenant`, `smoke`, `registration`... */
  scope: string;
  limit: number;
  windowSeconds: number;
  /** What the problem detail says is limited: "from this address". */
  per: string;
  /** A route's own limit adds its policy to the front door's headers; the front door's limiters replace them. */
  addHeaders?: boolean;
}

/**
 * Counts one request against `subject`'s current window and refuses it past the limit: the IETF RateLimit headers
 * on every answer and 429 + Retry-After past it.
 */
export async function limitBy(ctx: Context, opts: Limit, subject: string): Promise<void> {
  const windowMs = opts.windowSeconds * 1000;
  let count: number, ttl: number;
  try {
    [count, ttl] = (await opts.redis.eval(HIT, 1, limitKey(opts, subject), windowMs)) as [number, number];
  } catch {
    // Without its limiter (and its sessions, also in Redis) the API refuses work rather than run unguarded.
    throw new DomainError('dependency-unavailable', 'The API is temporarily unavailable; retry shortly');
  }
  applyCount(ctx, opts, count, ttl);
}

/** The Redis key of `subject`'s current window under `opts`. */
export function limitKey(opts: Limit, subject: string): string {
  const windowMs = opts.windowSeconds * 1000;
  return `${opts.prefix}ratelimit:${opts.scope}:${subject}:${Math.floor(Date.now() / windowMs)}`;
}

/** Answers a counted request: the RateLimit headers, and 429 + Retry-After past the limit. */
export function applyCount(ctx: Context, opts: Limit, count: number, ttl: number): void {
  const remaining = Math.max(0, opts.limit - count);
  const reset = Math.max(1, Math.ceil(ttl / 1000));
  const header = (name: string, value: string) => (opts.addHeaders && ctx.response.get(name) ? ctx.set(name, `${ctx.response.get(name)}, ${value}`) : ctx.set(name, value));
  header('RateLimit-Policy', `"${opts.scope}";q=${opts.limit};w=${opts.windowSeconds}`);
  header('RateLimit', `"${opts.scope}";r=${remaining};t=${reset}`);
  if (count > opts.limit) {
    ctx.set('Retry-After', String(reset));
    const per = opts.windowSeconds === 60 ? 'minute' : opts.windowSeconds === 3600 ? 'hour' : `${opts.windowSeconds} seconds`;
    throw new DomainError('rate-limited', `More than ${opts.limit} requests per ${per} ${opts.per}`, { retryAfterSeconds: reset });
  }
}
