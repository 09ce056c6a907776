-- Up Migration

-- Ledger v2: one way in. Entries and postings are written only by `ledger_post(jsonb)`, a SECURITY DEFINER function
-- that validates, balances per currency, resolves the accounting date in the tenant's time zone and locks the period
-- row, all in one round trip. The application role can no longer INSERT into journal_entries or postings at all, so
-- nothing it sends can add a posting to an entry after the balance check, set posted_at or created_txid, or post
-- into a closed period; a period's status changes only through the audited period functions below.

-- ISO 4217 currencies with their minor-unit exponents (the same table as core/money): postings and holds must use
-- one of them.
CREATE TABLE currencies (
  code     char(3) PRIMARY KEY CHECK (code ~ '^[A-Z]{3}$'),
  exponent smallint NOT NULL CHECK (exponent BETWEEN 0 AND 4)
);
INSERT INTO currencies (code, exponent) VALUES
  ('AED', 2), ('AUD', 2), ('BGN', 2), ('BHD', 3), ('BRL', 2), ('CAD', 2), ('CHF', 2), ('CLP', 0), ('CNY', 2), ('COP', 2),
  ('CZK', 2), ('DKK', 2), ('EGP', 2), ('EUR', 2), ('GBP', 2), ('HKD', 2), ('HUF', 2), ('IDR', 2), ('ILS', 2), ('INR', 2),
  ('ISK', 0), ('JOD', 3), ('JPY', 0), ('KES', 2), ('KRW', 0), ('KWD', 3), ('MAD', 2), ('MXN', 2), ('MYR', 2), ('NGN', 2),
  ('NOK', 2), ('NZD', 2), ('OMR', 3), ('PEN', 2), ('PHP', 2), ('PKR', 2), ('PLN', 2), ('QAR', 2), ('RON', 2), ('RSD', 2),
  ('SAR', 2), ('SEK', 2), ('SGD', 2), ('THB', 2), ('TND', 3), ('TRY', 2), ('TWD', 2), ('UAH', 2), ('UGX', 0), ('USD', 2),
  ('VND', 0), ('XAF', 0), ('XOF', 0), ('ZAR', 2);
GRANT SELECT ON currencies TO finflow_app;
ALTER TABLE ledger_holds ADD CONSTRAINT ledger_holds_currency_iso FOREIGN KEY (currency) REFERENCES currencies (code);

-- The tenant's time zone decides which accounting day (and so which period) a moment belongs to.
CREATE FUNCTION is_time_zone(tz text) RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = tz)
$$;
ALTER TABLE tenants ADD COLUMN time_zone text NOT NULL DEFAULT 'UTC' CHECK (is_time_zone(time_zone));

