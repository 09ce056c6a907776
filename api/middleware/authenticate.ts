import type { Context, Middleware } from 'koa';
import type { Pool } from 'pg';
import type { Role } from '../../core/identity/rbac';
import { looksLikeApiKey, parseApiKey, secretMatches } from '../../platform/auth/api-keys';
import type { AccountStatus, Standing } from '../../platform/auth/account-status';
import type { AccessClaims, JwtKeySet } from '../../platform/auth/jwt';
import { looksLikeOperatorToken, type OperatorTokens } from '../../platform/auth/operators';
import type { SessionStore } from '../../platform/auth/sessions';
import { inTransaction } from '../../platform/db/pool';
import { DomainError } from '../errors';

/** Who is calling: a person (through a session) or a client server (through an API key). */
export type Principal =
  | { kind: 'user'; userId: string; tenantId: string; role: Role; sessionId: string }
  | { kind: 'api_key'; apiKeyId: string; tenantId: string; role: Role };

export interface AuthDeps {
  db: Pool;
  jwt: JwtKeySet;
  sessions: SessionStore;
  apiKeyPepper: Buffer;
  operators: OperatorTokens;
  accounts: AccountStatus;
}

/**
 * Reads `Authorization: Bearer <token>`: an access token or an API key makes a tenant principal, an `ffo_` token a
 * platform operator (ctx.state.operator). No header: the request goes on anonymous (public routes only). A header
 * that does not authenticate is a 401 at once, whatever the route: a bad credential is never silently ignored.
 * Every request also checks that the organisation is active and that the person (who logged in, or who created the
 * API key) is active, and takes their current role (platform/auth/account-status.ts: cached for a few seconds).
 */
export function authenticate(deps: AuthDeps): Middleware {
  return async function authenticateMiddleware(ctx, next) {
    await identify(deps, ctx);
    await next();
  };
}

/** The bearer token of `Authorization`, undefined without the header; a header in another shape is a 401. */
export function bearerToken(ctx: Context): string | undefined {
  const header = ctx.get('authorization');
  if (!header) return undefined;
  const m = /^Bearer ([A-Za-z0-9._~+/=-]{10,2048})$/.exec(header);
  if (!m) throw new DomainError('unauthenticated', 'Authorization must be "Bearer <token>"');
  return m[1]!;
}

/** Whether a (well-formed) bearer token is an access token: neither a platform operator's token nor an API key. */
export const isAccessToken = (token: string) => !looksLikeOperatorToken(token) && !looksLikeApiKey(token);

/** Sets ctx.state.principal or ctx.state.operator from the request's credential (what `authenticate` does). */
export async function identify(deps: AuthDeps, ctx: Context): Promise<void> {
  const token = bearerToken(ctx);
  if (!token) return;
  if (looksLikeOperatorToken(token)) {
    // A platform operator is no tenant's principal: only routes open to operators accept one.
    ctx.state.operator = deps.operators.identify(token);
    if (!ctx.state.operator) throw new DomainError('unauthenticated', 'The operator token is unknown');
  } else {
    ctx.state.principal = looksLikeApiKey(token) ? await fromApiKey(deps, token) : await fromAccessToken(deps, token);
  }
}

/** The claims of a valid access token, or a 401. */
export async function verifiedClaims(deps: Pick<AuthDeps, 'jwt'>, token: string): Promise<AccessClaims> {
  try {
    return await deps.jwt.verify(token);
  } catch {
    throw new DomainError('unauthenticated', 'The access token is invalid or expired');
  }
}

/** The principal of a verified access token whose session is open and whose owners may act. */
export function userPrincipal(claims: AccessClaims, standing: Standing & { sessionActive: boolean }): Principal {
  if (!standing.sessionActive) throw new DomainError('unauthenticated', 'The session has ended; log in again');
  const role = mayAct(standing);
  return { kind: 'user', userId: claims.sub, tenantId: claims.tid, role, sessionId: claims.sid };
}

async function fromAccessToken(deps: AuthDeps, token: string): Promise<Principal> {
  const claims = await verifiedClaims(deps, token);
  return userPrincipal(claims, await standingOf(deps, claims.tid, claims.sub, deps.sessions.keyOf(claims.sid)));
}

async function fromApiKey(deps: AuthDeps, token: string): Promise<Principal> {
  const parsed = parseApiKey(token);
  if (!parsed) throw new DomainError('unauthenticated', 'The API key is malformed');
  // Before authentication the tenant is unknown: the policy admits exactly the key row named here.
  const row = await inTransaction(deps.db, async (tx) => {
    await tx.query("SELECT set_config('finflow.api_key_id', $1, true)", [parsed.keyId]);
    const { rows } = await tx.query<{ id: string; tenant_id: string; role: Role; secret_hash: Buffer; revoked_at: Date | null; expired: boolean; created_by: string }>(
      'SELECT id, tenant_id, role, secret_hash, revoked_at, coalesce(expires_at <= now(), false) AS expired, created_by FROM api_keys WHERE key_id = $1',
      [parsed.keyId],
    );
    return rows[0];
  });
  if (!row || row.revoked_at || row.expired || !secretMatches(deps.apiKeyPepper, parsed.secret, row.secret_hash)) {
    throw new DomainError('unauthenticated', 'The API key is unknown, revoked or expired');
  }
  // The key keeps its own role; it acts only while its organisation and the person who created it are active.
  mayAct(await standingOf(deps, row.tenant_id, row.created_by));
  return { kind: 'api_key', apiKeyId: row.id, tenantId: row.tenant_id, role: row.role };
}

export async function standingOf(deps: AuthDeps, tenantId: string, userId: string, sessionKey?: string) {
  try {
    return await deps.accounts.check(tenantId, userId, sessionKey);
  } catch {
    throw new DomainError('dependency-unavailable', 'The API is temporarily unavailable; retry shortly');
  }
}

/** The person's current role, or a 401 when they or their organisation may no longer act. */
export function mayAct(standing: Standing): Role {
  if (!standing.tenantActive) throw new DomainError('unauthenticated', 'The organisation is suspended or closed');
  if (!standing.user?.active) throw new DomainError('unauthenticated', 'The account is disabled');
  return standing.user.role;
}
