import type { Middleware } from 'koa';
import type Redis from 'ioredis';
import { DomainError } from '../errors';
import type { Principal } from './authenticate';

// Fixed one-minute windows: INCR, with the expiry set by the first request of the window. Atomic in Redis.
const HIT = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {n, redis.call('PTTL', KEYS[1])}`;

const WINDOW_MS = 60_000;

/**
 * Limits requests per client IP (before authentication: protects login too) or per tenant (after it). Answers
 * with the IETF RateLimit headers on every response and 429 + Retry-After past the limit.
 */
export function rateLimit(opts: { redis: Redis; prefix: string; limit: number; scope: 'ip' | 'tenant'; exempt?: ReadonlySet<string> }): Middleware {
  return async function rateLimitMiddleware(ctx, next) {
    if (opts.exempt?.has(ctx.path)) return next();
    const subject = opts.scope === 'ip' ? ctx.ip : (ctx.state.principal as Principal | undefined)?.tenantId;
    if (!subject) return next();
    const window = Math.floor(Date.now() / WINDOW_MS);
    const key = `${opts.prefix}ratelimit:${opts.scope}:${subject}:${window}`;
    let count: number, ttl: number;
    try {
      [count, ttl] = (await opts.redis.eval(HIT, 1, key, WINDOW_MS)) as [number, number];
    } catch {
      // Without its limiter (and its sessions, also in Redis) the API refuses work rather than run unguarded.
      throw new DomainError('dependency-unavailable', 'The API is temporarily unavailable; retry shortly');
    }
    const remaining = Math.max(0, opts.limit - count);
    const reset = Math.max(1, Math.ceil(ttl / 1000));
    const policy = `"${opts.scope}";q=${opts.limit};w=60`;
    ctx.set('RateLimit-Policy', policy);
    ctx.set('RateLimit', `"${opts.scope}";r=${remaining};t=${reset}`);
    if (count > opts.limit) {
      ctx.set('Retry-After', String(reset));
      throw new DomainError('rate-limited', `More than ${opts.limit} requests per minute from this ${opts.scope === 'ip' ? 'address' : 'tenant'}`, {
        retryAfterSeconds: reset,
      });
    }
    await next();
  };
}
