/**
 * Login sessions in Redis. An access token names its session; deleting the session (logout, revocation, reuse
 * detection) refuses that token on its very next request. A session lasts at most `maxAgeSeconds` from its login,
 * however often it is refreshed (its key expires then, and a refresh after it is refused); between refreshes it
 * lapses after `ttlSeconds` idle. Refresh tokens (`ffr_<session>.<secret>`) rotate on every
 * use: only a hash of the current one is kept, with the hashes already used. Presenting a used one means it was
 * stolen or replayed, so the whole session is revoked. The check-and-rotate is one Lua script: two concurrent
 * refreshes with the same token cannot both succeed.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import type { Role } from '../../core/identity/rbac';

export interface Session {
  sid: string;
  userId: string;
  tenantId: string;
  role: Role;
}

// ARGV: presented hash, next hash, idle TTL (s), now (ms), absolute lifetime (ms).
const ROTATE = `
local current = redis.call('HGET', KEYS[1], 'refreshHash')
if not current then return 0 end
local left = tonumber(redis.call('HGET', KEYS[1], 'createdAt') or '0') + tonumber(ARGV[5]) - tonumber(ARGV[4])
if left <= 0 then
  redis.call('DEL', KEYS[1], KEYS[2])
  return 0
end
if current == ARGV[1] then
  local ttl = math.min(tonumber(ARGV[3]), math.ceil(left / 1000))
  redis.call('HSET', KEYS[1], 'refreshHash', ARGV[2])
  redis.call('SADD', KEYS[2], ARGV[1])
  redis.call('EXPIRE', KEYS[1], ttl)
  redis.call('EXPIRE', KEYS[2], ttl)
  return redis.call('HMGET', KEYS[1], 'userId', 'tenantId', 'role')
end
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then
  redis.call('DEL', KEYS[1], KEYS[2])
  return -1
end
return 0`;

export type RefreshOutcome = { kind: 'rotated'; session: Session; refreshToken: string } | { kind: 'reused' } | { kind: 'invalid' };

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const REFRESH = /^ffr_([0-9a-f-]{36})\.([A-Za-z0-9_-]{43})$/;

export class SessionStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly ttlSeconds: number,
    private readonly maxAgeSeconds: number,
  ) {}

  /** The session's Redis key, for checks that ride in another round trip (AccountStatus.check). */
  keyOf = (sid: string) => `${this.prefix}session:${sid}`;
  private key = this.keyOf;
  private usedKey = (sid: string) => `${this.prefix}session:${sid}:used`;

  async create(user: Omit<Session, 'sid'>): Promise<{ session: Session; refreshToken: string }> {
    const sid = randomUUID();
    const secret = randomBytes(32).toString('base64url');
    await this.redis
      .multi()
      .hset(this.key(sid), { userId: user.userId, tenantId: user.tenantId, role: user.role, refreshHash: sha256(secret), createdAt: Date.now() })
      .expire(this.key(sid), Math.min(this.ttlSeconds, this.maxAgeSeconds))
      .exec();
    return { session: { sid, ...user }, refreshToken: `ffr_${sid}.${secret}` };
  }

  async isActive(sid: string): Promise<boolean> {
    return (await this.redis.exists(this.key(sid))) === 1;
  }

  async refresh(refreshToken: string): Promise<RefreshOutcome> {
    const m = REFRESH.exec(refreshToken);
    if (!m) return { kind: 'invalid' };
    const [, sid, secret] = m as unknown as [string, string, string];
    const next = randomBytes(32).toString('base64url');
    // On success the script returns the session fields it rotated, read in the same atomic step.
    const result = (await this.redis.eval(ROTATE, 2, this.key(sid), this.usedKey(sid), sha256(secret), sha256(next), this.ttlSeconds, Date.now(), this.maxAgeSeconds * 1000)) as
      | number
      | [string, string, string];
    if (result === -1) return { kind: 'reused' };
    if (!Array.isArray(result)) return { kind: 'invalid' };
    const [userId, tenantId, role] = result;
    return { kind: 'rotated', session: { sid, userId, tenantId, role: role as Role }, refreshToken: `ffr_${sid}.${next}` };
  }

  async revoke(sid: string): Promise<void> {
    await this.redis.del(this.key(sid), this.usedKey(sid));
  }
}
