-- Up Migration

-- The general ledger's accounting core, on top of ledger v2: a chart of accounts with statement subtypes and normal
-- balances; manual journal entries under maker-checker; dated exchange rates for consolidated reports; balance
-- snapshots written when a period closes, so a report reads one snapshot plus the postings since.

-- Chart of accounts. `type` is the statement section, `subtype` places the account in it; the normal balance
-- follows from the subtype (contra accounts run against their section).
ALTER TABLE ledger_accounts
  ADD COLUMN subtype text,
  ADD COLUMN is_cash boolean NOT NULL DEFAULT false;
ALTER TABLE ledger_accounts NO FORCE ROW LEVEL SECURITY;
UPDATE ledger_accounts SET subtype = CASE
    WHEN system_key = 'refunds' THEN 'contra_revenue'
    WHEN system_key = 'processing_fees' THEN 'cost_of_sales'
    WHEN type = 'asset' THEN 'current_asset'
    WHEN type = 'liability' THEN 'current_liability'
    ELSE type END,
  is_cash = (system_key = 'cash');
ALTER TABLE ledger_accounts FORCE ROW LEVEL SECURITY;
ALTER TABLE ledger_accounts ALTER COLUMN subtype SET NOT NULL;
ALTER TABLE ledger_accounts ADD CONSTRAINT ledger_accounts_subtype CHECK (
  (type = 'asset' AND subtype IN ('current_asset', 'non_current_asset', 'contra_asset'))
  OR (type = 'liability' AND subtype IN ('current_liability', 'non_current_liability'))
  OR (type = 'equity' AND subtype = 'equity')
  OR (type = 'revenue' AND subtype IN ('revenue', 'contra_revenue', 'other_income'))
  OR (type = 'expense' AND subtype IN ('cost_of_sales', 'expense', 'other_expense')));
ALTER TABLE ledger_accounts ADD COLUMN normal_balance text GENERATED ALWAYS AS (
  CASE WHEN subtype IN ('contra_asset', 'current_liability', 'non_current_liability', 'equity', 'revenue', 'other_income') THEN 'credit' ELSE 'debit' END) STORED;
ALTER TABLE ledger_accounts ADD CONSTRAINT ledger_accounts_cash_is_asset CHECK (NOT is_cash OR subtype = 'current_asset');
-- A tenant's own accounts carry a suffixed code (e.g. 6100-TRAVEL), so no system account, today's or a later
-- migration's, can ever clash with one; system accounts are the plain four-digit codes.
ALTER TABLE ledger_accounts ADD CONSTRAINT ledger_accounts_tenant_code CHECK (system_key IS NOT NULL OR code ~ '^[0-9]{4}-[A-Za-z0-9]{1,32}$');
ALTER TABLE ledger_accounts ADD CONSTRAINT ledger_accounts_system_code CHECK (system_key IS NULL OR code ~ '^[0-9]{4}$');
-- The app role adds tenant accounts and renames them; it never sets system_key.
REVOKE INSERT ON ledger_accounts FROM finflow_app;
GRANT INSERT (tenant_id, code, name, type, subtype, is_cash), UPDATE (name) ON ledger_accounts TO finflow_app;

-- Every tenant's chart: what the platform posts to. SECURITY DEFINER because it sets system_key, which the app
-- role cannot; RLS still scopes it to the tenant in the transaction.
CREATE OR REPLACE FUNCTION create_default_chart(p_tenant uuid) RETURNS void
  LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
  INSERT INTO ledger_accounts (tenant_id, code, name, type, subtype, is_cash, system_key) VALUES
    (p_tenant, '1000', 'Cash at bank', 'asset', 'current_asset', true, 'cash'),
    (p_tenant, '1100', 'Payment provider clearing', 'asset', 'current_asset', false, 'provider_clearing'),
    (p_tenant, '1200', 'Accounts receivable', 'asset', 'current_asset', false, 'accounts_receivable'),
    (p_tenant, '1210', 'Allowance for doubtful accounts', 'asset', 'contra_asset', false, 'allowance_doubtful'),
    (p_tenant, '2000', 'Customer deposits', 'liability', 'current_liability', false, 'customer_deposits'),
    (p_tenant, '2100', 'Sales tax payable', 'liability', 'current_liability', false, 'tax_payable'),
    (p_tenant, '2200', 'Customer credit balances', 'liability', 'current_liability', false, 'customer_credit'),
    (p_tenant, '3000', 'Owner equity', 'equity', 'equity', false, 'equity'),
    (p_tenant, '3900', 'Retained earnings', 'equity', 'equity', false, 'retained_earnings'),
    (p_tenant, '4000', 'Sales revenue', 'revenue', 'revenue', false, 'sales_revenue'),
    (p_tenant, '4900', 'Refunds and returns', 'revenue', 'contra_revenue', false, 'refunds'),
    (p_tenant, '5000', 'Payment processing fees', 'expense', 'cost_of_sales', false, 'processing_fees'),
    (p_tenant, '6100', 'Bad debt expense', 'expense', 'expense', false, 'bad_debt_expense'),
    (p_tenant, '7100', 'Foreign exchange gain or loss', 'expense', 'other_expense', false, 'fx_gain_loss'),
    (p_tenant, '7200', 'Rounding differences', 'expense', 'other_expense', false, 'rounding'),
    (p_tenant, '9990', 'Suspense', 'asset', 'current_asset', false, 'suspense')
  ON CONFLICT (tenant_id, code) DO NOTHING
