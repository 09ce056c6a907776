-- Up Migration

-- A credit decision is written once, all of it: the outcome and status, who made it (decided_by, underwriter_id),
-- on which score (probability_of_default, model_version), why (reasons), the limit, and when (decided_at). The
-- first version of this trigger froze only the outcome, status, limit and reasons, so a second write could
-- re-attribute a decision to another underwriter or model version, and of two underwriters approving the same
-- limit at once both writes went through, the second overwriting the first's name.
CREATE OR REPLACE FUNCTION credit_decision_is_final() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.decision IS NOT NULL AND
     (NEW.status, NEW.decision, NEW.decided_by, NEW.underwriter_id, NEW.probability_of_default, NEW.model_version,
      NEW.reasons, NEW.approved_limit_minor, NEW.decided_at)
     IS DISTINCT FROM
     (OLD.status, OLD.decision, OLD.decided_by, OLD.underwriter_id, OLD.probability_of_default, OLD.model_version,
      OLD.reasons, OLD.approved_limit_minor, OLD.decided_at) THEN
    RAISE EXCEPTION 'credit application % is already %', OLD.id, OLD.decision USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN NEW;
END $$;

-- Down Migration
CREATE OR REPLACE FUNCTION credit_decision_is_final() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.decision IS NOT NULL AND (NEW.decision IS DISTINCT FROM OLD.decision OR NEW.status IS DISTINCT FROM OLD.status
      OR NEW.approved_limit_minor IS DISTINCT FROM OLD.approved_limit_minor OR NEW.reasons IS DISTINCT FROM OLD.reasons) THEN
    RAISE EXCEPTION 'credit application % is already %', OLD.id, OLD.decision USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN NEW;
END $$;
