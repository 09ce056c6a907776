import type { Context, Middleware } from 'koa';
import type Redis from 'ioredis';
import { DomainError } from '../errors';
import type { Principal } from './authenticate';

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
  const key = `${opts.prefix}ratelimit:${opts.scope}:${subject}:${Math.floor(Date.now() / windowMs)}`;
  let count: number, ttl: number;
  try {
    [count, ttl] = (await opts.redis.eval(HIT, 1, key, windowMs)) as [number, number];
  } catch {
    // Without its limiter (and its sessions, also in Redis) the API refuses work rather than run unguarded.
    throw new DomainError('dependency-unavailable', 'The API is temporarily unavailable; retry shortly');
  }
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

/**
 * Limits requests per client IP (before authentication: protects login too) or per tenant (after it), in
 * one-minute windows. The client IP is Koa's `ctx.ip`: behind TRUST_PROXY_HOPS proxies, the address the outermost
 * trusted proxy saw (api/app.ts), never a hop the client wrote itself.
 */
export function rateLimit(opts: { redis: Redis; prefix: string; limit: number; scope: 'ip' | 'tenant'; exempt?: ReadonlySet<string> }): Middleware {
  const limit: Limit = { ...opts, windowSeconds: 60, per: opts.scope === 'ip' ? 'from this address' : 'from this tenant' };
  return async function rateLimitMiddleware(ctx, next) {
    if (opts.exempt?.has(ctx.path)) return next();
    const subject = opts.scope === 'ip' ? ctx.ip : (ctx.state.principal as Principal | undefined)?.tenantId;
    if (!subject) return next();
    await limitBy(ctx, limit, subject);
    await next();
  };
}