-- Entries: the accounting date (in the tenant's zone, fixed when posted), the kind and who made them.
ALTER TABLE journal_entries
  ADD COLUMN accounting_date date,
  ADD COLUMN kind text NOT NULL DEFAULT 'standard' CHECK (kind IN ('standard', 'adjusting', 'closing', 'opening', 'reversal')),
  ADD COLUMN created_by text NOT NULL DEFAULT 'system' CHECK (length(created_by) BETWEEN 1 AND 200),
  -- Manual entries only (maker-checker, see ledger_decide_draft): the checker, never the maker.
  ADD COLUMN approved_by text CHECK (length(approved_by) BETWEEN 1 AND 200),
  ADD CONSTRAINT journal_entries_four_eyes CHECK (approved_by IS NULL OR approved_by <> created_by);
ALTER TABLE postings ADD COLUMN accounting_date date;
-- Rows posted before v2 were dated in UTC (every tenant's zone until now).
ALTER TABLE journal_entries DISABLE TRIGGER journal_entries_append_only;
ALTER TABLE postings DISABLE TRIGGER postings_append_only;
ALTER TABLE journal_entries NO FORCE ROW LEVEL SECURITY;
ALTER TABLE postings NO FORCE ROW LEVEL SECURITY;
UPDATE journal_entries SET accounting_date = (effective_at AT TIME ZONE 'UTC')::date, kind = CASE WHEN reverses IS NULL THEN 'standard' ELSE 'reversal' END;
UPDATE postings p SET accounting_date = e.accounting_date FROM journal_entries e WHERE e.id = p.entry_id;
ALTER TABLE journal_entries FORCE ROW LEVEL SECURITY;
ALTER TABLE postings FORCE ROW LEVEL SECURITY;
ALTER TABLE journal_entries ENABLE ALWAYS TRIGGER journal_entries_append_only;
ALTER TABLE postings ENABLE ALWAYS TRIGGER postings_append_only;
ALTER TABLE journal_entries ALTER COLUMN accounting_date SET NOT NULL;
ALTER TABLE postings ALTER COLUMN accounting_date SET NOT NULL;
ALTER TABLE journal_entries ADD CONSTRAINT journal_entries_reversal_kind CHECK ((kind = 'reversal') = (reverses IS NOT NULL));
-- Reports read postings by account and accounting date.
CREATE INDEX postings_account_date ON postings (tenant_id, account_id, currency, accounting_date);
CREATE INDEX journal_entries_date ON journal_entries (tenant_id, accounting_date);
-- Superseded by the two above (their prefixes), and each costs an index insert per row written.
DROP INDEX postings_account;
DROP INDEX journal_entries_effective;

-- Foreign keys from the hottest rows: every foreign-key check runs a query and takes FOR KEY SHARE on the row it
-- references, so with concurrent postings each tenant row and each account row is share-locked by many
-- transactions at once (a MultiXact per posting). ledger_post, the only writer, resolves each account within the
-- tenant, finds a reversal's original in the tenant, and writes an entry with its postings in one statement; and
-- what those keys point at is never deleted or re-keyed (triggers below), so the references hold without them.
ALTER TABLE postings DROP CONSTRAINT postings_tenant_id_account_id_fkey;
ALTER TABLE postings DROP CONSTRAINT postings_tenant_id_entry_id_fkey;
ALTER TABLE journal_entries DROP CONSTRAINT journal_entries_tenant_id_fkey;
ALTER TABLE journal_entries DROP CONSTRAINT journal_entries_tenant_id_reverses_fkey;
-- With those keys gone, every index a posting writes must earn its place: postings are found by entry (the primary
-- key, entry first) and by account and date (reports); an entry by id, by source, by date, and by what it reverses
-- (only reversals carry that). The (tenant_id, id) key existed for the foreign keys.
ALTER TABLE journal_entries DROP CONSTRAINT journal_entries_tenant_id_id_key;
ALTER TABLE journal_entries DROP CONSTRAINT journal_entries_reverses_key;
CREATE UNIQUE INDEX journal_entries_reverses_key ON journal_entries (reverses) WHERE reverses IS NOT NULL;
ALTER TABLE postings DROP CONSTRAINT postings_pkey;
DROP INDEX postings_entry;
ALTER TABLE postings ADD PRIMARY KEY (entry_id, id);
CREATE FUNCTION refuse_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% rows are never deleted (ledger entries refer to them)', TG_TABLE_NAME USING ERRCODE = 'integrity_constraint_violation';
END $$;
CREATE TRIGGER ledger_accounts_never_deleted BEFORE DELETE ON ledger_accounts FOR EACH ROW EXECUTE FUNCTION refuse_delete();
CREATE TRIGGER ledger_accounts_no_truncate BEFORE TRUNCATE ON ledger_accounts FOR EACH STATEMENT EXECUTE FUNCTION refuse_delete();
CREATE TRIGGER tenants_never_deleted BEFORE DELETE ON tenants FOR EACH ROW EXECUTE FUNCTION refuse_delete();
CREATE TRIGGER tenants_no_truncate BEFORE TRUNCATE ON tenants FOR EACH STATEMENT EXECUTE FUNCTION refuse_delete();
CREATE TRIGGER currencies_never_deleted BEFORE DELETE ON currencies FOR EACH ROW EXECUTE FUNCTION refuse_delete();
CREATE TRIGGER currencies_no_truncate BEFORE TRUNCATE ON currencies FOR EACH STATEMENT EXECUTE FUNCTION refuse_delete();
ALTER TABLE ledger_accounts ENABLE ALWAYS TRIGGER ledger_accounts_never_deleted;
ALTER TABLE tenants ENABLE ALWAYS TRIGGER tenants_never_deleted;
ALTER TABLE currencies ENABLE ALWAYS TRIGGER currencies_never_deleted;
-- An account keeps its id, tenant and system key (the app role may rename it only; this stops the owner too).
CREATE FUNCTION ledger_account_keys_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.id <> OLD.id OR NEW.tenant_id <> OLD.tenant_id OR NEW.system_key IS DISTINCT FROM OLD.system_key THEN
    RAISE EXCEPTION 'an account keeps its id, tenant and system key' USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER ledger_accounts_keys_fixed BEFORE UPDATE ON ledger_accounts FOR EACH ROW EXECUTE FUNCTION ledger_account_keys_fixed();
ALTER TABLE ledger_accounts ENABLE ALWAYS TRIGGER ledger_accounts_keys_fixed;

-- The application role writes no ledger row itself.
REVOKE INSERT ON journal_entries, postings FROM finflow_app;

-- Only ledger_post writes entries and postings: it marks the transaction with the entry it is writing, and these
-- guards refuse any row that is not that entry's (an owner who sets the mark by hand is the one way around them;
-- see the README on what the schema owner and a superuser can still do).
CREATE FUNCTION ledger_entry_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('finflow.ledger_posting', true) IS DISTINCT FROM NEW.id::text THEN
    RAISE EXCEPTION 'ledger rows are written only by ledger_post(): % into journal_entries refused', TG_OP USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END $$;
CREATE FUNCTION ledger_posting_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('finflow.ledger_posting', true) IS DISTINCT FROM NEW.entry_id::text THEN
    RAISE EXCEPTION 'ledger rows are written only by ledger_post(): % into postings refused', TG_OP USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END $$;
DROP TRIGGER postings_same_transaction ON postings;
DROP FUNCTION postings_same_transaction();
DROP TRIGGER journal_entry_open_period ON journal_entries;
DROP FUNCTION journal_entry_open_period();
CREATE TRIGGER journal_entries_written_by_ledger_post BEFORE INSERT ON journal_entries FOR EACH ROW EXECUTE FUNCTION ledger_entry_guard();
CREATE TRIGGER postings_written_by_ledger_post BEFORE INSERT ON postings FOR EACH ROW EXECUTE FUNCTION ledger_posting_guard();
-- ledger_post checks balance per currency before it writes, and nothing else can write: v1's commit-time check
-- (two more queries per entry, and blind to postings added after it ran) goes.
DROP TRIGGER journal_entry_balances ON journal_entries;
DROP FUNCTION journal_entry_balances();
ALTER TABLE journal_entries ENABLE ALWAYS TRIGGER journal_entries_written_by_ledger_post;
ALTER TABLE postings ENABLE ALWAYS TRIGGER postings_written_by_ledger_post;
ALTER TABLE journal_entries ENABLE ALWAYS TRIGGER journal_entries_no_truncate;
ALTER TABLE postings ENABLE ALWAYS TRIGGER postings_no_truncate;

-- Periods: never overlapping; open -> locked (only adjusting entries) -> closed; status changes only through the
-- functions below, each audited.
CREATE EXTENSION IF NOT EXISTS btree_gist;
ALTER TABLE accounting_periods DROP CONSTRAINT accounting_periods_status_check;
ALTER TABLE accounting_periods ADD CONSTRAINT accounting_periods_status_check CHECK (status IN ('open', 'locked', 'closed'));
ALTER TABLE accounting_periods ADD CONSTRAINT accounting_periods_no_overlap
  EXCLUDE USING gist (tenant_id WITH =, daterange(period_start, period_end, '[]') WITH &&);
-- Periods are created by ledger_post / ledger_ensure_periods and change status only through ledger_set_period_status.
REVOKE INSERT, UPDATE ON accounting_periods FROM finflow_app;

CREATE TABLE accounting_period_events (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id    uuid NOT NULL REFERENCES tenants (id),
  period_start date NOT NULL,
  action       text NOT NULL CHECK (action IN ('lock', 'close', 'reopen')),
  from_status  text NOT NULL,
  actor        text NOT NULL CHECK (length(actor) BETWEEN 1 AND 200),
  reason       text CHECK (length(reason) <= 500),
  at           timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (tenant_id, period_start) REFERENCES accounting_periods (tenant_id, period_start)
);
ALTER TABLE accounting_period_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE accounting_period_events FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON accounting_period_events USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
GRANT SELECT ON accounting_period_events TO finflow_app;
CREATE TRIGGER accounting_period_events_append_only BEFORE UPDATE OR DELETE ON accounting_period_events FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
ALTER TABLE accounting_period_events ENABLE ALWAYS TRIGGER accounting_period_events_append_only;

-- Creates the calendar-month periods of the current tenant from a date's month through N months ahead.
CREATE FUNCTION ledger_ensure_periods(p_from date, p_months integer) RETURNS integer
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

-- The lock that orders postings against period status changes of a tenant: postings hold it shared until they
-- commit, a status change holds it exclusively, so a close waits for every posting in flight, and a posting that
-- starts after it sees the new status. A transaction-scoped advisory lock rather than a row lock on the period row
-- (what the review asked for, FOR SHARE / FOR UPDATE): the same ordering without writing the period row's header on
-- every posting (a row lock shared by many concurrent writers costs a MultiXact each time, measured 0.45x of
-- pgledger against 0.9x+ without). Per tenant, so it is taken before the period is known; a status change (rare,
-- brief) makes the tenant's postings wait for its commit. A hash collision only makes two tenants wait on each other.
CREATE FUNCTION ledger_period_lock_key(p_tenant uuid) RETURNS bigint
  LANGUAGE sql IMMUTABLE AS $$ SELECT hashtextextended('ledger-periods/' || p_tenant::text, 4242) $$;

-- Period status changes (lock, close, reopen), audited, are ledger_set_period_status in the accounting-core
-- migration, which also writes the balance snapshot of a closed period.

-- ledger_post(entry jsonb) -> jsonb
--   entry: { id uuid, effectiveAt timestamptz, description, source: {type, id}, kind?, createdBy?, reverses?,
--            postings: [{ accountId | systemKey, currency, amountMinor (integer; debit > 0, credit < 0) }] }
--   For a reversal (`reverses` set) `postings` may be omitted: the mirror of the original is posted; if given, it
--   must be exactly that mirror.
--   Returns { status: 'posted' | 'already-posted', accountingDate }. The same id with the same content is
--   'already-posted' (a retried step); the same id with anything different is refused.
-- Errors carry a HINT naming the refusal: invalid-entry, unknown-account, unknown-entry, unbalanced, closed-period,
-- conflicting-entry, already-reversed.
CREATE TYPE ledger_line AS (account_id uuid, currency char(3), amount_minor bigint);

CREATE FUNCTION ledger_post(p_entry jsonb) RETURNS jsonb
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
REVOKE ALL ON FUNCTION ledger_post(jsonb), ledger_ensure_periods(date, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ledger_post(jsonb), ledger_ensure_periods(date, integer) TO finflow_app;

-- Down Migration
REVOKE EXECUTE ON FUNCTION ledger_post(jsonb), ledger_ensure_periods(date, integer) FROM finflow_app;
DROP FUNCTION ledger_post(jsonb);
DROP TYPE ledger_line;
DROP FUNCTION ledger_ensure_periods(date, integer);
DROP TABLE accounting_period_events;
GRANT INSERT, UPDATE (status, closed_at) ON accounting_periods TO finflow_app;
ALTER TABLE accounting_periods DROP CONSTRAINT accounting_periods_no_overlap;
ALTER TABLE accounting_periods DROP CONSTRAINT accounting_periods_status_check;
ALTER TABLE accounting_periods ADD CONSTRAINT accounting_periods_status_check CHECK (status IN ('open', 'closed'));
DROP TRIGGER journal_entries_written_by_ledger_post ON journal_entries;
DROP TRIGGER postings_written_by_ledger_post ON postings;
DROP FUNCTION ledger_entry_guard();
DROP FUNCTION ledger_posting_guard();
GRANT INSERT ON journal_entries, postings TO finflow_app;
CREATE INDEX journal_entries_effective ON journal_entries (tenant_id, effective_at);
CREATE INDEX postings_account ON postings (tenant_id, account_id, currency);
DROP INDEX journal_entries_date;
DROP INDEX postings_account_date;
ALTER TABLE journal_entries DROP CONSTRAINT journal_entries_reversal_kind;
ALTER TABLE postings DROP COLUMN accounting_date;
ALTER TABLE journal_entries DROP CONSTRAINT journal_entries_four_eyes, DROP COLUMN accounting_date, DROP COLUMN kind, DROP COLUMN created_by, DROP COLUMN approved_by;
ALTER TABLE tenants DROP COLUMN time_zone;
DROP FUNCTION is_time_zone(text);
ALTER TABLE ledger_holds DROP CONSTRAINT ledger_holds_currency_iso;
DROP TRIGGER ledger_accounts_keys_fixed ON ledger_accounts;
DROP FUNCTION ledger_account_keys_fixed();
DROP TRIGGER ledger_accounts_never_deleted ON ledger_accounts;
DROP TRIGGER ledger_accounts_no_truncate ON ledger_accounts;
DROP TRIGGER tenants_never_deleted ON tenants;
DROP TRIGGER tenants_no_truncate ON tenants;
DROP TRIGGER currencies_never_deleted ON currencies;
DROP TRIGGER currencies_no_truncate ON currencies;
DROP FUNCTION refuse_delete();
ALTER TABLE journal_entries ADD FOREIGN KEY (tenant_id) REFERENCES tenants (id);
ALTER TABLE postings DROP CONSTRAINT postings_pkey;
ALTER TABLE postings ADD PRIMARY KEY (id);
CREATE INDEX postings_entry ON postings (entry_id);
DROP INDEX journal_entries_reverses_key;
ALTER TABLE journal_entries ADD CONSTRAINT journal_entries_reverses_key UNIQUE (reverses);
ALTER TABLE journal_entries ADD CONSTRAINT journal_entries_tenant_id_id_key UNIQUE (tenant_id, id);
ALTER TABLE journal_entries ADD FOREIGN KEY (tenant_id, reverses) REFERENCES journal_entries (tenant_id, id);
ALTER TABLE postings ADD FOREIGN KEY (tenant_id, entry_id) REFERENCES journal_entries (tenant_id, id);
ALTER TABLE postings ADD FOREIGN KEY (tenant_id, account_id) REFERENCES ledger_accounts (tenant_id, id);
DROP TABLE currencies;
