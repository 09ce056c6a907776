-- Up Migration

-- The period close (workflows/accounting/period-close.workflow.ts): a soft lock the database enforces, the close's
-- own entries, the closes with their statement snapshots, and the fiscal year they follow.
--
-- 1. Soft lock. A locked period used to take any entry of kind 'adjusting' from anyone who could call ledger_post.
--    Now it takes only (a) adjusting entries by finance: manual entries, posted by approving a draft
--    (maker-checker), whose maker or checker acts for an active `finance` user; and (b) the close's own entries
--    (FX revaluation, year-end closing entries), which reach the ledger only through ledger_post_close: ledger_post
--    refuses their source type. A closed period takes nothing, as before.

-- The role of the active user a principal acts for (an API key acts for the user who created it), in the current
-- tenant; NULL for `system`, unknown or disabled users.
CREATE FUNCTION ledger_active_role(p_principal text) RETURNS text LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT u.role FROM users u
   WHERE u.tenant_id = current_tenant_id() AND u.status = 'active' AND 'user:' || u.id::text = ledger_person(p_principal)
$$;
REVOKE ALL ON FUNCTION ledger_active_role(text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION ledger_post_entry(p_entry jsonb) RETURNS jsonb
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  t uuid := current_tenant_id();
  v_id uuid;
  v_effective timestamptz;
  v_reverses uuid;
  v_kind text;
  v_src jsonb := p_entry->'postings';
  v_mirror ledger_line[];
  v_lines ledger_line[];
  v_missing_account text;
  v_ok boolean;
  v_missing_currency text;
  v_bad record;
  v_existing journal_entries;
  v_date date;
  v_period accounting_periods;
  v_constraint text;
BEGIN
  IF t IS NULL THEN RAISE EXCEPTION 'no tenant in scope' USING ERRCODE = 'insufficient_privilege'; END IF;
  BEGIN
    v_id := (p_entry->>'id')::uuid;
    v_effective := (p_entry->>'effectiveAt')::timestamptz;
    v_reverses := (p_entry->>'reverses')::uuid;
  EXCEPTION WHEN invalid_text_representation OR datetime_field_overflow OR invalid_datetime_format THEN
    RAISE EXCEPTION 'entry id, effectiveAt or reverses is malformed' USING ERRCODE = 'check_violation', HINT = 'invalid-entry';
  END;
  v_kind := coalesce(p_entry->>'kind', CASE WHEN v_reverses IS NULL THEN 'standard' ELSE 'reversal' END);
  IF v_id IS NULL OR v_effective IS NULL OR coalesce(p_entry->'source'->>'type', '') = '' OR coalesce(p_entry->'source'->>'id', '') = '' THEN
    RAISE EXCEPTION 'entry needs id, effectiveAt and source' USING ERRCODE = 'check_violation', HINT = 'invalid-entry';
  END IF;
  -- A manual entry (and an approver) only through an approved draft: ledger_decide_draft marks the transaction.
  IF (p_entry->'source'->>'type' = 'manual' OR p_entry ? 'approvedBy')
     AND current_setting('finflow.ledger_manual', true) IS DISTINCT FROM v_id::text THEN
    RAISE EXCEPTION 'manual entries are posted only by approving a draft (maker-checker)' USING ERRCODE = 'check_violation', HINT = 'four-eyes';
  END IF;
  IF (v_kind = 'reversal') <> (v_reverses IS NOT NULL) THEN
    RAISE EXCEPTION 'a reversal names the entry it reverses, and only a reversal does' USING ERRCODE = 'check_violation', HINT = 'invalid-entry';
  END IF;

  IF v_reverses IS NOT NULL THEN
    SELECT array_agg(ROW(account_id, currency, -amount_minor)::ledger_line ORDER BY id) INTO v_mirror
      FROM postings WHERE tenant_id = t AND entry_id = v_reverses;
    IF v_mirror IS NULL THEN
      RAISE EXCEPTION 'no journal entry % to reverse', v_reverses USING ERRCODE = 'check_violation', HINT = 'unknown-entry';
    END IF;
  END IF;

  IF v_src IS NULL AND v_mirror IS NOT NULL THEN
    v_lines := v_mirror;
  ELSE
    -- Whole minor units only (a JSON number with no fraction, within JavaScript's safe integers), never zero; the
    -- accounts this tenant's (RLS), the currencies ISO 4217. One pass over the postings.
    IF jsonb_typeof(v_src) IS DISTINCT FROM 'array' THEN
      RAISE EXCEPTION 'postings must be an array' USING ERRCODE = 'check_violation', HINT = 'invalid-entry';
    END IF;
    BEGIN
      SELECT array_agg(ROW(coalesce(a1.id, a2.id), l->>'currency', CASE WHEN x.ok THEN (l->>'amountMinor')::numeric::bigint END)::ledger_line ORDER BY o),
             bool_and(x.ok),
             min(coalesce(l->>'accountId', l->>'systemKey', '(none)')) FILTER (WHERE coalesce(a1.id, a2.id) IS NULL),
             min(l->>'currency') FILTER (WHERE c.code IS NULL)
        INTO v_lines, v_ok, v_missing_account, v_missing_currency
        FROM jsonb_array_elements(v_src) WITH ORDINALITY e(l, o)
        CROSS JOIN LATERAL (SELECT jsonb_typeof(l) = 'object' AND jsonb_typeof(l->'amountMinor') = 'number' AND jsonb_typeof(l->'currency') = 'string'
                                   AND (l->>'amountMinor')::numeric = trunc((l->>'amountMinor')::numeric)
                                   AND abs((l->>'amountMinor')::numeric) BETWEEN 1 AND 9007199254740991 AS ok) x
        LEFT JOIN ledger_accounts a1 ON a1.tenant_id = t AND a1.id = (l->>'accountId')::uuid
        LEFT JOIN ledger_accounts a2 ON a2.tenant_id = t AND a2.system_key = l->>'systemKey' AND l->>'accountId' IS NULL
        LEFT JOIN currencies c ON c.code = l->>'currency';
    EXCEPTION WHEN invalid_text_representation THEN
      RAISE EXCEPTION 'a posting has a malformed account id or amount' USING ERRCODE = 'check_violation', HINT = 'invalid-entry';
    END;
    IF NOT coalesce(v_ok, true) THEN
      RAISE EXCEPTION 'postings must be objects with a currency and a non-zero whole amountMinor' USING ERRCODE = 'check_violation', HINT = 'invalid-entry';
    END IF;
    IF v_missing_currency IS NOT NULL THEN
      RAISE EXCEPTION 'unknown currency %', v_missing_currency USING ERRCODE = 'check_violation', HINT = 'invalid-entry';
    END IF;
    IF v_missing_account IS NOT NULL THEN
      RAISE EXCEPTION 'no ledger account % in this tenant', v_missing_account USING ERRCODE = 'check_violation', HINT = 'unknown-account';
    END IF;
  END IF;

  IF coalesce(cardinality(v_lines), 0) < 2 THEN
    RAISE EXCEPTION 'journal entry % has % posting(s); double entry needs at least two', v_id, coalesce(cardinality(v_lines), 0)
      USING ERRCODE = 'check_violation', HINT = 'unbalanced';
  END IF;
  SELECT u.currency, sum(u.amount_minor) AS total INTO v_bad FROM unnest(v_lines) u GROUP BY u.currency HAVING sum(u.amount_minor) <> 0 LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'journal entry % does not balance in %: debits minus credits = %', v_id, v_bad.currency, v_bad.total
      USING ERRCODE = 'check_violation', HINT = 'unbalanced';
  END IF;
  IF v_mirror IS NOT NULL AND v_src IS NOT NULL AND EXISTS (
       (SELECT * FROM unnest(v_lines) EXCEPT ALL SELECT * FROM unnest(v_mirror))
       UNION ALL (SELECT * FROM unnest(v_mirror) EXCEPT ALL SELECT * FROM unnest(v_lines))) THEN
    RAISE EXCEPTION 'a reversal must mirror entry % exactly', v_reverses USING ERRCODE = 'check_violation', HINT = 'invalid-entry';
  END IF;

  FOR attempt IN 1..2 LOOP
    -- A retried step: the same id with the same content is already posted; anything else under that id is refused.
    SELECT * INTO v_existing FROM journal_entries WHERE id = v_id;
    IF FOUND THEN
      IF v_existing.source_type <> p_entry->'source'->>'type' OR v_existing.source_id <> p_entry->'source'->>'id'
         OR v_existing.effective_at <> v_effective OR v_existing.kind <> v_kind OR v_existing.reverses IS DISTINCT FROM v_reverses
         OR v_existing.description IS DISTINCT FROM p_entry->>'description'
         OR EXISTS ((SELECT * FROM unnest(v_lines) EXCEPT ALL SELECT account_id, currency, amount_minor FROM postings WHERE tenant_id = t AND entry_id = v_id)
                    UNION ALL
                    (SELECT account_id, currency, amount_minor FROM postings WHERE tenant_id = t AND entry_id = v_id EXCEPT ALL SELECT * FROM unnest(v_lines))) THEN
        RAISE EXCEPTION 'journal entry % exists with other content', v_id USING ERRCODE = 'unique_violation', HINT = 'conflicting-entry';
      END IF;
      RETURN jsonb_build_object('status', 'already-posted', 'accountingDate', v_existing.accounting_date);
    END IF;

    -- The accounting date in the tenant's zone and its period, read under the tenant's period lock (held shared
    -- until commit).
    PERFORM pg_advisory_xact_lock_shared(ledger_period_lock_key(t));
    SELECT d.d, p.* INTO v_date, v_period.tenant_id, v_period.period_start, v_period.period_end, v_period.status, v_period.closed_at
      FROM tenants tn
      CROSS JOIN LATERAL (SELECT (v_effective AT TIME ZONE tn.time_zone)::date AS d) d
      LEFT JOIN LATERAL (SELECT * FROM accounting_periods ap WHERE ap.tenant_id = t AND ap.period_start <= d.d ORDER BY ap.period_start DESC LIMIT 1) p ON true
     WHERE tn.id = t;
    IF v_period.period_start IS NULL OR v_period.period_end < v_date THEN
      -- No period holds the date. It is open only after the last locked or closed period; then its month is created.
      IF EXISTS (SELECT 1 FROM accounting_periods WHERE tenant_id = t AND status <> 'open' AND period_end >= v_date) THEN
        RAISE EXCEPTION 'accounting date % lies before the last closed period', v_date USING ERRCODE = 'check_violation', HINT = 'closed-period';
      END IF;
      INSERT INTO accounting_periods (tenant_id, period_start, period_end)
        VALUES (t, date_trunc('month', v_date)::date, (date_trunc('month', v_date) + interval '1 month - 1 day')::date)
        ON CONFLICT DO NOTHING;
      SELECT * INTO v_period FROM accounting_periods WHERE tenant_id = t AND period_start <= v_date ORDER BY period_start DESC LIMIT 1;
      IF NOT FOUND OR v_period.period_end < v_date THEN
        RAISE EXCEPTION 'no accounting period holds %', v_date USING ERRCODE = 'check_violation', HINT = 'closed-period';
      END IF;
    END IF;
    -- A soft-locked period takes only adjusting entries by finance (a manual entry, through an approved draft, whose
    -- maker or checker acts for an active finance user) and the period close's own entries (ledger_post_close).
    IF v_period.status = 'closed' OR (v_period.status = 'locked' AND NOT (
         (v_kind = 'adjusting' AND p_entry->'source'->>'type' = 'manual'
            AND current_setting('finflow.ledger_manual', true) IS NOT DISTINCT FROM v_id::text
            AND 'finance' IN (ledger_active_role(p_entry->>'createdBy'), ledger_active_role(p_entry->>'approvedBy')))
         OR (v_kind IN ('adjusting', 'closing') AND p_entry->'source'->>'type' = 'period_close'
            AND current_setting('finflow.ledger_close', true) IS NOT DISTINCT FROM v_id::text))) THEN
      RAISE EXCEPTION 'the accounting period containing % (% to %) is %', v_date, v_period.period_start, v_period.period_end, v_period.status
        USING ERRCODE = 'check_violation', HINT = 'closed-period';
    END IF;

    PERFORM set_config('finflow.ledger_posting', v_id::text, true);
    BEGIN
      WITH entry AS (
        INSERT INTO journal_entries (id, tenant_id, effective_at, accounting_date, description, source_type, source_id, reverses, kind, created_by, approved_by)
        VALUES (v_id, t, v_effective, v_date, p_entry->>'description', p_entry->'source'->>'type', p_entry->'source'->>'id', v_reverses, v_kind,
                coalesce(p_entry->>'createdBy', 'system'), p_entry->>'approvedBy')
        RETURNING id)
      INSERT INTO postings (tenant_id, entry_id, account_id, currency, amount_minor, accounting_date)
        SELECT t, entry.id, u.account_id, u.currency, u.amount_minor, v_date FROM entry, unnest(v_lines) u;
      PERFORM set_config('finflow.ledger_posting', '', true);
      RETURN jsonb_build_object('status', 'posted', 'accountingDate', v_date);
    EXCEPTION
      WHEN unique_violation THEN
        PERFORM set_config('finflow.ledger_posting', '', true);
        GET STACKED DIAGNOSTICS v_constraint = CONSTRAINT_NAME;
        IF v_constraint = 'journal_entries_reverses_key' THEN
          RAISE EXCEPTION 'journal entry % is already reversed', v_reverses USING ERRCODE = 'unique_violation', HINT = 'already-reversed';
        END IF;
        -- The same id committed meanwhile (a concurrent retry) or used by another tenant: look again once.
      WHEN check_violation OR not_null_violation OR string_data_right_truncation THEN
        PERFORM set_config('finflow.ledger_posting', '', true);
        RAISE EXCEPTION 'invalid journal entry: %', SQLERRM USING ERRCODE = 'check_violation', HINT = 'invalid-entry';
    END;
  END LOOP;
  RAISE EXCEPTION 'journal entry id % is taken', v_id USING ERRCODE = 'unique_violation', HINT = 'conflicting-entry';
END $$;
REVOKE ALL ON FUNCTION ledger_post_entry(jsonb) FROM PUBLIC, finflow_app;

-- The application's door stays as it was, and also refuses the close's source type.
CREATE OR REPLACE FUNCTION ledger_post(p_entry jsonb) RETURNS jsonb
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  PERFORM ledger_require_read_committed();
  IF p_entry->'source'->>'type' = 'manual' OR p_entry ? 'approvedBy' THEN
    RAISE EXCEPTION 'manual entries are posted only by approving a draft (maker-checker)' USING ERRCODE = 'check_violation', HINT = 'four-eyes';
  END IF;
  IF p_entry->'source'->>'type' = 'period_close' THEN
    RAISE EXCEPTION 'period-close entries are posted only by ledger_post_close' USING ERRCODE = 'check_violation', HINT = 'invalid-entry';
  END IF;
  RETURN ledger_post_entry(p_entry);
END $$;

-- The close's door: FX revaluation (adjusting), year-end closing and opening entries, source type 'period_close'.
CREATE FUNCTION ledger_post_close(p_entry jsonb) RETURNS jsonb
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  r jsonb;
BEGIN
  PERFORM ledger_require_read_committed();
  IF p_entry->'source'->>'type' IS DISTINCT FROM 'period_close' OR p_entry ? 'approvedBy' OR p_entry ? 'reverses'
     OR coalesce(p_entry->>'kind', '') NOT IN ('adjusting', 'closing', 'opening') THEN
    RAISE EXCEPTION 'ledger_post_close takes adjusting, closing and opening entries of source period_close only' USING ERRCODE = 'check_violation', HINT = 'invalid-entry';
  END IF;
  PERFORM set_config('finflow.ledger_close', p_entry->>'id', true);
  r := ledger_post_entry(p_entry);
  PERFORM set_config('finflow.ledger_close', '', true);
  RETURN r;
END $$;
REVOKE ALL ON FUNCTION ledger_post_close(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ledger_post_close(jsonb) TO finflow_app;

-- 2. The fiscal year: the month it starts in (1 = January). Closing the year's last month posts the closing entries.
ALTER TABLE tenants ADD COLUMN fiscal_year_start_month smallint NOT NULL DEFAULT 1 CHECK (fiscal_year_start_month BETWEEN 1 AND 12);
GRANT UPDATE (fiscal_year_start_month) ON tenants TO finflow_app;

-- 3. The closes: one row per run of PeriodClose for a period (a reopen runs the close again: the next run). What
--    finance signs off and downloads is the statements snapshot taken before the sign-off.
CREATE TABLE period_closes (
  tenant_id      uuid NOT NULL REFERENCES tenants (id),
  period_start   date NOT NULL,
  run            integer NOT NULL CHECK (run >= 1),
  period_end     date NOT NULL CHECK (period_end >= period_start),
  workflow_id    text NOT NULL CHECK (length(workflow_id) BETWEEN 1 AND 300),
  trigger        text NOT NULL CHECK (trigger IN ('schedule', 'manual', 'reopen')),
  started_by     text NOT NULL CHECK (length(started_by) BETWEEN 1 AND 200),
  status         text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'awaiting_sign_off', 'closed')),
  escalated_at   timestamptz,
  signed_off_by  text CHECK (length(signed_off_by) BETWEEN 1 AND 200),
  signed_off_at  timestamptz,
  year_end       boolean NOT NULL DEFAULT false,
  fx_revaluation jsonb,
  trial_balance  jsonb,
  statements     jsonb,
  started_at     timestamptz NOT NULL DEFAULT now(),
  closed_at      timestamptz,
  PRIMARY KEY (tenant_id, period_start, run),
  UNIQUE (tenant_id, workflow_id),
  -- Whoever started a manual close cannot sign it off (the workflow refuses it first; this is the backstop).
  CHECK (signed_off_by IS NULL OR signed_off_by <> started_by),
  CHECK ((status = 'closed') = (closed_at IS NOT NULL)),
  FOREIGN KEY (tenant_id, period_start) REFERENCES accounting_periods (tenant_id, period_start)
);
CREATE INDEX period_closes_recent ON period_closes (tenant_id, period_start DESC, run DESC);
ALTER TABLE period_closes ENABLE ROW LEVEL SECURITY;
ALTER TABLE period_closes FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON period_closes USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
GRANT SELECT, INSERT, UPDATE (status, escalated_at, signed_off_by, signed_off_at, year_end, fx_revaluation, trial_balance, statements, closed_at) ON period_closes TO finflow_app;

-- Down Migration
DROP TABLE period_closes;
REVOKE UPDATE (fiscal_year_start_month) ON tenants FROM finflow_app;
ALTER TABLE tenants DROP COLUMN fiscal_year_start_month;
DROP FUNCTION ledger_post_close(jsonb);
CREATE OR REPLACE FUNCTION ledger_post(p_entry jsonb) RETURNS jsonb
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  PERFORM ledger_require_read_committed();
  IF p_entry->'source'->>'type' = 'manual' OR p_entry ? 'approvedBy' THEN
    RAISE EXCEPTION 'manual entries are posted only by approving a draft (maker-checker)' USING ERRCODE = 'check_violation', HINT = 'four-eyes';
  END IF;
  RETURN ledger_post_entry(p_entry);
END $$;
CREATE OR REPLACE FUNCTION ledger_post_entry(p_entry jsonb) RETURNS jsonb
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  t uuid := current_tenant_id();
  v_id uuid;
  v_effective timestamptz;
  v_reverses uuid;
  v_kind text;
  v_src jsonb := p_entry->'postings';
  v_mirror ledger_line[];
  v_lines ledger_line[];
  v_missing_account text;
  v_ok boolean;
  v_missing_currency text;
  v_bad record;
  v_existing journal_entries;
  v_date date;
  v_period accounting_periods;
  v_constraint text;
BEGIN
  IF t IS NULL THEN RAISE EXCEPTION 'no tenant in scope' USING ERRCODE = 'insufficient_privilege'; END IF;
  BEGIN
    v_id := (p_entry->>'id')::uuid;
    v_effective := (p_entry->>'effectiveAt')::timestamptz;
    v_reverses := (p_entry->>'reverses')::uuid;
  EXCEPTION WHEN invalid_text_representation OR datetime_field_overflow OR invalid_datetime_format THEN
    RAISE EXCEPTION 'entry id, effectiveAt or reverses is malformed' USING ERRCODE = 'check_violation', HINT = 'invalid-entry';
  END;
  v_kind := coalesce(p_entry->>'kind', CASE WHEN v_reverses IS NULL THEN 'standard' ELSE 'reversal' END);
  IF v_id IS NULL OR v_effective IS NULL OR coalesce(p_entry->'source'->>'type', '') = '' OR coalesce(p_entry->'source'->>'id', '') = '' THEN
    RAISE EXCEPTION 'entry needs id, effectiveAt and source' USING ERRCODE = 'check_violation', HINT = 'invalid-entry';
  END IF;
  -- A manual entry (and an approver) only through an approved draft: ledger_decide_draft marks the transaction.
  IF (p_entry->'source'->>'type' = 'manual' OR p_entry ? 'approvedBy')
     AND current_setting('finflow.ledger_manual', true) IS DISTINCT FROM v_id::text THEN
    RAISE EXCEPTION 'manual entries are posted only by approving a draft (maker-checker)' USING ERRCODE = 'check_violation', HINT = 'four-eyes';
  END IF;
  IF (v_kind = 'reversal') <> (v_reverses IS NOT NULL) THEN
    RAISE EXCEPTION 'a reversal names the entry it reverses, and only a reversal does' USING ERRCODE = 'check_violation', HINT = 'invalid-entry';
  END IF;

  IF v_reverses IS NOT NULL THEN
    SELECT array_agg(ROW(account_id, currency, -amount_minor)::ledger_line ORDER BY id) INTO v_mirror
      FROM postings WHERE tenant_id = t AND entry_id = v_reverses;
    IF v_mirror IS NULL THEN
      RAISE EXCEPTION 'no journal entry % to reverse', v_reverses USING ERRCODE = 'check_violation', HINT = 'unknown-entry';
    END IF;
  END IF;

  IF v_src IS NULL AND v_mirror IS NOT NULL THEN
    v_lines := v_mirror;
  ELSE
    -- Whole minor units only (a JSON number with no fraction, within JavaScript's safe integers), never zero; the
    -- accounts this tenant's (RLS), the currencies ISO 4217. One pass over the postings.
    IF jsonb_typeof(v_src) IS DISTINCT FROM 'array' THEN
      RAISE EXCEPTION 'postings must be an array' USING ERRCODE = 'check_violation', HINT = 'invalid-entry';
    END IF;
    BEGIN
      SELECT array_agg(ROW(coalesce(a1.id, a2.id), l->>'currency', CASE WHEN x.ok THEN (l->>'amountMinor')::numeric::bigint END)::ledger_line ORDER BY o),
             bool_and(x.ok),
             min(coalesce(l->>'accountId', l->>'systemKey', '(none)')) FILTER (WHERE coalesce(a1.id, a2.id) IS NULL),
             min(l->>'currency') FILTER (WHERE c.code IS NULL)
        INTO v_lines, v_ok, v_missing_account, v_missing_currency
        FROM jsonb_array_elements(v_src) WITH ORDINALITY e(l, o)
        CROSS JOIN LATERAL (SELECT jsonb_typeof(l) = 'object' AND jsonb_typeof(l->'amountMinor') = 'number' AND jsonb_typeof(l->'currency') = 'string'
                                   AND (l->>'amountMinor')::numeric = trunc((l->>'amountMinor')::numeric)
                                   AND abs((l->>'amountMinor')::numeric) BETWEEN 1 AND 9007199254740991 AS ok) x
        LEFT JOIN ledger_accounts a1 ON a1.tenant_id = t AND a1.id = (l->>'accountId')::uuid
        LEFT JOIN ledger_accounts a2 ON a2.tenant_id = t AND a2.system_key = l->>'systemKey' AND l->>'accountId' IS NULL
        LEFT JOIN currencies c ON c.code = l->>'currency';
    EXCEPTION WHEN invalid_text_representation THEN
      RAISE EXCEPTION 'a posting has a malformed account id or amount' USING ERRCODE = 'check_violation', HINT = 'invalid-entry';
    END;
    IF NOT coalesce(v_ok, true) THEN
      RAISE EXCEPTION 'postings must be objects with a currency and a non-zero whole amountMinor' USING ERRCODE = 'check_violation', HINT = 'invalid-entry';
    END IF;
    IF v_missing_currency IS NOT NULL THEN
      RAISE EXCEPTION 'unknown currency %', v_missing_currency USING ERRCODE = 'check_violation', HINT = 'invalid-entry';
    END IF;
    IF v_missing_account IS NOT NULL THEN
      RAISE EXCEPTION 'no ledger account % in this tenant', v_missing_account USING ERRCODE = 'check_violation', HINT = 'unknown-account';
    END IF;
  END IF;

  IF coalesce(cardinality(v_lines), 0) < 2 THEN
    RAISE EXCEPTION 'journal entry % has % posting(s); double entry needs at least two', v_id, coalesce(cardinality(v_lines), 0)
      USING ERRCODE = 'check_violation', HINT = 'unbalanced';
  END IF;
  SELECT u.currency, sum(u.amount_minor) AS total INTO v_bad FROM unnest(v_lines) u GROUP BY u.currency HAVING sum(u.amount_minor) <> 0 LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'journal entry % does not balance in %: debits minus credits = %', v_id, v_bad.currency, v_bad.total
      USING ERRCODE = 'check_violation', HINT = 'unbalanced';
  END IF;
  IF v_mirror IS NOT NULL AND v_src IS NOT NULL AND EXISTS (
       (SELECT * FROM unnest(v_lines) EXCEPT ALL SELECT * FROM unnest(v_mirror))
       UNION ALL (SELECT * FROM unnest(v_mirror) EXCEPT ALL SELECT * FROM unnest(v_lines))) THEN
    RAISE EXCEPTION 'a reversal must mirror entry % exactly', v_reverses USING ERRCODE = 'check_violation', HINT = 'invalid-entry';
  END IF;

  FOR attempt IN 1..2 LOOP
    -- A retried step: the same id with the same content is already posted; anything else under that id is refused.
    SELECT * INTO v_existing FROM journal_entries WHERE id = v_id;
    IF FOUND THEN
      IF v_existing.source_type <> p_entry->'source'->>'type' OR v_existing.source_id <> p_entry->'source'->>'id'
         OR v_existing.effective_at <> v_effective OR v_existing.kind <> v_kind OR v_existing.reverses IS DISTINCT FROM v_reverses
         OR v_existing.description IS DISTINCT FROM p_entry->>'description'
         OR EXISTS ((SELECT * FROM unnest(v_lines) EXCEPT ALL SELECT account_id, currency, amount_minor FROM postings WHERE tenant_id = t AND entry_id = v_id)
                    UNION ALL
                    (SELECT account_id, currency, amount_minor FROM postings WHERE tenant_id = t AND entry_id = v_id EXCEPT ALL SELECT * FROM unnest(v_lines))) THEN
        RAISE EXCEPTION 'journal entry % exists with other content', v_id USING ERRCODE = 'unique_violation', HINT = 'conflicting-entry';
      END IF;
      RETURN jsonb_build_object('status', 'already-posted', 'accountingDate', v_existing.accounting_date);
    END IF;

    -- The accounting date in the tenant's zone and its period, read under the tenant's period lock (held shared
    -- until commit).
    PERFORM pg_advisory_xact_lock_shared(ledger_period_lock_key(t));
    SELECT d.d, p.* INTO v_date, v_period.tenant_id, v_period.period_start, v_period.period_end, v_period.status, v_period.closed_at
      FROM tenants tn
      CROSS JOIN LATERAL (SELECT (v_effective AT TIME ZONE tn.time_zone)::date AS d) d
      LEFT JOIN LATERAL (SELECT * FROM accounting_periods ap WHERE ap.tenant_id = t AND ap.period_start <= d.d ORDER BY ap.period_start DESC LIMIT 1) p ON true
     WHERE tn.id = t;
    IF v_period.period_start IS NULL OR v_period.period_end < v_date THEN
      -- No period holds the date. It is open only after the last locked or closed period; then its month is created.
      IF EXISTS (SELECT 1 FROM accounting_periods WHERE tenant_id = t AND status <> 'open' AND period_end >= v_date) THEN
        RAISE EXCEPTION 'accounting date % lies before the last closed period', v_date USING ERRCODE = 'check_violation', HINT = 'closed-period';
      END IF;
      INSERT INTO accounting_periods (tenant_id, period_start, period_end)
        VALUES (t, date_trunc('month', v_date)::date, (date_trunc('month', v_date) + interval '1 month - 1 day')::date)
        ON CONFLICT DO NOTHING;
      SELECT * INTO v_period FROM accounting_periods WHERE tenant_id = t AND period_start <= v_date ORDER BY period_start DESC LIMIT 1;
      IF NOT FOUND OR v_period.period_end < v_date THEN
        RAISE EXCEPTION 'no accounting period holds %', v_date USING ERRCODE = 'check_violation', HINT = 'closed-period';
      END IF;
    END IF;
    IF v_period.status = 'closed' OR (v_period.status = 'locked' AND v_kind <> 'adjusting') THEN
      RAISE EXCEPTION 'the accounting period containing % (% to %) is %', v_date, v_period.period_start, v_period.period_end, v_period.status
        USING ERRCODE = 'check_violation', HINT = 'closed-period';
    END IF;

    PERFORM set_config('finflow.ledger_posting', v_id::text, true);
    BEGIN
      WITH entry AS (
        INSERT INTO journal_entries (id, tenant_id, effective_at, accounting_date, description, source_type, source_id, reverses, kind, created_by, approved_by)
        VALUES (v_id, t, v_effective, v_date, p_entry->>'description', p_entry->'source'->>'type', p_entry->'source'->>'id', v_reverses, v_kind,
                coalesce(p_entry->>'createdBy', 'system'), p_entry->>'approvedBy')
        RETURNING id)
      INSERT INTO postings (tenant_id, entry_id, account_id, currency, amount_minor, accounting_date)
        SELECT t, entry.id, u.account_id, u.currency, u.amount_minor, v_date FROM entry, unnest(v_lines) u;
      PERFORM set_config('finflow.ledger_posting', '', true);
      RETURN jsonb_build_object('status', 'posted', 'accountingDate', v_date);
    EXCEPTION
      WHEN unique_violation THEN
        PERFORM set_config('finflow.ledger_posting', '', true);
        GET STACKED DIAGNOSTICS v_constraint = CONSTRAINT_NAME;
        IF v_constraint = 'journal_entries_reverses_key' THEN
          RAISE EXCEPTION 'journal entry % is already reversed', v_reverses USING ERRCODE = 'unique_violation', HINT = 'already-reversed';
        END IF;
        -- The same id committed meanwhile (a concurrent retry) or used by another tenant: look again once.
      WHEN check_violation OR not_null_violation OR string_data_right_truncation THEN
        PERFORM set_config('finflow.ledger_posting', '', true);
        RAISE EXCEPTION 'invalid journal entry: %', SQLERRM USING ERRCODE = 'check_violation', HINT = 'invalid-entry';
    END;
  END LOOP;
  RAISE EXCEPTION 'journal entry id % is taken', v_id USING ERRCODE = 'unique_violation', HINT = 'conflicting-entry';
END $$;
DROP FUNCTION ledger_active_role(text);
