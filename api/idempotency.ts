/**
 * Idempotent creation: an Idempotency-Key and a hash of the request are stored with the resource they created, so
 * a repeat of the same request finds the same resource for as long as it exists (not only within Temporal's
 * retention), and a different request under a used key is refused with 422.
 */
import { createHash } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import { withTenant } from '../platform/db/pool';
import { DomainError } from './errors';

/** A hash of a request body with its object keys sorted. */
export function requestHash(body: unknown): Buffer {
  const ordered = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(ordered)
    : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, ordered((v as Record<string, unknown>)[k])]))
    : v;
  return createHash('sha256').update(JSON.stringify(ordered(body))).digest();
}

/** Where each table records who sent the key: a key is its caller's own. */
const OWNER_COLUMN = { payments: 'created_by', credit_applications: 'submitted_by', payment_refund_requests: 'requested_by' } as const;

/**
 * The id of the resource this key created in `table` (which has `idempotency_key` and `request_hash` columns),
 * creating it with `insert` (in the same tenant-scoped transaction) when the key is new. A key belongs to the
 * principal that sent it (`owner`, as the table records it): another caller's use of the same key is another key,
 * so nobody learns whether someone else used it, nor gets their resource. A row stored without an owner (from before
 * owners were recorded) still answers its key for whoever repeats it.
 */
export async function createOnce(
  db: Pool,
  tenantId: string,
  table: keyof typeof OWNER_COLUMN,
  owner: string,
  idempotencyKey: string,
  body: unknown,
  insert: (tx: PoolClient, requestHash: Buffer) => Promise<string>,
): Promise<string> {
  const hash = requestHash(body);
  const column = OWNER_COLUMN[table];
  const existing = async (tx: PoolClient) => {
    const row = (
      await tx.query<{ id: string; request_hash: Buffer }>(
        `SELECT id, request_hash FROM ${table} WHERE idempotency_key = $1 AND (${column} = $2 OR ${column} IS NULL) ORDER BY ${column} NULLS LAST LIMIT 1`,
        [idempotencyKey, owner],
      )
    ).rows[0];
    if (row && !row.request_hash.equals(hash)) throw new DomainError('unprocessable-entity', 'This Idempotency-Key was used with a different request');
    return row?.id;
  };
  try {
    return await withTenant(db, tenantId, async (tx) => (await existing(tx)) ?? insert(tx, hash));
  } catch (err) {
    // Two first requests with one key raced: the loser finds the winner's resource.
    if ((err as { code?: string }).code !== '23505') throw err;
    return withTenant(db, tenantId, async (tx) => (await existing(tx))!);
  }
}
