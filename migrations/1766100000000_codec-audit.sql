-- Up Migration

-- Every call of the Temporal codec endpoint (POST /api/codec/decode|encode), allowed or refused: who called, for
-- which tenant's payloads (read from their key ids), how many, and the outcome. Platform data, not a tenant's: the
-- application may only append (no SELECT, UPDATE or DELETE), so a compromised API can neither read the trail nor
-- cover its tracks; operators read it as the owner.
CREATE TABLE codec_audit (
  id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at                 timestamptz NOT NULL DEFAULT now(),
  request_id         text NOT NULL CHECK (length(request_id) <= 128),
  operation          text NOT NULL CHECK (operation IN ('decode', 'encode')),
  -- user:<id>, api_key:<id> or operator:<name>
  caller             text NOT NULL CHECK (caller ~ '^(user|api_key|operator):[A-Za-z0-9._-]{1,64}$'),
  caller_tenant_id   uuid,
  -- Decode: the tenants whose keys the payloads name; encode: the tenant encoded for.
  payload_tenant_ids uuid[] NOT NULL,
  -- Payloads under a former namespace-wide key (they name no tenant).
  namespace_key_payloads integer NOT NULL DEFAULT 0,
  payload_count      integer NOT NULL CHECK (payload_count >= 0),
  outcome            text NOT NULL CHECK (outcome IN ('ok', 'refused', 'invalid')),
  CHECK ((caller LIKE 'operator:%') = (caller_tenant_id IS NULL))
);
CREATE INDEX codec_audit_at ON codec_audit (at);
GRANT INSERT ON codec_audit TO finflow_app;

-- Down Migration
DROP TABLE codec_audit;
