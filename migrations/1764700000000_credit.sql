-- Up Migration

-- Credit applications. The applicant's identity stays here, under tenant RLS, and nowhere else: the
-- CreditApplication workflow carries only ids, and reads what KYC and scoring need from this row. The national id
-- is also kept as a keyed hash (HMAC under PII_HASH_KEY) so the deny list can be matched without storing it twice.
CREATE TABLE credit_applications (
  id                   uuid PRIMARY KEY,
  tenant_id            uuid NOT NULL REFERENCES tenants (id),
  idempotency_key      text NOT NULL CHECK (idempotency_key ~ '^[A-Za-z0-9._:-]{1,255}$'),
  request_hash         bytea NOT NULL,
  -- Who submitted it ('user:<id>' or 'api_key:<id>'): a client reads only its own applications.
  submitted_by         text NOT NULL CHECK (submitted_by ~ '^(user|api_key):[0-9a-f-]{36}$'),
  applicant            jsonb NOT NULL,
  national_id_hash     bytea NOT NULL,
  credit_profile       jsonb NOT NULL,
  requested_limit_minor bigint NOT NULL CHECK (requested_limit_minor > 0),
  currency             char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  status               text NOT NULL DEFAULT 'submitted'
                       CHECK (status IN ('submitted', 'kyc', 'scoring', 'in_review', 'escalated', 'approved', 'declined')),
  decision             text CHECK (decision IN ('approved', 'declined')),
  -- auto: the policy thresholds; underwriter: a review decision; kyc: identity checks failed; review_timeout: no
  -- decision before the escalation deadline.
  decided_by           text CHECK (decided_by IN ('auto', 'underwriter', 'kyc', 'review_timeout')),
  underwriter_id       text,
  probability_of_default double precision CHECK (probability_of_default >= 0 AND probability_of_default <= 1),
  model_version        text,
  reasons              jsonb NOT NULL DEFAULT '[]'::jsonb,
  approved_limit_minor bigint CHECK (approved_limit_minor > 0 AND approved_limit_minor <= requested_limit_minor),
  decided_at           timestamptz,
  created_at           timestamptz NOT NULL DEFAULT now(),
  updated_at           timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, idempotency_key),
  UNIQUE (tenant_id, id),
  -- A decision is complete or absent; an approval always carries its limit.
  CHECK ((decision IS NULL) = (decided_by IS NULL) AND (decision IS NULL) = (decided_at IS NULL)),
  CHECK ((decision = 'approved') = (approved_limit_minor IS NOT NULL)),
  CHECK (decision IS NULL OR status = decision)
);
CREATE INDEX credit_applications_list ON credit_applications (tenant_id, created_at DESC, id DESC);
CREATE INDEX credit_applications_status ON credit_applications (tenant_id, status, created_at DESC);
ALTER TABLE credit_applications ENABLE ROW LEVEL SECURITY;
ALTER TABLE credit_applications FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON credit_applications USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
GRANT SELECT, INSERT, UPDATE (status, decision, decided_by, underwriter_id, probability_of_default, model_version, reasons,
  approved_limit_minor, decided_at, updated_at) ON credit_applications TO finflow_app;

-- A decision is made once.
CREATE FUNCTION credit_decision_is_final() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.decision IS NOT NULL AND (NEW.decision IS DISTINCT FROM OLD.decision OR NEW.status IS DISTINCT FROM OLD.status
      OR NEW.approved_limit_minor IS DISTINCT FROM OLD.approved_limit_minor OR NEW.reasons IS DISTINCT FROM OLD.reasons) THEN
    RAISE EXCEPTION 'credit application % is already %', OLD.id, OLD.decision USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER credit_decision_is_final BEFORE UPDATE ON credit_applications FOR EACH ROW EXECUTE FUNCTION credit_decision_is_final();

-- An approved application's credit line. Its limit is a commitment, not a balance: it is off-balance-sheet and
-- posts nothing. Drawdowns, when they come, post to the ledger and raise drawn_minor, never above the limit.
CREATE TABLE credit_lines (
  id             uuid PRIMARY KEY,
  tenant_id      uuid NOT NULL REFERENCES tenants (id),
  application_id uuid NOT NULL,
  limit_minor    bigint NOT NULL CHECK (limit_minor > 0),
  drawn_minor    bigint NOT NULL DEFAULT 0 CHECK (drawn_minor >= 0 AND drawn_minor <= limit_minor),
  currency       char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  status         text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'frozen', 'closed')),
  opened_at      timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (tenant_id, application_id) REFERENCES credit_applications (tenant_id, id),
  UNIQUE (tenant_id, application_id)
);
ALTER TABLE credit_lines ENABLE ROW LEVEL SECURITY;
ALTER TABLE credit_lines FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON credit_lines USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
GRANT SELECT, INSERT, UPDATE (drawn_minor, status) ON credit_lines TO finflow_app;

-- KYC deny list: identities refused before scoring, matched by the keyed hash of country + national id.
CREATE TABLE kyc_deny_list (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id        uuid NOT NULL REFERENCES tenants (id),
  national_id_hash bytea NOT NULL,
  reason           text NOT NULL CHECK (length(reason) BETWEEN 1 AND 200),
  created_by       text NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, national_id_hash)
);
ALTER TABLE kyc_deny_list ENABLE ROW LEVEL SECURITY;
ALTER TABLE kyc_deny_list FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON kyc_deny_list USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
GRANT SELECT, INSERT, DELETE ON kyc_deny_list TO finflow_app;

-- Down Migration
DROP TABLE kyc_deny_list;
DROP TABLE credit_lines;
DROP TRIGGER credit_decision_is_final ON credit_applications;
DROP FUNCTION credit_decision_is_final();
DROP TABLE credit_applications;
