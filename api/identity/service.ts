/**
 * The identity context: organisations (tenants), people, sessions, invitations and API keys.
 * Every read and write of tenant data runs in `withTenant`; the three pre-authentication lookups (login email,
 * API key id, invitation id) open exactly one row through a transaction-local setting (see the migration).
 */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Pool } from 'pg';
import type { Role } from '../../core/identity/rbac';
import { generateApiKey } from '../../platform/auth/api-keys';
import type { JwtKeySet } from '../../platform/auth/jwt';
import type { AccountStatus, TenantStatus, UserStatus } from '../../platform/auth/account-status';
import type { LoginThrottle } from '../../platform/auth/login-throttle';
import { burnPasswordCheck, hashPassword, needsRehash, verifyPassword } from '../../platform/auth/passwords';
import type { Session, SessionStore } from '../../platform/auth/sessions';
import type { Config } from '../../platform/config';
import { inTransaction, readAsTenant, scopeToTenant, withTenant } from '../../platform/db/pool';
import { appendToOutbox, ONCE } from '../../platform/events/outbox';
import { DomainError } from '../errors';
import type { Principal } from '../middleware/authenticate';

export interface Tokens {
  tokenType: 'Bearer';
  accessToken: string;
  expiresIn: number;
  refreshToken: string;
}

