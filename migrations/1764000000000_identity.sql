-- Up Migration

-- Identity: users, invitations and API keys, all tenant-scoped with RLS enabled and forced.
-- Three pre-authentication lookups need one row before the tenant is known. Each is opened by a transaction-local
-- setting that names exactly that row (the email being logged in, the API key id presented, the invitation being
-- accepted); the SELECT policy admits that row and nothing else, and writes stay tenant-checked.

ALTER TABLE tenants ADD COLUMN provisioned_at timestamptz;
GRANT UPDATE (provisioned_at) ON tenants TO finflow_app;

-- A tenant's defaults, created in the registration transaction so the first request after it works.
CREATE TABLE tenant_settings (
  tenant_id        uuid PRIMARY KEY REFERENCES tenants (id),
  default_currency char(3) NOT NULL CHECK (default_currency ~ '^[A-Z]{3}$'),
  timezone         text NOT NULL DEFAULT 'UTC' CHECK (length(timezone) BETWEEN 1 AND 64),
  created_at       timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE tenant_settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenant_settings FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenant_settings USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
GRANT SELECT, INSERT, UPDATE ON tenant_settings TO finflow_app;

CREATE TABLE users (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id     uuid NOT NULL REFERENCES tenants (id),
  -- Normalised by the API (NFKC, lower case, ASCII only): one spelling per mailbox, no confusables.
  email         text NOT NULL UNIQUE CHECK (email = lower(email) AND email ~ '^[!-~]+@[a-z0-9.-]+$' AND length(email) <= 254),
  display_name  text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 100),
  password_hash text NOT NULL,
  role          text NOT NULL CHECK (role IN ('admin', 'finance', 'ops', 'underwriter', 'client')),
  status        text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX users_tenant ON users (tenant_id);
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
ALTER TABLE users FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_read ON users FOR SELECT
  USING (tenant_id = current_tenant_id() OR email = nullif(current_setting('finflow.login_email', true), ''));
CREATE POLICY tenant_insert ON users FOR INSERT WITH CHECK (tenant_id = current_tenant_id());
CREATE POLICY tenant_update ON users FOR UPDATE USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
GRANT SELECT, INSERT, UPDATE (display_name, role, status) ON users TO finflow_app;

CREATE TABLE invitations (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id   uuid NOT NULL REFERENCES tenants (id),
  email       text NOT NULL CHECK (email = lower(email)),
  role        text NOT NULL CHECK (role IN ('admin', 'finance', 'ops', 'underwriter', 'client')),
  token_hash  bytea NOT NULL,
  invited_by  uuid NOT NULL REFERENCES users (id),
  expires_at  timestamptz NOT NULL,
  accepted_at timestamptz,
  created_at  timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE invitations ENABLE ROW LEVEL SECURITY;
ALTER TABLE invitations FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_read ON invitations FOR SELECT
  USING (tenant_id = current_tenant_id() OR id = nullif(current_setting('finflow.invitation_id', true), '')::uuid);
CREATE POLICY tenant_insert ON invitations FOR INSERT WITH CHECK (tenant_id = current_tenant_id());
CREATE POLICY tenant_update ON invitations FOR UPDATE USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
GRANT SELECT, INSERT, UPDATE (accepted_at) ON invitations TO finflow_app;

CREATE TABLE api_keys (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id   uuid NOT NULL REFERENCES tenants (id),
  key_id      text NOT NULL UNIQUE CHECK (key_id ~ '^[A-Za-z0-9]{16}$'),
  -- HMAC-SHA256 of the secret under a server-side pepper: a database leak alone does not yield usable keys.
  secret_hash bytea NOT NULL,
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  role        text NOT NULL CHECK (role IN ('finance', 'ops', 'underwriter', 'client')),
  created_by  uuid NOT NULL REFERENCES users (id),
  created_at  timestamptz NOT NULL DEFAULT now(),
  revoked_at  timestamptz
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id, created_at);
ALTER TABLE api_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE api_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_read ON api_keys FOR SELECT
  USING (tenant_id = current_tenant_id() OR key_id = nullif(current_setting('finflow.api_key_id', true), ''));
CREATE POLICY tenant_insert ON api_keys FOR INSERT WITH CHECK (tenant_id = current_tenant_id());
CREATE POLICY tenant_update ON api_keys FOR UPDATE USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
GRANT SELECT, INSERT, UPDATE (revoked_at) ON api_keys TO finflow_app;

-- Consumers record each event they handled, so a redelivered event is a no-op (dedupe by event id).
CREATE TABLE processed_events (
  consumer     text NOT NULL,
  event_id     uuid NOT NULL,
  tenant_id    uuid NOT NULL REFERENCES tenants (id),
  processed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, event_id)
);
ALTER TABLE processed_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE processed_events FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON processed_events USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
GRANT SELECT, INSERT ON processed_events TO finflow_app;

-- Down Migration
DROP TABLE processed_events;
DROP TABLE api_keys;
DROP TABLE invitations;
DROP TABLE users;
DROP TABLE tenant_settings;
ALTER TABLE tenants DROP COLUMN provisioned_at;
