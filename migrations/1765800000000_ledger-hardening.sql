-- Up Migration

-- Holes an attack on the ledger found (test/integration/ledger-breaker.test.ts):
-- 1. ledger_ensure_periods opened a month before a closed one: a posting then landed under the closed month's
--    balance snapshot (reports as of later dates missed it). Months inside the closed history are refused now.
-- 2. A transaction at REPEATABLE READ or SERIALIZABLE keeps the snapshot of its first query: a posting made from one
--    that began before a close still saw the month open and landed in it, and a close from one that began before a
--    posting wrote a snapshot without it. The ledger's writers run at READ COMMITTED only (each statement sees what
--    committed before it, so the period lock orders them).
-- 3. The manual-entry mark ledger_decide_draft sets is a setting the application role can set too: with it, a
--    "manual entry approved by" anyone reached the books with no draft. ledger_post now refuses manual entries
--    whatever the mark; ledger_decide_draft posts through ledger_post_entry, which the application role cannot call.
-- 4. Four eyes compared principals: the maker's own API key (an admin creates keys) approved the maker's draft. A key
--    now acts for the person who created it.
-- 5. A draft kept only its moment (noon in the zone of the day it was drafted): after the books' time zone moved, it
--    was posted on another day, possibly in another period. It keeps its accounting date now.

CREATE FUNCTION ledger_require_read_committed() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('transaction_isolation') <> 'read committed' THEN
    RAISE EXCEPTION 'the ledger is written at READ COMMITTED only (this transaction is %): its snapshot could predate a period close or a posting', upper(current_setting('transaction_isolation'))
      USING ERRCODE = 'invalid_transaction_state';
  END IF;
END $$;

-- 1 and 2: months are created under the tenant's period lock (shared, like a posting), never inside the closed history.
CREATE OR REPLACE FUNCTION ledger_ensure_periods(p_from date, p_months integer) RETURNS integer
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  t uuid := current_tenant_id();
  m date;
  n integer := 0;
  v_closed_through date;
BEGIN
  IF t IS NULL THEN RAISE EXCEPTION 'no tenant in scope' USING ERRCODE = 'insufficient_privilege'; END IF;
  PERFORM ledger_require_read_committed();
  IF p_months NOT BETWEEN 0 AND 120 THEN RAISE EXCEPTION 'months must be 0..120' USING ERRCODE = 'invalid_parameter_value'; END IF;
  IF p_from IS NULL OR NOT isfinite(p_from) THEN RAISE EXCEPTION 'from must be a date' USING ERRCODE = 'invalid_parameter_value'; END IF;
  PERFORM pg_advisory_xact_lock_shared(ledger_period_lock_key(t));
  SELECT max(period_end) INTO v_closed_through FROM accounting_periods WHERE tenant_id = t AND status <> 'open';
  FOR i IN 0..p_months LOOP
    m := (date_trunc('month', p_from) + make_interval(months => i))::date;
    IF m <= v_closed_through AND NOT EXISTS (SELECT 1 FROM accounting_periods WHERE tenant_id = t AND period_start = m) THEN
      RAISE EXCEPTION 'the month of % lies before the end of the last locked or closed period (%)', m, v_closed_through
        USING ERRCODE = 'check_violation', HINT = 'closed-period';
    END IF;
    INSERT INTO accounting_periods (tenant_id, period_start, period_end)
      VALUES (t, m, (m + interval '1 month - 1 day')::date) ON CONFLICT DO NOTHING;
    n := n + 1;
  END LOOP;
  RETURN n;
END $$;

-- 2: the period status change, as in accounting-core, at READ COMMITTED only.
CREATE OR REPLACE FUNCTION ledger_set_period_status(p_period_start date, p_action text, p_actor text, p_reason text DEFAULT NULL)
  RETURNS accounting_periods LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  t uuid := current_tenant_id();
  p accounting_periods;
  target text;
