-- Up Migration

-- No NOTIFY at commit. PostgreSQL serialises the commits of every transaction that sent a notification on one
-- cluster-wide lock (taken in PreCommit_Notify, held until the commit is durable), so a per-commit wake-up turned
-- every outbox writer in every database of the cluster into a queue. The relay polls instead, adaptively: at
-- once while rows keep coming, backing off to a short cap when idle (platform/events/outbox-relay.ts).
DROP TRIGGER outbox_notify ON outbox;
DROP FUNCTION outbox_notify();

-- Down Migration
CREATE FUNCTION outbox_notify() RETURNS trigger
  LANGUAGE plpgsql
  AS $$ BEGIN PERFORM pg_notify('finflow_outbox', ''); RETURN NULL; END $$;
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();
