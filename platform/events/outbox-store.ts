/**
 * The relay's side of the outbox table (migrations/1765400000000_outbox-v2.sql), as the relay role: read pending
 * rows in order, mark them published, record failures, dead-letter a row the broker refuses, purge published rows.
 */
import type { Pool } from 'pg';

export interface PendingRow {
  id: string;
  topic: string;
  partition_key: string;
  event_id: string;
  event_type: string;
  tenant_id: string;
  event: unknown;
}

/**
 * Kafka errors that refuse a message for what it is (too large, invalid), as opposed to the broker being
 * unreachable or busy: resending the same row will not help, so these count towards its dead-lettering.
 */
const REFUSALS = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_RECORD', 'CORRUPT_MESSAGE', 'INVALID_TIMESTAMP']);

/** The broker's refusal code if `err` (or an error it wraps) is one, else undefined. */
export function refusalOf(err: unknown): string | undefined {
  let e = err as { type?: unknown; cause?: unknown } | undefined;
  for (let depth = 0; e && depth < 5; depth++, e = e.cause as typeof e) {
    if (typeof e.type === 'string' && REFUSALS.has(e.type)) return e.type;
  }
  return undefined;
}

const describe = (err: unknown) => {
  const refusal = refusalOf(err);
  const message = err instanceof Error ? err.message : String(err);
  return (refusal ? `${refusal}: ${message}` : message).slice(0, 500);
};

export class OutboxStore {
  constructor(private readonly pool: Pool) {}

  async pending(limit: number): Promise<PendingRow[]> {
    const { rows } = await this.pool.query<PendingRow>(
      `SELECT id, topic, partition_key, event_id, event_type, tenant_id, event FROM outbox WHERE status = 'pending' ORDER BY id LIMIT $1`,
      [limit],
    );
    return rows;
  }

  async markPublished(rows: PendingRow[]): Promise<void> {
    await this.pool.query(
      `UPDATE outbox SET status = 'published', published_at = now(), publish_attempts = publish_attempts + 1 WHERE id = ANY($1::bigint[]) AND status = 'pending'`,
      [rows.map((r) => r.id)],
    );
  }

  /** A failed attempt that says nothing about the rows themselves (the broker is down): they stay pending. */
  async recordFailure(rows: PendingRow[], err: unknown): Promise<void> {
    await this.pool
      .query(`UPDATE outbox SET publish_attempts = publish_attempts + 1, last_error = $2 WHERE id = ANY($1::bigint[])`, [rows.map((r) => r.id), describe(err)])
      .catch(() => undefined);
  }

  /** The broker refused this row on its own: one more rejection; at `deadLetterAfter`, the row is dead. Returns whether it is. */
  async recordRefusal(row: PendingRow, err: unknown, deadLetterAfter: number): Promise<boolean> {
    const { rows } = await this.pool.query<{ status: string }>(
      `UPDATE outbox
          SET rejections = rejections + 1, publish_attempts = publish_attempts + 1, last_error = $2,
              status = CASE WHEN rejections + 1 >= $3 THEN 'dead' ELSE status END,
              dead_at = CASE WHEN rejections + 1 >= $3 THEN now() END
        WHERE id = $1 AND status = 'pending'
        RETURNING status`,
      [row.id, describe(err), deadLetterAfter],
    );
    return rows[0]?.status === 'dead';
  }

  /** Deletes up to `limit` published rows older than `retentionHours`, oldest first; returns how many. */
  async purge(retentionHours: number, limit: number): Promise<number> {
    const res = await this.pool.query(
      `DELETE FROM outbox WHERE id IN (
         SELECT id FROM outbox WHERE status = 'published' AND published_at < now() - make_interval(hours => $1) ORDER BY published_at LIMIT $2)`,
      [retentionHours, limit],
    );
    return res.rowCount ?? 0;
  }
}
