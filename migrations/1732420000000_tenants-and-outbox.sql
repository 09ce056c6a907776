-- Up Migration

-- Tenant scoping. The application sets `finflow.tenant_id` per transaction (platform/db/pool.ts withTenant) from
-- the authenticated principal; every table with business data has a policy on it, ENABLED and FORCED, so even
-- the owner role sees nothing without a tenant. The application role owns nothing and cannot bypass RLS.
CREATE FUNCTION current_tenant_id() RETURNS uuid
  LANGUAGE sql STABLE
  AS $$ SELECT nullif(current_setting('finflow.tenant_id', true), '')::uuid $$;

CREATE TABLE tenants (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  slug             text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
  name             text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  status           text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'closed')),
  default_currency char(3) NOT NULL DEFAULT 'USD' CHECK (default_currency ~ '^[A-Z]{3}$'),
  created_at       timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenants USING (id = current_tenant_id()) WITH CHECK (id = current_tenant_id());
GRANT SELECT, INSERT ON tenants TO finflow_app;

-- The platform's own tenant: operational workflows (the smoke probe) run under it.
SELECT set_config('finflow.tenant_id', '00000000-0000-0000-0000-000000000000', true);
INSERT INTO tenants (id, slug, name) VALUES ('00000000-0000-0000-0000-000000000000', 'system', 'FinFlow platform');
SELECT set_config('finflow.tenant_id', '', true);

-- Transactional outbox: an event is written in the same transaction as the change it announces; the relay
-- (platform/events/outbox-relay.ts) publishes rows to Kafka in id order and marks them published. `event` is the
-- complete CloudEvent; `event_id` is unique, so a retried writer cannot announce the same change twice.
CREATE TABLE outbox (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  event_id         uuid NOT NULL UNIQUE,
  tenant_id        uuid NOT NULL REFERENCES tenants (id),
  topic            text NOT NULL CHECK (topic ~ '^[a-z]+(\.[a-z]+)*$'),
  event_type       text NOT NULL,
  aggregate_type   text NOT NULL,
  aggregate_id     text NOT NULL,
  event            jsonb NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now(),
  published_at     timestamptz,
  publish_attempts integer NOT NULL DEFAULT 0,
  last_error       text
);
CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;
CREATE INDEX outbox_aggregate ON outbox (tenant_id, aggregate_type, aggregate_id, id);
ALTER TABLE outbox ENABLE ROW LEVEL SECURITY;
ALTER TABLE outbox FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON outbox USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
-- Writers append; only the relay (BYPASSRLS, no other grants) reads across tenants and marks rows published.
GRANT SELECT, INSERT ON outbox TO finflow_app;
GRANT SELECT, UPDATE (published_at, publish_attempts, last_error) ON outbox TO finflow_relay;

-- Wake the relay at commit instead of waiting for its next poll.
CREATE FUNCTION outbox_notify() RETURNS trigger
  LANGUAGE plpgsql
  AS $$ BEGIN PERFORM pg_notify('finflow_outbox', ''); RETURN NULL; END $$;
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();

-- The smoke probe's record: proves API -> Temporal -> worker -> Postgres + outbox end to end.
CREATE TABLE smoke_runs (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id   uuid NOT NULL REFERENCES tenants (id),
  workflow_id text NOT NULL,
  message     text NOT NULL CHECK (length(message) <= 200),
  created_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, workflow_id)
);
ALTER TABLE smoke_runs ENABLE ROW LEVEL SECURITY;
ALTER TABLE smoke_runs FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON smoke_runs USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
GRANT SELECT, INSERT ON smoke_runs TO finflow_app;

-- Down Migration
DROP TABLE smoke_runs;
DROP TRIGGER outbox_notify ON outbox;
DROP FUNCTION outbox_notify();
DROP TABLE outbox;
DROP TABLE tenants;
DROP FUNCTION current_tenant_id();
