/**
 * PostgreSQL access. The application connects as a role that owns nothing and cannot bypass row-level security;
 * every query on business data runs inside `withTenant`, which sets the tenant for that transaction only, so a
 * pooled connection never carries one request's tenant into another.
 */
import { Pool, type PoolClient, type QueryResult, type QueryResultRow } from 'pg';

export type { Pool, PoolClient };

export function createPool(connectionString: string, max = 10): Pool {
  const pool = new Pool({ connectionString, max, connectionTimeoutMillis: 5000, idleTimeoutMillis: 30_000 });
  // An idle client losing its connection must not crash the process; the next checkout reconnects.
  pool.on('error', () => undefined);
  return pool;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** How a transaction begins: read-write (the default), or a consistent read-only snapshot for reports. */
export type TransactionMode = 'read-write' | 'snapshot';
const BEGIN: Record<TransactionMode, string> = { 'read-write': 'BEGIN', snapshot: 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY' };

export async function inTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>, mode: TransactionMode = 'read-write'): Promise<T> {
  const client = await pool.connect();
  // A connection whose ROLLBACK failed is in an unknown state (or dead): it is destroyed, not returned to the pool.
  // A connection that drops while checked out emits 'error', which must be handled here (the pool only listens on
  // idle clients): unhandled, it would take the process down.
  let broken: Error | undefined;
  const onError = (err: Error) => {
    broken = err;
  };
  client.on('error', onError);
  try {
    await client.query(BEGIN[mode]);
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch((rollbackErr: unknown) => {
      broken = rollbackErr instanceof Error ? rollbackErr : new Error(String(rollbackErr));
    });
    throw err;
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
}

/**
 * Scopes the rest of the current transaction to one tenant. For a transaction that learns its tenant on the
 * way (accepting an invitation); otherwise use `withTenant`.
 */
export async function scopeToTenant(tx: PoolClient, tenantId: string): Promise<void> {
  if (!UUID.test(tenantId)) throw new TypeError('scopeToTenant: tenantId must be a UUID');
  await tx.query("SELECT set_config('finflow.tenant_id', $1, true)", [tenantId]);
}

/** Runs `fn` in a transaction scoped to one tenant: row-level security shows and accepts only that tenant's rows. */
export function withTenant<T>(pool: Pool, tenantId: string, fn: (client: PoolClient) => Promise<T>, mode: TransactionMode = 'read-write'): Promise<T> {
  if (!UUID.test(tenantId)) throw new TypeError('withTenant: tenantId must be a UUID');
  return inTransaction(
    pool,
    async (client) => {
      await scopeToTenant(client, tenantId);
      return fn(client);
    },
    mode,
  );
}

/**
 * One read scoped to one tenant in ONE round trip, for the per-request hot path (GET /api/me, the account standing
 * behind every authenticated request): the tenant scope and the statement travel as one simple-protocol message,
 * which PostgreSQL runs as one implicit transaction, so set_config(..., true) holds for the statement and ends
 * with it, exactly as in `withTenant` (row-level security applies the same way). The simple protocol has no bind
 * parameters, so the statement takes UUIDs only: `$1`, `$2`... name `uuids`, each checked against the UUID pattern
 * and written in as a literal; anything else is refused before a byte is sent.
 */
export async function readAsTenant<R extends QueryResultRow>(pool: Pool, tenantId: string, text: string, uuids: readonly string[] = []): Promise<R[]> {
  for (const id of [tenantId, ...uuids]) if (!UUID.test(id)) throw new TypeError('readAsTenant: tenantId and values must be UUIDs');
  const statement = text.replace(/\$(\d+)/g, (_, i: string) => {
    const id = uuids[Number(i) - 1];
    if (id === undefined) throw new TypeError(`readAsTenant: no value for $${i}`);
    return `'${id}'::uuid`;
  });
  if (statement.includes(';')) throw new TypeError('readAsTenant: one statement only');
  const results = (await pool.query(`SELECT set_config('finflow.tenant_id', '${tenantId}', true); ${statement}`)) as unknown as QueryResult<R>[];
  return results[1]!.rows;
}
