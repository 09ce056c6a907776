import type { PoolClient } from 'pg';
import { deterministicUuid } from '../ids';
import { cloudEvent, EVENT_TOPICS, type EventType } from './cloudevent';

/**
 * Which occurrence of an event type on an aggregate an event announces. The event id is derived from it, so a
 * retried writer (the same occurrence) re-derives the same id and the insert is a no-op, while a second real
 * occurrence (a second partial payment of an invoice, the third reminder) gets an id of its own.
 */
export type EventOccurrence =
  /** The business event's own id (the payment applied, the reminder's number), or ONCE for an event that happens at most once in its aggregate's life. */
  | { occurrence: string | number; eventId?: never }
  /** An id already unique per occurrence: minted once, in the one transaction that writes the event. */
  | { eventId: string; occurrence?: never };

/** The occurrence of an event that an aggregate has at most once (payment.created, a final credit decision). */
export const ONCE = 'once';

export type OutboxEvent<T> = EventOccurrence & {
  type: EventType;
  tenantId: string;
  aggregateType: string;
  aggregateId: string;
  /**
   * The Kafka key: the business aggregate that orders this event with others (they share a partition, so they
   * arrive in order). Default: the event's own aggregate. A payment of an invoice is keyed by the invoice.
   */
  partitionKey?: string;
  data: T;
  source?: string;
};

/** The event id of one occurrence: stable across retries, processes and releases (UUIDv5, platform/ids.ts). */
export function outboxEventId(e: { tenantId: string; aggregateType: string; aggregateId: string; type: EventType; occurrence: string | number }): string {
  return deterministicUuid('outbox-event', e.tenantId, e.aggregateType, e.aggregateId, e.type, String(e.occurrence));
}

function eventIdOf(e: OutboxEvent<unknown>): string {
  if (e.eventId !== undefined) return e.eventId;
  if (e.occurrence === undefined || e.occurrence === '') throw new TypeError(`outbox ${e.type}: an occurrence (or an eventId) is required`);
  return outboxEventId({ ...e, occurrence: e.occurrence });
}

/** The outbox columns a writer fills, in the order of `outboxRow`'s values. */
export const OUTBOX_COLUMNS = ['event_id', 'tenant_id', 'topic', 'event_type', 'aggregate_type', 'aggregate_id', 'partition_key', 'event'] as const;

/** The outbox row an event becomes: its values in OUTBOX_COLUMNS order. */
export function outboxRow<T>(e: OutboxEvent<T>): unknown[] {
  const eventId = eventIdOf(e);
  const event = cloudEvent({
    id: eventId,
    type: e.type,
    source: e.source ?? `finflow/${e.aggregateType}`,
    subject: `${e.aggregateType}/${e.aggregateId}`,
    tenantId: e.tenantId,
    data: e.data,
  });
  return [eventId, e.tenantId, EVENT_TOPICS[e.type], e.type, e.aggregateType, e.aggregateId, e.partitionKey ?? e.aggregateId, event];
}

/**
 * Appends an event to the outbox inside the caller's transaction (which must be tenant-scoped). Returns false when
 * that occurrence was already written: the change it announces was already committed once.
 */
export async function appendToOutbox<T>(client: PoolClient, e: OutboxEvent<T>): Promise<boolean> {
  const res = await client.query(
    `INSERT INTO outbox (${OUTBOX_COLUMNS.join(', ')}) VALUES (${OUTBOX_COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})
     ON CONFLICT (event_id) DO NOTHING`,
    outboxRow(e),
  );
  return res.rowCount === 1;
}