$$;
REVOKE ALL ON FUNCTION create_default_chart(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION create_default_chart(uuid) TO finflow_app;

-- Existing tenants get the new system accounts (FORCE lifted on `tenants` inside this transaction only).
ALTER TABLE tenants NO FORCE ROW LEVEL SECURITY;
DO $$
DECLARE t uuid;
BEGIN
  FOR t IN SELECT id FROM tenants LOOP
    PERFORM set_config('finflow.tenant_id', t::text, true);
    PERFORM create_default_chart(t);
  END LOOP;
  PERFORM set_config('finflow.tenant_id', '', true);
END $$;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;

-- Reporting currency of the tenant's consolidated statements.
ALTER TABLE tenants ADD COLUMN reporting_currency char(3) REFERENCES currencies (code);

-- Manual journal entries: maker-checker. A draft is written by one principal and posted only when a different one
-- approves it; the database refuses a self-approval, and a manual entry cannot reach ledger_post any other way.
CREATE TABLE journal_entry_drafts (
  id          uuid PRIMARY KEY,
  tenant_id   uuid NOT NULL REFERENCES tenants (id),
  kind        text NOT NULL CHECK (kind IN ('standard', 'adjusting')),
  effective_at timestamptz NOT NULL,
  description text NOT NULL CHECK (length(description) BETWEEN 1 AND 500),
  postings    jsonb NOT NULL CHECK (jsonb_typeof(postings) = 'array'),
  created_by  text NOT NULL CHECK (length(created_by) BETWEEN 1 AND 200),
  created_at  timestamptz NOT NULL DEFAULT now(),
  status      text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'posted', 'rejected')),
  decided_by  text CHECK (length(decided_by) BETWEEN 1 AND 200),
  decided_at  timestamptz,
  reason      text CHECK (length(reason) <= 500),
  entry_id    uuid,
  CHECK (decided_by IS NULL OR decided_by <> created_by),
  CHECK ((status = 'draft') = (decided_by IS NULL)),
  CHECK ((status = 'posted') = (entry_id IS NOT NULL)),
  UNIQUE (tenant_id, id)
);
CREATE INDEX journal_entry_drafts_open ON journal_entry_drafts (tenant_id, created_at DESC) WHERE status = 'draft';
ALTER TABLE journal_entry_drafts ENABLE ROW LEVEL SECURITY;
ALTER TABLE journal_entry_drafts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON journal_entry_drafts USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
GRANT SELECT, INSERT (id, tenant_id, kind, effective_at, description, postings, created_by) ON journal_entry_drafts TO finflow_app;

-- Decides a draft: approve (posts it through ledger_post as a manual entry, created by the maker, approved by the
-- checker) or reject. The checker is never the maker.
CREATE FUNCTION ledger_decide_draft(p_draft uuid, p_decision text, p_actor text, p_reason text DEFAULT NULL) RETURNS jsonb
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
REVOKE ALL ON FUNCTION ledger_decide_draft(uuid, text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ledger_decide_draft(uuid, text, text, text) TO finflow_app;

-- Dated exchange rates: 1 unit of `base` = `rate` units of `quote` (major units). Entered by finance or loaded
-- from a CSV; a report converts with the latest rate on or before its date, and shows the rate and its date.
CREATE TABLE fx_rates (
  tenant_id  uuid NOT NULL REFERENCES tenants (id),
  base       char(3) NOT NULL REFERENCES currencies (code),
  quote      char(3) NOT NULL REFERENCES currencies (code),
  rate_date  date NOT NULL,
  rate       numeric(24, 12) NOT NULL CHECK (rate > 0),
  source     text NOT NULL DEFAULT 'manual' CHECK (length(source) BETWEEN 1 AND 100),
  entered_by text NOT NULL CHECK (length(entered_by) BETWEEN 1 AND 200),
  entered_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, base, quote, rate_date),
  CHECK (base <> quote)
);
ALTER TABLE fx_rates ENABLE ROW LEVEL SECURITY;
ALTER TABLE fx_rates FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON fx_rates USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
GRANT SELECT, INSERT, UPDATE (rate, source, entered_by, entered_at) ON fx_rates TO finflow_app;

