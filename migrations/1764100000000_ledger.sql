-- Up Migration

-- The ledger: double entry in integer minor units, per currency. The database itself guarantees that
--   * every journal entry balances per currency (checked at commit by a deferred constraint trigger),
--   * an entry has at least two postings, and postings can only be added in the transaction that created it,
--   * entries and postings are append-only (corrections are reversing entries; each entry is reversed at most once),
--   * an entry id is written once (a retried activity derives the same id and cannot post twice),
--   * nothing posts into a closed period.

CREATE TABLE ledger_accounts (
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id  uuid NOT NULL REFERENCES tenants (id),
  code       text NOT NULL CHECK (code ~ '^[0-9]{4}(-[A-Za-z0-9]{1,32})?$'),
  name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  type       text NOT NULL CHECK (type IN ('asset', 'liability', 'equity', 'revenue', 'expense')),
  -- Accounts the platform posts to by name (e.g. provider_clearing); null for accounts a tenant adds.
  system_key text CHECK (system_key ~ '^[a-z_]{1,64}$'),
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, code),
  UNIQUE (tenant_id, system_key),
  UNIQUE (tenant_id, id)
);
ALTER TABLE ledger_accounts ENABLE ROW LEVEL SECURITY;
ALTER TABLE ledger_accounts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON ledger_accounts USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
GRANT SELECT, INSERT ON ledger_accounts TO finflow_app;

CREATE TABLE accounting_periods (
  tenant_id    uuid NOT NULL REFERENCES tenants (id),
  period_start date NOT NULL,
  period_end   date NOT NULL CHECK (period_end > period_start),
  status       text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
  closed_at    timestamptz,
  PRIMARY KEY (tenant_id, period_start)
);
ALTER TABLE accounting_periods ENABLE ROW LEVEL SECURITY;
ALTER TABLE accounting_periods FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON accounting_periods USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
GRANT SELECT, INSERT, UPDATE (status, closed_at) ON accounting_periods TO finflow_app;

CREATE TABLE journal_entries (
  id           uuid PRIMARY KEY,
  tenant_id    uuid NOT NULL REFERENCES tenants (id),
  effective_at timestamptz NOT NULL,
  posted_at    timestamptz NOT NULL DEFAULT now(),
  description  text NOT NULL CHECK (length(description) BETWEEN 1 AND 500),
  source_type  text NOT NULL CHECK (source_type ~ '^[a-z_.]{1,64}$'),
  source_id    text NOT NULL CHECK (length(source_id) BETWEEN 1 AND 200),
  reverses     uuid UNIQUE,
  created_txid bigint NOT NULL DEFAULT txid_current(),
  UNIQUE (tenant_id, id),
  FOREIGN KEY (tenant_id, reverses) REFERENCES journal_entries (tenant_id, id)
);
CREATE INDEX journal_entries_source ON journal_entries (tenant_id, source_type, source_id);
CREATE INDEX journal_entries_effective ON journal_entries (tenant_id, effective_at);
ALTER TABLE journal_entries ENABLE ROW LEVEL SECURITY;
ALTER TABLE journal_entries FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON journal_entries USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
GRANT SELECT, INSERT ON journal_entries TO finflow_app;

CREATE TABLE postings (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id    uuid NOT NULL,
  entry_id     uuid NOT NULL,
  account_id   uuid NOT NULL,
  currency     char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  -- Debits positive, credits negative; never zero. bigint: minor units of any real amount fit.
  amount_minor bigint NOT NULL CHECK (amount_minor <> 0),
  FOREIGN KEY (tenant_id, entry_id) REFERENCES journal_entries (tenant_id, id),
  FOREIGN KEY (tenant_id, account_id) REFERENCES ledger_accounts (tenant_id, id)
);
CREATE INDEX postings_entry ON postings (entry_id);
CREATE INDEX postings_account ON postings (tenant_id, account_id, currency);
ALTER TABLE postings ENABLE ROW LEVEL SECURITY;
ALTER TABLE postings FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON postings USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
GRANT SELECT, INSERT ON postings TO finflow_app;

-- Append-only, whoever asks (the owner and superusers included).
CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'ledger rows are append-only: % on % refused (post a reversing entry instead)', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'integrity_constraint_violation';
END $$;
CREATE TRIGGER journal_entries_append_only BEFORE UPDATE OR DELETE ON journal_entries FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER postings_append_only BEFORE UPDATE OR DELETE ON postings FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER journal_entries_no_truncate BEFORE TRUNCATE ON journal_entries FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER postings_no_truncate BEFORE TRUNCATE ON postings FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();

-- Postings belong to the transaction that created their entry: nothing can be added to a posted entry later.
CREATE FUNCTION postings_same_transaction() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM journal_entries e WHERE e.id = NEW.entry_id AND e.created_txid = txid_current()) THEN
    RAISE EXCEPTION 'journal entry % is already posted: postings can only be added when it is created', NEW.entry_id
      USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER postings_same_transaction BEFORE INSERT ON postings FOR EACH ROW EXECUTE FUNCTION postings_same_transaction();

