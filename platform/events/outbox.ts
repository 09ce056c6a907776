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

/**
 * Appends an event to the outbox inside the caller's transaction (which must be tenant-scoped). Returns false when
 * that event id was already written: the change it announces was already committed once.
 */
export async function appendToOutbox<T>(client: PoolClient, e: OutboxEvent<T>): Promise<boolean> {
  const event = cloudEvent({
    id: e.eventId,
    type: e.type,
    source: e.source ?? `finflow/${e.aggregateType}`,
    subject: `${e.aggregateType}/${e.aggregateId}`,
    tenantId: e.tenantId,
    data: e.data,
  });
  const res = await client.query(
    `INSERT INTO outbox (event_id, tenant_id, topic, event_type, aggregate_type, aggregate_id, event)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (event_id) DO NOTHING`,
    [e.eventId, e.tenantId, EVENT_TOPICS[e.type], e.type, e.aggregateType, e.aggregateId, event],
  );
  return res.rowCount === 1;
}