BEGIN
  IF t IS NULL THEN RAISE EXCEPTION 'no tenant in scope' USING ERRCODE = 'insufficient_privilege'; END IF;
  PERFORM ledger_require_read_committed();
  PERFORM pg_advisory_xact_lock(ledger_period_lock_key(t));
  SELECT * INTO p FROM accounting_periods WHERE tenant_id = t AND period_start = p_period_start FOR UPDATE;
  IF NOT FOUND THEN RAISE EXCEPTION 'no accounting period starts on %', p_period_start USING ERRCODE = 'check_violation', HINT = 'unknown-period'; END IF;
  target := CASE p_action WHEN 'lock' THEN 'locked' WHEN 'close' THEN 'closed' WHEN 'reopen' THEN 'open' END;
  IF target IS NULL THEN RAISE EXCEPTION 'unknown period action %', p_action USING ERRCODE = 'check_violation', HINT = 'invalid-transition'; END IF;
  IF p_action = 'reopen' AND (p.status <> 'closed' OR coalesce(length(trim(p_reason)), 0) = 0) THEN
    RAISE EXCEPTION 'only a closed period can be reopened, with a reason' USING ERRCODE = 'check_violation', HINT = 'invalid-transition';
  END IF;
  IF p_action <> 'reopen' AND p.status = 'closed' THEN
    RAISE EXCEPTION 'the period starting % is closed', p_period_start USING ERRCODE = 'check_violation', HINT = 'invalid-transition';
  END IF;
  IF p_action = 'close' AND EXISTS (SELECT 1 FROM accounting_periods WHERE tenant_id = t AND period_start < p_period_start AND status <> 'closed') THEN
    RAISE EXCEPTION 'close the earlier periods first' USING ERRCODE = 'check_violation', HINT = 'invalid-transition';
  END IF;
  IF p.status = target THEN RETURN p; END IF;
  INSERT INTO accounting_period_events (tenant_id, period_start, action, from_status, actor, reason)
    VALUES (t, p_period_start, p_action, p.status, p_actor, p_reason);
  UPDATE accounting_periods SET status = target, closed_at = CASE WHEN target = 'closed' THEN now() END
    WHERE tenant_id = t AND period_start = p_period_start RETURNING * INTO p;
  IF target = 'closed' THEN
    PERFORM ledger_write_snapshot(t, p.period_end);
  ELSIF p_action = 'reopen' THEN
    DELETE FROM ledger_balance_snapshots WHERE tenant_id = t AND as_of >= p.period_end;
  END IF;
  RETURN p;
END $$;

-- 2 and 3: ledger_post is now the application's door to ledger_post_entry (the validating writer, unchanged): READ
-- COMMITTED only, and no manual entry, whatever marks the transaction carries.
ALTER FUNCTION ledger_post(jsonb) RENAME TO ledger_post_entry;
REVOKE ALL ON FUNCTION ledger_post_entry(jsonb) FROM PUBLIC, finflow_app;
CREATE FUNCTION ledger_post(p_entry jsonb) RETURNS jsonb
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  PERFORM ledger_require_read_committed();
  IF p_entry->'source'->>'type' = 'manual' OR p_entry ? 'approvedBy' THEN
    RAISE EXCEPTION 'manual entries are posted only by approving a draft (maker-checker)' USING ERRCODE = 'check_violation', HINT = 'four-eyes';
  END IF;
  RETURN ledger_post_entry(p_entry);