export interface IdentityDeps {
  db: Pool;
  jwt: JwtKeySet;
  sessions: SessionStore;
  config: Pick<Config, 'AUTH_ACCESS_TOKEN_TTL_SECONDS' | 'AUTH_INVITATION_TTL_HOURS' | 'AUTH_API_KEY_PEPPER'>;
  loginThrottle: LoginThrottle;
  accounts: AccountStatus;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest();
// The id must be a UUID, not just 36 characters of hex and dashes: it reaches a ::uuid cast in the invitations policy.
const INVITATION = /^ffi_([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.([A-Za-z0-9_-]{43})$/;

function isUniqueViolation(err: unknown): err is { constraint?: string } {
  return (err as { code?: string }).code === '23505';
}

export class IdentityService {
  constructor(private readonly deps: IdentityDeps) {}

  async register(input: {
    organisation: { name: string; slug: string; defaultCurrency: string; timeZone?: string };
    admin: { email: string; password: string; displayName: string };
  }): Promise<{ tenantId: string; userId: string; tokens: Tokens }> {
    const tenantId = randomUUID();
    const userId = randomUUID();
    const passwordHash = await hashPassword(input.admin.password);
    try {
      await withTenant(this.deps.db, tenantId, async (tx) => {
        await tx.query('INSERT INTO tenants (id, slug, name, default_currency, time_zone) VALUES ($1, $2, $3, $4, $5)', [
          tenantId,
          input.organisation.slug,
          input.organisation.name,
          input.organisation.defaultCurrency,
          input.organisation.timeZone ?? 'UTC',
        ]);
        await tx.query('INSERT INTO tenant_settings (tenant_id, default_currency) VALUES ($1, $2)', [tenantId, input.organisation.defaultCurrency]);
        await tx.query('SELECT create_default_chart($1)', [tenantId]);
        // This month's accounting period and the next twelve, in the tenant's time zone, exist from the start.
        await tx.query("SELECT ledger_ensure_periods((now() AT TIME ZONE $1)::date, 12)", [input.organisation.timeZone ?? 'UTC']);
        await tx.query("INSERT INTO users (id, tenant_id, email, display_name, password_hash, role) VALUES ($1, $2, $3, $4, $5, 'admin')", [
          userId,
          tenantId,
          input.admin.email,
          input.admin.displayName,
          passwordHash,
        ]);
        // The event carries ids only: no email or name leaves the identity tables.
        await appendToOutbox(tx, {
          occurrence: ONCE,
          type: 'user.registered',
          tenantId,
          aggregateType: 'user',
          aggregateId: userId,
          data: { userId, tenantId, role: 'admin', tenantSlug: input.organisation.slug, defaultCurrency: input.organisation.defaultCurrency },
        });
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new DomainError('conflict', 'That organisation slug or email address is already registered');
      // Intl and PostgreSQL's zone lists can differ at the edges: a zone the database does not know is bad input.
      if ((err as { constraint?: string }).constraint === 'tenants_time_zone_check') {
        throw new DomainError('validation-error', 'Invalid request', { errors: [{ path: 'body.organisation.timeZone', message: 'a time zone PostgreSQL knows' }] });
      }
      throw err;
    }
    const tokens = await this.startSession({ userId, tenantId, role: 'admin' });
    return { tenantId, userId, tokens };
  }

  async login(email: string, password: string): Promise<Tokens> {
    // Counted before the password is checked (unknown emails too): a running wait refuses even the right password.
    const attempt = await this.deps.loginThrottle.attempt(email).catch(() => {
      throw new DomainError('dependency-unavailable', 'Logging in is temporarily unavailable; retry shortly');
    });
    if (!attempt.allowed) {
      throw new DomainError('rate-limited', 'Too many login attempts for this account; wait before trying again', { retryAfterSeconds: attempt.retryAfterSeconds });
    }
    const user = await inTransaction(this.deps.db, async (tx) => {
      await tx.query("SELECT set_config('finflow.login_email', $1, true)", [email]);
      const { rows } = await tx.query<{ id: string; tenant_id: string; role: Role; password_hash: string; status: string }>(
        'SELECT u.id, u.tenant_id, u.role, u.password_hash, u.status FROM users u WHERE u.email = $1',
        [email],
      );
      return rows[0];
    });
    if (!user) {
      await burnPasswordCheck(password);
      throw new DomainError('unauthenticated', 'Invalid email or password');
    }
    if (!(await verifyPassword(password, user.password_hash)) || user.status !== 'active') {
      throw new DomainError('unauthenticated', 'Invalid email or password');
    }
    await this.deps.loginThrottle.succeeded(email);
    if (needsRehash(user.password_hash)) await this.rehashPassword(user.tenant_id, user.id, user.password_hash, password);
    if (!(await this.deps.accounts.load(user.tenant_id, user.id)).tenantActive) {
      throw new DomainError('unauthenticated', 'The organisation is suspended or closed');
    }
    return this.startSession({ userId: user.id, tenantId: user.tenant_id, role: user.role });
  }

  /**
   * Stores the password at today's scrypt parameters in place of a hash with older ones (the password is known only
   * now). Unless the hash changed meanwhile; a failure leaves the old hash, which still verifies, for the next login.
   */
  private async rehashPassword(tenantId: string, userId: string, old: string, password: string): Promise<void> {
    const fresh = await hashPassword(password);
    await withTenant(this.deps.db, tenantId, (tx) => tx.query('UPDATE users SET password_hash = $1 WHERE id = $2 AND password_hash = $3', [fresh, userId, old])).catch(() => undefined);
  }

  async refresh(refreshToken: string): Promise<Tokens> {
    const outcome = await this.deps.sessions.refresh(refreshToken);
    if (outcome.kind === 'reused') throw new DomainError('unauthenticated', 'This refresh token was already used; the session is revoked');
    if (outcome.kind === 'invalid') throw new DomainError('unauthenticated', 'The refresh token is invalid or expired');
    // Read fresh, not from the cache: a disabled person or a suspended organisation gets no new token, and the
    // session ends; the token carries the person's current role.
    const { session } = outcome;
    const standing = await this.deps.accounts.load(session.tenantId, session.userId);
    if (!standing.tenantActive || !standing.user?.active) {
      await this.deps.sessions.revoke(session.sid);
      throw new DomainError('unauthenticated', 'The account is disabled or the organisation is suspended');
    }
    return { ...(await this.accessToken({ ...session, role: standing.user.role })), refreshToken: outcome.refreshToken };
  }

  async logout(principal: Principal): Promise<void> {
    if (principal.kind !== 'user') throw new DomainError('forbidden', 'API keys have no session to log out of; revoke the key instead');
    await this.deps.sessions.revoke(principal.sessionId);
  }

  /** One round trip (readAsTenant): it runs on every GET /api/me. */
  async me(principal: Principal) {
    const user = principal.kind === 'user' ? principal.userId : undefined;
    const [row] = await readAsTenant<{ id: string; slug: string; name: string; default_currency: string; user_id: string | null; email: string | null; display_name: string | null }>(
      this.deps.db,
      principal.tenantId,
      `SELECT t.id, t.slug, t.name, t.default_currency, u.id AS user_id, u.email, u.display_name FROM tenants t LEFT JOIN users u ON ${user ? 'u.id = $1' : 'false'}`,
      user ? [user] : [],
    );
    const tenant = row!;
    return {
      principal: principal.kind === 'user' ? { kind: 'user' as const, id: principal.userId } : { kind: 'api_key' as const, id: principal.apiKeyId },
      role: principal.role,
      user: tenant.user_id ? { id: tenant.user_id, email: tenant.email!, displayName: tenant.display_name! } : undefined,
      tenant: { id: tenant.id, slug: tenant.slug, name: tenant.name, defaultCurrency: tenant.default_currency },
    };
  }

  async listUsers(principal: Principal) {
    return withTenant(this.deps.db, principal.tenantId, async (tx) => {
      const { rows } = await tx.query<{ id: string; email: string; display_name: string; role: Role; status: string; created_at: Date }>(
        'SELECT id, email, display_name, role, status, created_at FROM users ORDER BY created_at, id',
      );
      return rows.map((u) => ({ id: u.id, email: u.email, displayName: u.display_name, role: u.role, status: u.status, createdAt: u.created_at.toISOString() }));
    });
  }

  async invite(principal: Principal, input: { email: string; role: Role }) {
    if (principal.kind !== 'user') throw new DomainError('forbidden', 'Invitations are sent by people, not API keys');
    const id = randomUUID();
    const secret = randomBytes(32).toString('base64url');
    const expiresAt = new Date(Date.now() + this.deps.config.AUTH_INVITATION_TTL_HOURS * 3600_000);
    await withTenant(this.deps.db, principal.tenantId, (tx) =>
      tx.query('INSERT INTO invitations (id, tenant_id, email, role, token_hash, invited_by, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
        id,
        principal.tenantId,
        input.email,
        input.role,
        sha256(secret),
        principal.userId,
        expiresAt,
      ]),
    );
    // Shown once; in production it travels by email to the invitee.
    return { id, email: input.email, role: input.role, expiresAt: expiresAt.toISOString(), token: `ffi_${id}.${secret}` };
  }

  async acceptInvitation(input: { token: string; password: string; displayName: string }): Promise<Tokens> {
    const m = INVITATION.exec(input.token);
    if (!m) throw new DomainError('unauthenticated', 'The invitation is invalid or expired');
    const [, id, secret] = m as unknown as [string, string, string];
    const passwordHash = await hashPassword(input.password);
    const user = await inTransaction(this.deps.db, async (tx) => {
      await tx.query("SELECT set_config('finflow.invitation_id', $1, true)", [id]);
      const { rows } = await tx.query<{ tenant_id: string; email: string; role: Role; token_hash: Buffer; expires_at: Date; accepted_at: Date | null }>(
        'SELECT tenant_id, email, role, token_hash, expires_at, accepted_at FROM invitations WHERE id = $1',
        [id],
      );
      const inv = rows[0];
      const valid = inv && timingSafeEqual(inv.token_hash, sha256(secret)) && !inv.accepted_at && inv.expires_at > new Date();
      if (!valid) throw new DomainError('unauthenticated', 'The invitation is invalid or expired');
      await scopeToTenant(tx, inv.tenant_id);
      // Accepting is the guard: of two concurrent accepts, only one finds the invitation still open.
      const accepted = await tx.query('UPDATE invitations SET accepted_at = now() WHERE id = $1 AND accepted_at IS NULL', [id]);
      if (accepted.rowCount !== 1) throw new DomainError('unauthenticated', 'The invitation is invalid or expired');
      const userId = randomUUID();
      try {
        await tx.query('INSERT INTO users (id, tenant_id, email, display_name, password_hash, role) VALUES ($1, $2, $3, $4, $5, $6)', [
          userId,
          inv.tenant_id,
          inv.email,
          input.displayName,
          passwordHash,
          inv.role,
        ]);
      } catch (err) {
        if (isUniqueViolation(err)) throw new DomainError('conflict', 'An account with that email address already exists');
        throw err;
      }
      return { userId, tenantId: inv.tenant_id, role: inv.role };
    });
    return this.startSession(user);
  }

  /** `expiresAt` goes to the database as the instant it names: PostgreSQL refuses offsets beyond +-15:59 that ISO 8601 allows. */
  async createApiKey(principal: Principal, input: { name: string; role: Role; expiresAt?: string }) {
    if (principal.kind !== 'user') throw new DomainError('forbidden', 'API keys are created by people, not by other keys');
    const key = generateApiKey(this.deps.config.AUTH_API_KEY_PEPPER);
    const id = randomUUID();
    const { rows } = await withTenant(this.deps.db, principal.tenantId, (tx) =>
      tx.query<{ created_at: Date; expires_at: Date | null }>(
        `INSERT INTO api_keys (id, tenant_id, key_id, secret_hash, name, role, created_by, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         RETURNING created_at, expires_at`,
        [id, principal.tenantId, key.keyId, key.secretHash, input.name, input.role, principal.userId, input.expiresAt ? new Date(input.expiresAt) : null],
      ),
    );
    const row = rows[0]!;
    return {
      id,
      name: input.name,
      role: input.role,
      prefix: `ffk_${key.keyId}`,
      createdAt: row.created_at.toISOString(),
      expiresAt: row.expires_at?.toISOString() ?? null,
      key: key.plaintext,
    };
  }

  async listApiKeys(principal: Principal) {
    return withTenant(this.deps.db, principal.tenantId, async (tx) => {
      const { rows } = await tx.query<{ id: string; key_id: string; name: string; role: Role; created_at: Date; expires_at: Date | null; revoked_at: Date | null }>(
        'SELECT id, key_id, name, role, created_at, expires_at, revoked_at FROM api_keys ORDER BY created_at, id',
      );
      return rows.map((k) => ({
        id: k.id,
        name: k.name,
        role: k.role,
        prefix: `ffk_${k.key_id}`,
        createdAt: k.created_at.toISOString(),
        expiresAt: k.expires_at?.toISOString() ?? null,
        revokedAt: k.revoked_at?.toISOString() ?? null,
      }));
    });
  }

  async revokeApiKey(principal: Principal, id: string): Promise<void> {
    const { rowCount } = await withTenant(this.deps.db, principal.tenantId, (tx) =>
      tx.query('UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1', [id]),
    );
    if (!rowCount) throw new DomainError('not-found', `No API key ${id}`);
  }

  /**
   * An admin changes a person's role or status. The tenant keeps at least one active admin: the active admins are
   * locked first (in id order), so two admins demoting each other at once cannot both succeed. The change applies
   * to the person's current tokens and keys from their next request (the status cache is written after the commit).
   */
  async updateUser(principal: Principal, userId: string, change: { role?: Role; status?: UserStatus }) {
    const user = await withTenant(this.deps.db, principal.tenantId, async (tx) => {
      const admins = (await tx.query<{ id: string }>("SELECT id FROM users WHERE role = 'admin' AND status = 'active' ORDER BY id FOR UPDATE")).rows.map((r) => r.id);
      const { rows } = await tx.query<{ id: string; role: Role; status: UserStatus }>('SELECT id, role, status FROM users WHERE id = $1 FOR UPDATE', [userId]);
      const current = rows[0];
      if (!current) throw new DomainError('not-found', `No user ${userId}`);
      const next = { role: change.role ?? current.role, status: change.status ?? current.status };
      const staysAdmin = next.role === 'admin' && next.status === 'active';
      if (admins.includes(userId) && !staysAdmin && admins.length === 1) {
        throw new DomainError('conflict', 'This is the last active admin of the organisation: make another admin first');
      }
      const updated = await tx.query<{ id: string; email: string; display_name: string; role: Role; status: UserStatus; created_at: Date }>(
        'UPDATE users SET role = $2, status = $3 WHERE id = $1 RETURNING id, email, display_name, role, status, created_at',
        [userId, next.role, next.status],
      );
      return updated.rows[0]!;
    });
    await this.deps.accounts.userChanged(userId, user.status, user.role);
    return { id: user.id, email: user.email, displayName: user.display_name, role: user.role, status: user.status, createdAt: user.created_at.toISOString() };
  }

  /** A platform operator suspends, closes or reopens an organisation: its people and keys are refused meanwhile. */
  async setTenantStatus(tenantId: string, status: TenantStatus): Promise<{ id: string; status: TenantStatus }> {
    const { rowCount } = await withTenant(this.deps.db, tenantId, (tx) => tx.query('UPDATE tenants SET status = $2 WHERE id = $1', [tenantId, status]));
    if (!rowCount) throw new DomainError('not-found', `No organisation ${tenantId}`);
    await this.deps.accounts.tenantChanged(tenantId, status);
    return { id: tenantId, status };
  }

  private async startSession(user: Omit<Session, 'sid'>): Promise<Tokens> {
    const { session, refreshToken } = await this.deps.sessions.create(user);
    return { ...(await this.accessToken(session)), refreshToken };
  }

  private async accessToken(session: Session) {
    const ttl = this.deps.config.AUTH_ACCESS_TOKEN_TTL_SECONDS;
    const accessToken = await this.deps.jwt.sign({ sub: session.userId, tid: session.tenantId, role: session.role, sid: session.sid }, ttl);
    return { tokenType: 'Bearer' as const, accessToken, expiresIn: ttl };
  }
}
