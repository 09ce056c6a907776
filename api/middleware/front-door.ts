/**
 * The front door: the per-IP rate limit, authentication and the per-tenant rate limit, in that order, as one
 * middleware so that an access token's request costs ONE Redis round trip for all three (they run on every
 * request: npm run bench:api measures what they cost). The checks are the same as apart:
 * - per IP: every request is counted before anything else is looked at, a 429 past the limit (probes exempt);
 * - the access token: signature, issuer, audience, type and expiry (JwtKeySet.verify, which remembers a token it
 *   verified until it expires); its session still open; the organisation and the person active, with their
 *   current role (platform/auth/account-status.ts: the Redis cache, the database when it has no entry);
 * - per tenant: counted once the caller is known to be allowed in, a 429 past the limit.
 * For an access token the script below does the IP count, reads the session and the cached standing, and counts
 * the tenant only when all three let the caller in; the signature is checked first, so an invalid token costs a
 * signature check before its request is counted (a token verified once is not checked again). Any other
 * credential (API key, operator token), or none, takes the same steps one by one (authenticate.ts).
 */
import type { Middleware } from 'koa';
import type Redis from 'ioredis';
import { DomainError } from '../errors';
import { bearerToken, identify, isAccessToken, userPrincipal, verifiedClaims, type AuthDeps, type Principal } from './authenticate';
import { applyCount, limitBy, limitKey, type Limit } from './rate-limit';

// KEYS: IP window, session, tenant standing, user standing, tenant window. ARGV: IP window ms, IP limit, tenant window ms.
// Answers {ip count, ip pttl} when the IP is over its limit; otherwise adds the session's existence and the two
// cached standings (false: not cached), and the tenant count and pttl when the tenant was counted.
const GATE = `
local ip = redis.call('INCR', KEYS[1])
if ip == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ipTtl = redis.call('PTTL', KEYS[1])
if ip > tonumber(ARGV[2]) then return {ip, ipTtl} end
local session = redis.call('EXISTS', KEYS[2])
local tenant = redis.call('GET', KEYS[3])
local user = redis.call('GET', KEYS[4])
if session == 1 and tenant == 'active' and user and string.sub(user, 1, 7) == 'active:' then
  local n = redis.call('INCR', KEYS[5])
  if n == 1 then redis.call('PEXPIRE', KEYS[5], ARGV[3]) end
  return {ip, ipTtl, session, tenant, user, n, redis.call('PTTL', KEYS[5])}
end
return {ip, ipTtl, session, tenant, user}`;

type GateReply = [number, number, number?, (string | null)?, (string | null)?, number?, number?];
type GateRedis = Redis & { finflowGate(...args: (string | number)[]): Promise<GateReply> };

export interface FrontDoorOptions {
  auth: AuthDeps;
  redis: Redis;
  ip: Limit;
  tenant: Limit;
  /** Paths the IP limit leaves alone (the probes, which must report on Redis rather than wait on it). */
  exempt: ReadonlySet<string>;
}

export function frontDoor(opts: FrontDoorOptions): Middleware {
  const { auth, ip, tenant } = opts;
  // EVALSHA under the hood, the script's text sent only when Redis does not know it yet.
  opts.redis.defineCommand('finflowGate', { numberOfKeys: 5, lua: GATE });
  const redis = opts.redis as GateRedis;
  const unavailable = () => new DomainError('dependency-unavailable', 'The API is temporarily unavailable; retry shortly');

  return async function frontDoorMiddleware(ctx, next) {
    const exempt = opts.exempt.has(ctx.path);
    let token: string | undefined;
    try {
      token = bearerToken(ctx);
    } catch (err) {
      if (!exempt) await limitBy(ctx, ip, ctx.ip);
      throw err;
    }
    if (!token || exempt || !isAccessToken(token)) {
      // No credential, an API key or an operator's token: the checks one by one.
      if (!exempt) await limitBy(ctx, ip, ctx.ip);
      await identify(auth, ctx);
      const principal = ctx.state.principal as Principal | undefined;
      if (principal) await limitBy(ctx, tenant, principal.tenantId);
      return next();
    }

    let claims;
    try {
      claims = await verifiedClaims(auth, token);
    } catch (err) {
      await limitBy(ctx, ip, ctx.ip); // a 429 past the limit comes first, as for any request
      throw err;
    }
    let reply: GateReply;
    try {
      reply = await redis.finflowGate(
        limitKey(ip, ctx.ip),
        auth.sessions.keyOf(claims.sid),
        auth.accounts.tenantKey(claims.tid),
        auth.accounts.userKey(claims.sub),
        limitKey(tenant, claims.tid),
        ip.windowSeconds * 1000,
        ip.limit,
        tenant.windowSeconds * 1000,
      );
    } catch {
      throw unavailable();
    }
    const [ipCount, ipTtl, session, cachedTenant, cachedUser, tenantCount, tenantTtl] = reply;
    applyCount(ctx, ip, ipCount, ipTtl);
    if (session !== 1) throw new DomainError('unauthenticated', 'The session has ended; log in again');
    let standing;
    try {
      standing = await auth.accounts.complete(claims.tid, claims.sub, cachedTenant ?? null, cachedUser ?? null);
    } catch {
      throw unavailable();
    }
    const principal = userPrincipal(claims, { sessionActive: true, ...standing });
    ctx.state.principal = principal;
    // Counted by the script when the cache let the caller in; otherwise now, once the database has.
    if (tenantCount !== undefined && tenantTtl !== undefined) applyCount(ctx, tenant, tenantCount, tenantTtl);
    else await limitBy(ctx, tenant, principal.tenantId);
    await next();
  };
}
