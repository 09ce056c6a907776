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

-- Publication state: pending -> published, or pending -> dead when the broker refuses the row itself (too large,
-- invalid) `OUTBOX_DEAD_LETTER_AFTER` times: the relay moves on instead of holding every tenant's events behind it.
-- `rejections` counts those refusals only; `publish_attempts` and `last_error` also count outages. Existing rows
-- read as published (a constant default costs no rewrite); only the unpublished backlog is updated.
ALTER TABLE outbox
  ADD COLUMN status text NOT NULL DEFAULT 'published' CHECK (status IN ('pending', 'published', 'dead')),
  ADD COLUMN rejections integer NOT NULL DEFAULT 0 CHECK (rejections >= 0),
  ADD COLUMN dead_at timestamptz;
UPDATE outbox SET status = 'pending' WHERE published_at IS NULL;
ALTER TABLE outbox
  ALTER COLUMN status SET DEFAULT 'pending',
  ADD CONSTRAINT outbox_published_state CHECK ((status = 'published') = (published_at IS NOT NULL)),
  ADD CONSTRAINT outbox_dead_state CHECK ((status = 'dead') = (dead_at IS NOT NULL));
DROP INDEX outbox_unpublished;
CREATE INDEX outbox_pending ON outbox (id) WHERE status = 'pending';
CREATE INDEX outbox_dead ON outbox (dead_at) WHERE status = 'dead';

-- Writers fill the event, never its publication state.
REVOKE INSERT ON outbox FROM finflow_app;
GRANT INSERT (event_id, tenant_id, topic, event_type, aggregate_type, aggregate_id, partition_key, event) ON outbox TO finflow_app;
-- The relay marks rows published or dead (and an operator, as the relay role, may set a dead row back to pending).
GRANT UPDATE (status, rejections, dead_at) ON outbox TO finflow_relay;

-- Ops: the dead letters (run as the relay role, which reads every tenant's rows):
--   SELECT * FROM outbox_dead_letters ORDER BY dead_at DESC;
CREATE VIEW outbox_dead_letters WITH (security_invoker = true) AS
  SELECT id, event_id, tenant_id, topic, event_type, aggregate_type, aggregate_id, partition_key, rejections, publish_attempts,
         last_error AS reason, octet_length(event::text) AS event_bytes, created_at, dead_at
    FROM outbox
   WHERE status = 'dead';
GRANT SELECT ON outbox_dead_letters TO finflow_relay;

-- Retention: the relay deletes published rows older than OUTBOX_RETENTION_HOURS, a small batch at a time, oldest
-- first. Only published rows may be deleted, by anyone: a pending row is an event not yet announced, a dead one is
-- evidence an operator must see.
CREATE INDEX outbox_published ON outbox (published_at) WHERE status = 'published';
CREATE FUNCTION outbox_refuse_delete() RETURNS trigger
  LANGUAGE plpgsql
  AS $$ BEGIN
    RAISE EXCEPTION 'permission denied: outbox row % is %; only published rows are purged', OLD.id, OLD.status USING ERRCODE = 'insufficient_privilege';
  END $$;
CREATE TRIGGER outbox_refuse_delete BEFORE DELETE ON outbox FOR EACH ROW WHEN (OLD.status <> 'published') EXECUTE FUNCTION outbox_refuse_delete();
GRANT DELETE ON outbox TO finflow_relay;

-- Down Migration
REVOKE DELETE ON outbox FROM finflow_relay;
DROP TRIGGER outbox_refuse_delete ON outbox;
DROP FUNCTION outbox_refuse_delete();
DROP INDEX outbox_published;
DROP VIEW outbox_dead_letters;
REVOKE UPDATE (status, rejections, dead_at) ON outbox FROM finflow_relay;
REVOKE INSERT (event_id, tenant_id, topic, event_type, aggregate_type, aggregate_id, partition_key, event) ON outbox FROM finflow_app;
GRANT INSERT ON outbox TO finflow_app;
DROP INDEX outbox_dead;
DROP INDEX outbox_pending;
CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;
ALTER TABLE outbox DROP COLUMN dead_at, DROP COLUMN rejections, DROP COLUMN status;
ALTER TABLE outbox DROP COLUMN partition_key;
CREATE FUNCTION outbox_notify() RETURNS trigger
  LANGUAGE plpgsql
  AS $$ BEGIN PERFORM pg_notify('finflow_outbox', ''); RETURN NULL; END $$;
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();