-- Balance snapshots, written when a period closes: per account and currency, debits minus credits of everything
-- up to and including the period's last day. A report as of a date reads the latest snapshot before it and adds
-- the postings since, so its cost does not grow with the whole history.
CREATE TABLE ledger_balance_snapshots (
  tenant_id    uuid NOT NULL REFERENCES tenants (id),
  as_of        date NOT NULL,
  account_id   uuid NOT NULL,
  currency     char(3) NOT NULL REFERENCES currencies (code),
  debit_minus_credit numeric(30, 0) NOT NULL,
  PRIMARY KEY (tenant_id, as_of, account_id, currency),
  FOREIGN KEY (tenant_id, account_id) REFERENCES ledger_accounts (tenant_id, id)
);
ALTER TABLE ledger_balance_snapshots ENABLE ROW LEVEL SECURITY;
ALTER TABLE ledger_balance_snapshots FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON ledger_balance_snapshots USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
GRANT SELECT ON ledger_balance_snapshots TO finflow_app;

-- Writes the snapshot of a period's end from the previous snapshot plus the postings since (idempotent).
CREATE FUNCTION ledger_write_snapshot(p_tenant uuid, p_as_of date) RETURNS integer
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  prev date;
  n integer;
BEGIN
  DELETE FROM ledger_balance_snapshots WHERE tenant_id = p_tenant AND as_of = p_as_of;
  SELECT max(as_of) INTO prev FROM ledger_balance_snapshots WHERE tenant_id = p_tenant AND as_of < p_as_of;
  INSERT INTO ledger_balance_snapshots (tenant_id, as_of, account_id, currency, debit_minus_credit)
    SELECT p_tenant, p_as_of, account_id, currency, sum(dmc) FROM (
      SELECT account_id, currency, debit_minus_credit AS dmc FROM ledger_balance_snapshots WHERE tenant_id = p_tenant AND as_of = prev
      UNION ALL
      SELECT account_id, currency, amount_minor FROM postings
       WHERE tenant_id = p_tenant AND accounting_date <= p_as_of AND (prev IS NULL OR accounting_date > prev)) s
    GROUP BY account_id, currency;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END $$;
REVOKE ALL ON FUNCTION ledger_write_snapshot(uuid, date) FROM PUBLIC;

-- Period status changes: lock (only adjusting entries from then on), close (nothing; earlier periods first; writes
-- the period's balance snapshot), reopen (a closed period, with a reason; drops its snapshot and every later one,
-- which built on it). Each takes the tenant's period lock exclusively (ledger_post holds it shared), so it waits for
-- postings in flight and every posting after it sees the new status; each is audited.
CREATE FUNCTION ledger_set_period_status(p_period_start date, p_action text, p_actor text, p_reason text DEFAULT NULL)
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

REVOKE ALL ON FUNCTION ledger_set_period_status(date, text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ledger_set_period_status(date, text, text, text) TO finflow_app;

-- Down Migration
DROP FUNCTION ledger_set_period_status(date, text, text, text);
DROP FUNCTION ledger_write_snapshot(uuid, date);
DROP TABLE ledger_balance_snapshots;
DROP TABLE fx_rates;
DROP FUNCTION ledger_decide_draft(uuid, text, text, text);
DROP TABLE journal_entry_drafts;
ALTER TABLE tenants DROP COLUMN reporting_currency;
ALTER TABLE ledger_accounts DROP CONSTRAINT ledger_accounts_system_code, DROP CONSTRAINT ledger_accounts_tenant_code,
  DROP CONSTRAINT ledger_accounts_cash_is_asset, DROP CONSTRAINT ledger_accounts_subtype, DROP COLUMN normal_balance, DROP COLUMN subtype, DROP COLUMN is_cash;
GRANT INSERT ON ledger_accounts TO finflow_app;