-- At commit: each new entry has two or more postings and sums to zero in every currency.
CREATE FUNCTION journal_entry_balances() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  unbalanced record;
  n integer;
BEGIN
  SELECT count(*) INTO n FROM postings WHERE entry_id = NEW.id;
  IF n < 2 THEN
    RAISE EXCEPTION 'journal entry % has % posting(s); double entry needs at least two', NEW.id, n
      USING ERRCODE = 'check_violation';
  END IF;
  SELECT currency, sum(amount_minor) AS total INTO unbalanced
    FROM postings WHERE entry_id = NEW.id GROUP BY currency HAVING sum(amount_minor) <> 0 LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'journal entry % does not balance in %: debits minus credits = %', NEW.id, unbalanced.currency, unbalanced.total
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER journal_entry_balances AFTER INSERT ON journal_entries
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION journal_entry_balances();

-- Closed periods accept nothing.
CREATE FUNCTION journal_entry_open_period() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM accounting_periods p
             WHERE p.tenant_id = NEW.tenant_id AND p.status = 'closed'
               AND NEW.effective_at >= p.period_start AND NEW.effective_at < p.period_end + 1) THEN
    RAISE EXCEPTION 'the accounting period containing % is closed', NEW.effective_at USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER journal_entry_open_period BEFORE INSERT ON journal_entries FOR EACH ROW EXECUTE FUNCTION journal_entry_open_period();

-- Holds: money authorised but not yet captured; they reduce what is available, not what is posted.
CREATE TABLE ledger_holds (
  id           uuid PRIMARY KEY,
  tenant_id    uuid NOT NULL REFERENCES tenants (id),
  account_id   uuid NOT NULL,
  currency     char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  amount_minor bigint NOT NULL CHECK (amount_minor > 0),
  status       text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'captured', 'released', 'expired')),
  source_type  text NOT NULL,
  source_id    text NOT NULL,
  expires_at   timestamptz NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  settled_at   timestamptz,
  FOREIGN KEY (tenant_id, account_id) REFERENCES ledger_accounts (tenant_id, id),
  CHECK ((status = 'active') = (settled_at IS NULL))
);
CREATE INDEX ledger_holds_active ON ledger_holds (tenant_id, account_id, currency) WHERE status = 'active';
ALTER TABLE ledger_holds ENABLE ROW LEVEL SECURITY;
ALTER TABLE ledger_holds FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON ledger_holds USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
GRANT SELECT, INSERT, UPDATE (status, settled_at) ON ledger_holds TO finflow_app;

-- A hold settles once: active -> captured | released | expired, never back.
CREATE FUNCTION ledger_hold_settles_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.status <> 'active' AND NEW.status IS DISTINCT FROM OLD.status THEN
    RAISE EXCEPTION 'hold % is already %', OLD.id, OLD.status USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER ledger_hold_settles_once BEFORE UPDATE ON ledger_holds FOR EACH ROW EXECUTE FUNCTION ledger_hold_settles_once();

-- Every tenant's chart of accounts starts with what the platform posts to.
CREATE FUNCTION create_default_chart(p_tenant uuid) RETURNS void LANGUAGE sql AS $$
  INSERT INTO ledger_accounts (tenant_id, code, name, type, system_key) VALUES
    (p_tenant, '1000', 'Cash at bank', 'asset', 'cash'),
    (p_tenant, '1100', 'Payment provider clearing', 'asset', 'provider_clearing'),
    (p_tenant, '1200', 'Accounts receivable', 'asset', 'accounts_receivable'),
    (p_tenant, '2000', 'Customer deposits', 'liability', 'customer_deposits'),
    (p_tenant, '3000', 'Owner equity', 'equity', 'equity'),
    (p_tenant, '3900', 'Retained earnings', 'equity', 'retained_earnings'),
    (p_tenant, '4000', 'Sales revenue', 'revenue', 'sales_revenue'),
    (p_tenant, '4900', 'Refunds and returns', 'revenue', 'refunds'),
    (p_tenant, '5000', 'Payment processing fees', 'expense', 'processing_fees')
  ON CONFLICT (tenant_id, code) DO NOTHING
$$;

-- Tenants that exist already get their chart now. Listing every tenant needs the owner to see past RLS: FORCE
-- is lifted on `tenants` inside this migration's transaction only, and restored before it commits.
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

-- Down Migration
DROP FUNCTION create_default_chart(uuid);
DROP TABLE ledger_holds;
DROP FUNCTION ledger_hold_settles_once();
DROP TABLE postings;
DROP TABLE journal_entries;
DROP FUNCTION journal_entry_open_period();
DROP FUNCTION journal_entry_balances();
DROP FUNCTION postings_same_transaction();
DROP FUNCTION ledger_append_only();
DROP TABLE accounting_periods;
DROP TABLE ledger_accounts;
