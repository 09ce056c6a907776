-- Up Migration

-- Applicants' personal data is encrypted at rest, column by column (AES-256-GCM under PII_ENCRYPTION_KEYS, the key
-- id in each value: 'pii:v1:<key id>:<base64 of iv, ciphertext, tag>', bound to its tenant, application and column;
-- platform/pii.ts, modules/credit/applicants.ts). The national id stays a keyed hash only (national_id_hash): it is
-- no longer kept in the clear at all. The country is not encrypted (it qualifies the hash, says little of a person).
--
-- The plaintext `applicant` document is superseded: new rows leave it NULL. Rows written before keep it until
-- `npm run pii:erase -- --encrypt-plaintext` (also run by every retention run, the CronJob) has encrypted them into
-- these columns and cleared it: SQL cannot encrypt under the application's key. Reads fall back to it meanwhile.
ALTER TABLE credit_applications
  ADD COLUMN applicant_given_name text CHECK (applicant_given_name ~ '^pii:v1:[A-Za-z0-9._-]{1,64}:[A-Za-z0-9+/]+={0,2}$'),
  ADD COLUMN applicant_family_name text CHECK (applicant_family_name ~ '^pii:v1:[A-Za-z0-9._-]{1,64}:[A-Za-z0-9+/]+={0,2}$'),
  ADD COLUMN applicant_date_of_birth text CHECK (applicant_date_of_birth ~ '^pii:v1:[A-Za-z0-9._-]{1,64}:[A-Za-z0-9+/]+={0,2}$'),
  ADD COLUMN applicant_address text CHECK (applicant_address ~ '^pii:v1:[A-Za-z0-9._-]{1,64}:[A-Za-z0-9+/]+={0,2}$'),
  ADD COLUMN applicant_country char(2) CHECK (applicant_country ~ '^[A-Z]{2}$'),
  -- Set when the applicant's personal data was erased (a GDPR request or the retention period): the application's
  -- financial record (profile, limits, decision, credit line) stays.
  ADD COLUMN pii_erased_at timestamptz;
ALTER TABLE credit_applications ALTER COLUMN applicant DROP NOT NULL;
ALTER TABLE credit_applications ALTER COLUMN national_id_hash DROP NOT NULL;
-- An application holds its applicant (in the clear from before, or encrypted), or was erased, never neither.
ALTER TABLE credit_applications ADD CONSTRAINT credit_applications_applicant_held CHECK (
  pii_erased_at IS NOT NULL
  OR (national_id_hash IS NOT NULL AND (applicant IS NOT NULL
      OR (applicant_given_name IS NOT NULL AND applicant_family_name IS NOT NULL AND applicant_date_of_birth IS NOT NULL
          AND applicant_address IS NOT NULL AND applicant_country IS NOT NULL))));
-- Erased is erased: nothing personal stays, and nothing is written back.
ALTER TABLE credit_applications ADD CONSTRAINT credit_applications_erased_holds_nothing CHECK (
  pii_erased_at IS NULL
  OR (applicant IS NULL AND applicant_given_name IS NULL AND applicant_family_name IS NULL AND applicant_date_of_birth IS NULL
      AND applicant_address IS NULL AND national_id_hash IS NULL));
-- The application role encrypts older rows and erases (the retention job and GDPR requests run as it).
GRANT UPDATE (applicant, applicant_given_name, applicant_family_name, applicant_date_of_birth, applicant_address, applicant_country,
  national_id_hash, pii_erased_at) ON credit_applications TO finflow_app;

-- Who erased whose data, when and why: the audit of every erasure. Ids only, nothing personal.
CREATE TABLE pii_erasures (
  id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id      uuid NOT NULL REFERENCES tenants (id),
  subject_type   text NOT NULL CHECK (subject_type IN ('credit_application')),
  subject_id     uuid NOT NULL,
  -- request: a data subject's erasure request (GDPR art. 17); retention: the retention period lapsed.
  reason         text NOT NULL CHECK (reason IN ('request', 'retention')),
  requested_by   text NOT NULL CHECK (length(requested_by) BETWEEN 1 AND 200),
  erased_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX pii_erasures_subject ON pii_erasures (tenant_id, subject_type, subject_id);
ALTER TABLE pii_erasures ENABLE ROW LEVEL SECURITY;
ALTER TABLE pii_erasures FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON pii_erasures USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
GRANT SELECT, INSERT ON pii_erasures TO finflow_app;

-- The retention job and the plaintext backfill find their rows across tenants, which the application role cannot:
-- only through these functions, which run as the owner, see only such rows (the policies below) and answer ids.
CREATE POLICY pii_retention ON credit_applications FOR SELECT TO CURRENT_USER USING (decided_at IS NOT NULL AND pii_erased_at IS NULL);
CREATE POLICY pii_plaintext ON credit_applications FOR SELECT TO CURRENT_USER USING (applicant IS NOT NULL);

-- Decided applications whose decision is older than p_days and whose applicant is not yet erased, oldest first.
CREATE FUNCTION credit_applications_due_for_erasure(p_days integer, p_limit integer)
  RETURNS TABLE (tenant_id uuid, id uuid)
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  IF p_days IS NULL OR p_days < 1 OR p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 10000 THEN
    RAISE EXCEPTION 'days 1 or more, limit 1..10000' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  RETURN QUERY
    SELECT a.tenant_id, a.id FROM credit_applications a
     WHERE a.decided_at IS NOT NULL AND a.pii_erased_at IS NULL AND a.decided_at < now() - make_interval(days => p_days)
     ORDER BY a.decided_at
     LIMIT p_limit;
END $$;
REVOKE ALL ON FUNCTION credit_applications_due_for_erasure(integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION credit_applications_due_for_erasure(integer, integer) TO finflow_app;

-- Applications still holding the plaintext applicant document (written before this migration).
CREATE FUNCTION credit_applications_with_plaintext_applicant(p_limit integer)
  RETURNS TABLE (tenant_id uuid, id uuid)
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  IF p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 10000 THEN
    RAISE EXCEPTION 'limit 1..10000' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  RETURN QUERY SELECT a.tenant_id, a.id FROM credit_applications a WHERE a.applicant IS NOT NULL ORDER BY a.created_at LIMIT p_limit;
END $$;
REVOKE ALL ON FUNCTION credit_applications_with_plaintext_applicant(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION credit_applications_with_plaintext_applicant(integer) TO finflow_app;

-- Down Migration
DROP FUNCTION credit_applications_with_plaintext_applicant(integer);
DROP FUNCTION credit_applications_due_for_erasure(integer, integer);
DROP POLICY pii_plaintext ON credit_applications;
DROP POLICY pii_retention ON credit_applications;
DROP TABLE pii_erasures;
REVOKE UPDATE (applicant, applicant_given_name, applicant_family_name, applicant_date_of_birth, applicant_address, applicant_country,
  national_id_hash, pii_erased_at) ON credit_applications FROM finflow_app;
ALTER TABLE credit_applications DROP CONSTRAINT credit_applications_erased_holds_nothing;
ALTER TABLE credit_applications DROP CONSTRAINT credit_applications_applicant_held;
ALTER TABLE credit_applications
  DROP COLUMN pii_erased_at,
  DROP COLUMN applicant_country,
  DROP COLUMN applicant_address,
  DROP COLUMN applicant_date_of_birth,
  DROP COLUMN applicant_family_name,
  DROP COLUMN applicant_given_name;
