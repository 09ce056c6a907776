import type { PoolClient } from 'pg';
import { cloudEvent, EVENT_TOPICS, type EventType } from './cloudevent';

export interface OutboxEvent<T> {
  /** Deterministic (platform/ids.ts) so a retried writer re-derives the same id and the insert is a no-op. */
  eventId: string;
  type: EventType;
  tenantId: string;
  aggregateType: string;
  aggregateId: string;
  data: T;
  source?: string;
}

/** The outbox columns a writer fills, in the order of `outboxRow`'s values. */
export const OUTBOX_COLUMNS = ['event_id', 'tenant_id', 'topic', 'event_type', 'aggregate_type', 'aggregate_id', 'event'] as const;

/** The outbox row an event becomes: its values in OUTBOX_COLUMNS order. */
export function outboxRow<T>(e: OutboxEvent<T>): unknown[] {
  const event = cloudEvent({
    id: e.eventId,
    type: e.type,
    source: e.source ?? `finflow/${e.aggregateType}`,
    subject: `${e.aggregateType}/${e.aggregateId}`,
    tenantId: e.tenantId,
    data: e.data,
  });
  return [e.eventId, e.tenantId, EVENT_TOPICS[e.type], e.type, e.aggregateType, e.aggregateId, event];
}

/**
 * Appends an event to the outbox inside the caller's transaction (which must be tenant-scoped). Returns false when
 * that event id was already written: the change it announces was already committed once.
 */
export async function appendToOutbox<T>(client: PoolClient, e: OutboxEvent<T>): Promise<boolean> {
  const res = await client.query(
    `INSERT INTO outbox (${OUTBOX_COLUMNS.join(', ')}) VALUES (${OUTBOX_COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})
     ON CONFLICT (event_id) DO NOTHING`,
    outboxRow(e),
  );
  return res.rowCount === 1;
}