END $$;
REVOKE ALL ON FUNCTION ledger_post(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ledger_post(jsonb) TO finflow_app;

-- 4: the person a principal acts for: an API key acts for the user who created it.
CREATE FUNCTION ledger_person(p_principal text) RETURNS text LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
  SELECT coalesce((SELECT 'user:' || k.created_by FROM api_keys k WHERE p_principal LIKE 'api\_key:%' AND k.id::text = substr(p_principal, 9)), p_principal)
$$;
REVOKE ALL ON FUNCTION ledger_person(text) FROM PUBLIC;

-- 5: a draft's accounting date, as the maker wrote it.
ALTER TABLE journal_entry_drafts ADD COLUMN accounting_date date;
ALTER TABLE journal_entry_drafts NO FORCE ROW LEVEL SECURITY;
ALTER TABLE tenants NO FORCE ROW LEVEL SECURITY;
UPDATE journal_entry_drafts d SET accounting_date = (d.effective_at AT TIME ZONE t.time_zone)::date FROM tenants t WHERE t.id = d.tenant_id;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
ALTER TABLE journal_entry_drafts FORCE ROW LEVEL SECURITY;
GRANT INSERT (accounting_date) ON journal_entry_drafts TO finflow_app;

CREATE OR REPLACE FUNCTION ledger_decide_draft(p_draft uuid, p_decision text, p_actor text, p_reason text DEFAULT NULL) RETURNS jsonb
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  t uuid := current_tenant_id();
  d journal_entry_drafts;
  v_entry uuid;
  v_effective timestamptz;
BEGIN
  IF t IS NULL THEN RAISE EXCEPTION 'no tenant in scope' USING ERRCODE = 'insufficient_privilege'; END IF;
  PERFORM ledger_require_read_committed();
  IF coalesce(length(p_actor), 0) = 0 THEN RAISE EXCEPTION 'a decision names its actor' USING ERRCODE = 'check_violation', HINT = 'invalid-entry'; END IF;
  SELECT * INTO d FROM journal_entry_drafts WHERE tenant_id = t AND id = p_draft FOR UPDATE;
  IF NOT FOUND THEN RAISE EXCEPTION 'no draft %', p_draft USING ERRCODE = 'check_violation', HINT = 'unknown-entry'; END IF;
  IF d.status <> 'draft' THEN
    RAISE EXCEPTION 'draft % is already %', p_draft, d.status USING ERRCODE = 'check_violation', HINT = 'invalid-transition';
  END IF;
  IF d.created_by = p_actor OR ledger_person(d.created_by) = ledger_person(p_actor) THEN
    RAISE EXCEPTION 'the maker of a manual entry (or an API key of theirs) cannot approve or reject it' USING ERRCODE = 'check_violation', HINT = 'four-eyes';
  END IF;
  IF p_decision = 'reject' THEN
    UPDATE journal_entry_drafts SET status = 'rejected', decided_by = p_actor, decided_at = now(), reason = p_reason WHERE id = p_draft;
    RETURN jsonb_build_object('status', 'rejected');
  ELSIF p_decision <> 'approve' THEN
    RAISE EXCEPTION 'unknown decision %', p_decision USING ERRCODE = 'check_violation', HINT = 'invalid-entry';
  END IF;
  -- Noon of the draft's accounting date in the books' zone as it is now, so ledger_post dates it on that day.
  SELECT CASE WHEN d.accounting_date IS NULL THEN d.effective_at ELSE (d.accounting_date + time '12:00') AT TIME ZONE tn.time_zone END
    INTO v_effective FROM tenants tn WHERE tn.id = t;
  v_entry := p_draft; -- the entry takes the draft's id: approving twice can never post twice
  -- ledger_post_entry takes a manual entry (and its approver) only while this mark names it.
  PERFORM set_config('finflow.ledger_manual', v_entry::text, true);
  PERFORM ledger_post_entry(jsonb_build_object('id', v_entry, 'effectiveAt', v_effective, 'description', d.description,
    'source', jsonb_build_object('type', 'manual', 'id', p_draft), 'kind', d.kind, 'createdBy', d.created_by,
    'approvedBy', p_actor, 'postings', d.postings));
  PERFORM set_config('finflow.ledger_manual', '', true);
  UPDATE journal_entry_drafts SET status = 'posted', decided_by = p_actor, decided_at = now(), entry_id = v_entry, reason = p_reason WHERE id = p_draft;
  RETURN jsonb_build_object('status', 'posted', 'entryId', v_entry);
END $$;

-- Down Migration
DROP FUNCTION ledger_post(jsonb);
ALTER FUNCTION ledger_post_entry(jsonb) RENAME TO ledger_post;
GRANT EXECUTE ON FUNCTION ledger_post(jsonb) TO finflow_app;
CREATE OR REPLACE FUNCTION ledger_decide_draft(p_draft uuid, p_decision text, p_actor text, p_reason text DEFAULT NULL) RETURNS jsonb
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  t uuid := current_tenant_id();
  d journal_entry_drafts;
  v_entry uuid;
BEGIN
  IF t IS NULL THEN RAISE EXCEPTION 'no tenant in scope' USING ERRCODE = 'insufficient_privilege'; END IF;
  SELECT * INTO d FROM journal_entry_drafts WHERE tenant_id = t AND id = p_draft FOR UPDATE;
  IF NOT FOUND THEN RAISE EXCEPTION 'no draft %', p_draft USING ERRCODE = 'check_violation', HINT = 'unknown-entry'; END IF;
  IF d.status <> 'draft' THEN
    RAISE EXCEPTION 'draft % is already %', p_draft, d.status USING ERRCODE = 'check_violation', HINT = 'invalid-transition';
  END IF;
  IF d.created_by = p_actor THEN
    RAISE EXCEPTION 'the maker of a manual entry cannot approve or reject it' USING ERRCODE = 'check_violation', HINT = 'four-eyes';
  END IF;
  IF p_decision = 'reject' THEN
    UPDATE journal_entry_drafts SET status = 'rejected', decided_by = p_actor, decided_at = now(), reason = p_reason WHERE id = p_draft;
    RETURN jsonb_build_object('status', 'rejected');
  ELSIF p_decision <> 'approve' THEN
    RAISE EXCEPTION 'unknown decision %', p_decision USING ERRCODE = 'check_violation', HINT = 'invalid-entry';
  END IF;
  v_entry := p_draft; -- the entry takes the draft's id: approving twice can never post twice
  -- ledger_post takes a manual entry (and its approver) only while this mark names it.
  PERFORM set_config('finflow.ledger_manual', v_entry::text, true);
  PERFORM ledger_post(jsonb_build_object('id', v_entry, 'effectiveAt', d.effective_at, 'description', d.description,
    'source', jsonb_build_object('type', 'manual', 'id', p_draft), 'kind', d.kind, 'createdBy', d.created_by,
    'approvedBy', p_actor, 'postings', d.postings));
  PERFORM set_config('finflow.ledger_manual', '', true);
  UPDATE journal_entry_drafts SET status = 'posted', decided_by = p_actor, decided_at = now(), entry_id = v_entry, reason = p_reason WHERE id = p_draft;
  RETURN jsonb_build_object('status', 'posted', 'entryId', v_entry);
END $$;
REVOKE INSERT (accounting_date) ON journal_entry_drafts FROM finflow_app;
ALTER TABLE journal_entry_drafts DROP COLUMN accounting_date;
DROP FUNCTION ledger_person(text);
CREATE OR REPLACE FUNCTION ledger_set_period_status(p_period_start date, p_action text, p_actor text, p_reason text DEFAULT NULL)
  RETURNS accounting_periods LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  t uuid := current_tenant_id();
  p accounting_periods;
  target text;
BEGIN
  IF t IS NULL THEN RAISE EXCEPTION 'no tenant in scope' USING ERRCODE = 'insufficient_privilege'; END IF;
  PERFORM pg_advisory_xact_lock(ledger_period_lock_key(t));
  SELECT * INTO p FROM accounting_periods WHERE tenant_id = t AND period_start = p_period_start FOR UPDATE;
  IF NOT FOUND THEN RAISE EXCEPTION 'no accounting period starts on %', p_period_start USING ERRCODE = 'check_violation', HINT = 'unknown-period'; END IF;
  target := CASE p_action WHEN 'lock' THEN 'locked' WHEN 'close' THEN 'closed' WHEN 'reopen' THEN 'open' END;
  IF target IS NULL THEN RAISE EXCEPTION 'unknown period action %', p_action USING ERRCODE = 'check_violation', HINT = 'invalid-transition'; END IF;
  IF p_action = 'reopen' AND (p.status <> 'closed' OR coalesce(length(trim(p_reason)), 0) = 0) THEN
    RAISE EXCEPTION 'only a closed period can be reopened, with a reason' USING ERRCODE = 'check_violation', HINT = 'invalid-transition';
  END IF;
  IF p_action <> 'reopen' AND p.status = 'closed' THEN
    RAISE EXCEPTION 'the period starting % is closed', p_period_start USING ERRCODE = 'check_violation', HINT = 'invalid-transition';
  END IF;
  IF p_action = 'close' AND EXISTS (SELECT 1 FROM accounting_periods WHERE tenant_id = t AND period_start < p_period_start AND status <> 'closed') THEN
    RAISE EXCEPTION 'close the earlier periods first' USING ERRCODE = 'check_violation', HINT = 'invalid-transition';
  END IF;
  IF p.status = target THEN RETURN p; END IF;
  INSERT INTO accounting_period_events (tenant_id, period_start, action, from_status, actor, reason)
    VALUES (t, p_period_start, p_action, p.status, p_actor, p_reason);
  UPDATE accounting_periods SET status = target, closed_at = CASE WHEN target = 'closed' THEN now() END
    WHERE tenant_id = t AND period_start = p_period_start RETURNING * INTO p;
  IF target = 'closed' THEN
    PERFORM ledger_write_snapshot(t, p.period_end);
  ELSIF p_action = 'reopen' THEN
    DELETE FROM ledger_balance_snapshots WHERE tenant_id = t AND as_of >= p.period_end;
  END IF;
  RETURN p;
END $$;
CREATE OR REPLACE FUNCTION ledger_ensure_periods(p_from date, p_months integer) RETURNS integer
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  t uuid := current_tenant_id();
  m date;
  n integer := 0;
BEGIN
  IF t IS NULL THEN RAISE EXCEPTION 'no tenant in scope' USING ERRCODE = 'insufficient_privilege'; END IF;
  IF p_months NOT BETWEEN 0 AND 120 THEN RAISE EXCEPTION 'months must be 0..120' USING ERRCODE = 'invalid_parameter_value'; END IF;
  FOR i IN 0..p_months LOOP
    m := (date_trunc('month', p_from) + make_interval(months => i))::date;
    INSERT INTO accounting_periods (tenant_id, period_start, period_end)
      VALUES (t, m, (m + interval '1 month - 1 day')::date) ON CONFLICT DO NOTHING;
    n := n + 1;
  END LOOP;
  RETURN n;
END $$;
DROP FUNCTION ledger_require_read_committed();
