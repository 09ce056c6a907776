import type { Middleware } from 'koa';
import type { Pool } from 'pg';
import type { Role } from '../../core/identity/rbac';
import { looksLikeApiKey, parseApiKey, secretMatches } from '../../platform/auth/api-keys';
import type { JwtKeySet } from '../../platform/auth/jwt';
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
}

/**
 * Reads `Authorization: Bearer <token>`: an access token or an API key makes a tenant principal, an `ffo_` token a
 * platform operator (ctx.state.operator). No header: the request goes on anonymous (public routes only). A header
 * that does not authenticate is a 401 at once, whatever the route: a bad credential is never silently ignored.
 */
export function authenticate(deps: AuthDeps): Middleware {
  return async function authenticateMiddleware(ctx, next) {
    const header = ctx.get('authorization');
    if (header) {
      const m = /^Bearer ([A-Za-z0-9._~+/=-]{10,2048})$/.exec(header);
      if (!m) throw new DomainError('unauthenticated', 'Authorization must be "Bearer <token>"');
      const token = m[1]!;
      if (looksLikeOperatorToken(token)) {
        // A platform operator is no tenant's principal: only routes open to operators accept one.
        ctx.state.operator = deps.operators.identify(token);
        if (!ctx.state.operator) throw new DomainError('unauthenticated', 'The operator token is unknown');
      } else {
        ctx.state.principal = looksLikeApiKey(token) ? await fromApiKey(deps, token) : await fromAccessToken(deps, token);
      }
    }
    await next();
  };
}

async function fromAccessToken(deps: AuthDeps, token: string): Promise<Principal> {
  let claims;
  try {
    claims = await deps.jwt.verify(token);
  } catch {
    throw new DomainError('unauthenticated', 'The access token is invalid or expired');
  }
  if (!(await deps.sessions.isActive(claims.sid))) throw new DomainError('unauthenticated', 'The session has ended; log in again');
  return { kind: 'user', userId: claims.sub, tenantId: claims.tid, role: claims.role, sessionId: claims.sid };
}

async function fromApiKey(deps: AuthDeps, token: string): Promise<Principal> {
  const parsed = parseApiKey(token);
  if (!parsed) throw new DomainError('unauthenticated', 'The API key is malformed');
  // Before authentication the tenant is unknown: the policy admits exactly the key row named here.
  const row = await inTransaction(deps.db, async (tx) => {
    await tx.query("SELECT set_config('finflow.api_key_id', $1, true)", [parsed.keyId]);
    const { rows } = await tx.query<{ id: string; tenant_id: string; role: Role; secret_hash: Buffer; revoked_at: Date | null }>(
      'SELECT id, tenant_id, role, secret_hash, revoked_at FROM api_keys WHERE key_id = $1',
      [parsed.keyId],
    );
    return rows[0];
  });
  if (!row || row.revoked_at || !secretMatches(deps.apiKeyPepper, parsed.secret, row.secret_hash)) {
    throw new DomainError('unauthenticated', 'The API key is unknown or revoked');
  }
  return { kind: 'api_key', apiKeyId: row.id, tenantId: row.tenant_id, role: row.role };
}
