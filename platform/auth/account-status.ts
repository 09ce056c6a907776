/**
 * Whether a credential's owners may still act: the organisation (tenant) must be `active`, and the person, the one
 * who logged in or who created the API key, must be `active`; their current role comes with it, so a role change
 * takes effect on a token issued before it. Checked on every request, so it is cached in Redis for a few seconds
 * (AUTH_STATUS_CACHE_SECONDS). When the API changes a status or a role it writes the new value into the cache
 * after its commit, and a load from the database only fills an empty entry (SET NX): a load that read the old row
 * just before the commit cannot put it back. A change made straight in the database takes effect once the entry
 * expires. The session check rides in the same round trip.
 */
import type Redis from 'ioredis';
import type { Role } from '../../core/identity/rbac';
import { readAsTenant, type Pool } from '../db/pool';

export type TenantStatus = 'active' | 'suspended' | 'closed';
export type UserStatus = 'active' | 'disabled';

export interface Standing {
  tenantActive: boolean;
  /** The person's current status and role; undefined when no such person exists in the tenant. */
  user?: { active: boolean; role: Role };
}

const MISSING = 'missing';

export class AccountStatus {
  constructor(
    private readonly redis: Redis,
    private readonly db: Pool,
    private readonly prefix: string,
    private readonly ttlSeconds: number,
  ) {}

  /** The cache's keys, for a check that rides in another round trip (api/middleware/front-door.ts). */
  tenantKey = (tenantId: string) => `${this.prefix}status:tenant:${tenantId}`;
  userKey = (userId: string) => `${this.prefix}status:user:${userId}`;

  /**
   * The standing of a tenant and one of its people, from the cache or the database; with a session's Redis key
   * (SessionStore.keyOf), whether that session is still open too (same round trip).
   */
  async check(tenantId: string, userId: string, sessionKey?: string): Promise<Standing & { sessionActive: boolean }> {
    const pipeline = this.redis.pipeline();
    if (sessionKey) pipeline.exists(sessionKey);
    pipeline.mget(this.tenantKey(tenantId), this.userKey(userId));
    const results = (await pipeline.exec()) ?? [];
    for (const [err] of results) if (err) throw err;
    const sessionActive = sessionKey ? results[0]![1] === 1 : true;
    const [tenant, user] = results[results.length - 1]![1] as [string | null, string | null];
    if (!sessionActive) return { sessionActive, tenantActive: false };
    return { sessionActive, ...(await this.complete(tenantId, userId, tenant, user)) };
  }

  /**
   * The standing from the cached values read elsewhere (null: not cached), loading what is missing from the
   * database. A cached fact is kept with the one loaded: the answer is what the cache says from now on (no flip-flop).
   */
  async complete(tenantId: string, userId: string, tenant: string | null, user: string | null): Promise<Standing> {
    if (tenant !== null && user !== null) return parse(tenant, user);
    const loaded = await this.read(tenantId, userId);
    return parse(tenant ?? loaded.tenant, user ?? loaded.user);
  }

  /** The standing read from the database: for refresh and login, which must not act on a cached one. */
  async load(tenantId: string, userId: string): Promise<Standing> {
    const { tenant, user } = await this.read(tenantId, userId);
    return parse(tenant, user);
  }

  /** Both facts from the database, filling the cache where it is empty. */
  private async read(tenantId: string, userId: string): Promise<{ tenant: string; user: string }> {
    const [row] = await readAsTenant<{ tenant_status: TenantStatus; user_status: UserStatus | null; role: Role | null }>(
      this.db,
      tenantId,
      'SELECT t.status AS tenant_status, u.status AS user_status, u.role FROM tenants t LEFT JOIN users u ON u.id = $1 WHERE t.id = $2',
      [userId, tenantId],
    );
    const tenant = row?.tenant_status ?? MISSING;
    const user = row?.user_status ? `${row.user_status}:${row.role}` : MISSING;
    await this.redis
      .multi()
      .set(this.tenantKey(tenantId), tenant, 'EX', this.ttlSeconds, 'NX')
      .set(this.userKey(userId), user, 'EX', this.ttlSeconds, 'NX')
      .exec();
    return { tenant, user };
  }

  /** After the API committed a person's new status or role. */
  async userChanged(userId: string, status: UserStatus, role: Role): Promise<void> {
    await this.redis.set(this.userKey(userId), `${status}:${role}`, 'EX', this.ttlSeconds);
  }

  /** After the API committed an organisation's new status. */
  async tenantChanged(tenantId: string, status: TenantStatus): Promise<void> {
    await this.redis.set(this.tenantKey(tenantId), status, 'EX', this.ttlSeconds);
  }
}

function parse(tenant: string, user: string): Standing {
  const [status, role] = user.split(':');
  return { tenantActive: tenant === 'active', user: user === MISSING ? undefined : { active: status === 'active', role: role as Role } };
}
