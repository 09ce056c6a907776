-- Up Migration

-- No NOTIFY at commit. PostgreSQL serialises the commits of every transaction that sent a notification on one
-- cluster-wide lock (taken in PreCommit_Notify, held until the commit is durable), so a per-commit wake-up turned
-- every outbox writer in every database of the cluster into a queue. The relay polls instead, adaptively: at
-- once while rows keep coming, backing off to a short cap when idle (platform/events/outbox-relay.ts).
DROP TRIGGER outbox_notify ON outbox;
DROP FUNCTION outbox_notify();

-- The Kafka key: the business aggregate that orders the event with others, so they share a partition and arrive
-- in order. Usually the event's own aggregate; a payment that pays an invoice is keyed by the invoice, with the
-- invoice's own events. Rows written before this are keyed by their aggregate, as they were published.
ALTER TABLE outbox ADD COLUMN partition_key text;
UPDATE outbox SET partition_key = aggregate_id;
ALTER TABLE outbox ALTER COLUMN partition_key SET NOT NULL,
  ADD CONSTRAINT outbox_partition_key CHECK (length(partition_key) BETWEEN 1 AND 200);

-- Down Migration
ALTER TABLE outbox DROP COLUMN partition_key;
CREATE FUNCTION outbox_notify() RETURNS trigger
  LANGUAGE plpgsql
  AS $$ BEGIN PERFORM pg_notify('finflow_outbox', ''); RETURN NULL; END $$;
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();
