-- Up Migration

-- Invoices (issue 14): one row per invoice, driven by its InvoiceLifecycle workflow through modules/invoices.
-- Amounts are integer minor units in the invoice's ISO currency. What is still owed is derived, never stored apart:
-- outstanding = total - paid - credited (credit notes against what was owed) - written off, and never negative.
CREATE TABLE invoices (
  id                   uuid PRIMARY KEY,
  tenant_id            uuid NOT NULL REFERENCES tenants (id),
  idempotency_key      text NOT NULL CHECK (idempotency_key ~ '^[A-Za-z0-9._:-]{1,255}$'),
  series               text NOT NULL DEFAULT 'INV' CHECK (series ~ '^[A-Z0-9]{1,16}$'),
  -- Assigned by invoice_issue() only, gapless per tenant and series.
  number               integer CHECK (number > 0),
  customer_id          text NOT NULL CHECK (customer_id ~ '^[A-Za-z0-9_-]{1,64}$'),
  currency             char(3) NOT NULL REFERENCES currencies (code),
  status               text NOT NULL DEFAULT 'draft'
                       CHECK (status IN ('draft', 'issued', 'partially_paid', 'paid', 'overdue', 'credited', 'void', 'written_off')),
  terms                text CHECK (terms ~ '^net_[0-9]{1,3}$'),
  requested_due_date   date,
  issue_date           date,
  due_date             date CHECK (due_date >= issue_date),
  note                 text CHECK (length(note) <= 1000),
  subtotal_minor       bigint NOT NULL DEFAULT 0 CHECK (subtotal_minor >= 0),
  tax_minor            bigint NOT NULL DEFAULT 0 CHECK (tax_minor >= 0),
  total_minor          bigint NOT NULL DEFAULT 0 CHECK (total_minor = subtotal_minor + tax_minor),
  paid_minor           bigint NOT NULL DEFAULT 0 CHECK (paid_minor >= 0),
  credited_minor       bigint NOT NULL DEFAULT 0 CHECK (credited_minor >= 0),
  -- Credit notes beyond what was owed (the invoice was paid): given to the customer as credit balance.
  credited_to_balance_minor bigint NOT NULL DEFAULT 0 CHECK (credited_to_balance_minor >= 0),
  written_off_minor    bigint NOT NULL DEFAULT 0 CHECK (written_off_minor >= 0),
  outstanding_minor    bigint GENERATED ALWAYS AS (total_minor - paid_minor - credited_minor - written_off_minor) STORED,
  issue_entry_id       uuid,
  document_html        text,
  created_by           text CHECK (length(created_by) <= 100),
  created_at           timestamptz NOT NULL DEFAULT now(),
  updated_at           timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, idempotency_key),
  UNIQUE (tenant_id, id),
  UNIQUE (tenant_id, series, number),
  CONSTRAINT invoices_never_overpaid CHECK (total_minor - paid_minor - credited_minor - written_off_minor >= 0),
  CONSTRAINT invoices_credit_within_total CHECK (credited_minor + credited_to_balance_minor <= total_minor),
  CONSTRAINT invoices_numbered_when_issued CHECK ((status = 'draft') = (number IS NULL) OR (status = 'void' AND number IS NULL)),
  CONSTRAINT invoices_dated_when_issued CHECK (number IS NULL OR (issue_date IS NOT NULL AND due_date IS NOT NULL))
);
CREATE INDEX invoices_list ON invoices (tenant_id, created_at DESC, id DESC);
CREATE INDEX invoices_open ON invoices (tenant_id, currency, customer_id) WHERE status IN ('issued', 'partially_paid', 'overdue');
ALTER TABLE invoices ENABLE ROW LEVEL SECURITY;
ALTER TABLE invoices FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON invoices USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
-- The number is not among the app role's columns: only invoice_issue() sets it.
GRANT SELECT, INSERT (id, tenant_id, idempotency_key, series, customer_id, currency, terms, requested_due_date, note, subtotal_minor, tax_minor, total_minor, created_by),
  UPDATE (status, terms, requested_due_date, note, subtotal_minor, tax_minor, total_minor, paid_minor, credited_minor, credited_to_balance_minor,
          written_off_minor, issue_entry_id, document_html, customer_id, currency, updated_at)
  ON invoices TO finflow_app;

CREATE TABLE invoice_lines (
  tenant_id        uuid NOT NULL,
  invoice_id       uuid NOT NULL,
  position         integer NOT NULL CHECK (position BETWEEN 1 AND 200),
  description      text NOT NULL CHECK (length(description) BETWEEN 1 AND 500),
  quantity         integer NOT NULL CHECK (quantity BETWEEN 1 AND 1000000),
  unit_price_minor bigint NOT NULL CHECK (unit_price_minor >= 0),
  tax_rate_bp      integer NOT NULL CHECK (tax_rate_bp BETWEEN 0 AND 10000),
  net_minor        bigint NOT NULL CHECK (net_minor = quantity * unit_price_minor),
  PRIMARY KEY (invoice_id, position),
  FOREIGN KEY (tenant_id, invoice_id) REFERENCES invoices (tenant_id, id)
);
ALTER TABLE invoice_lines ENABLE ROW LEVEL SECURITY;
ALTER TABLE invoice_lines FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON invoice_lines USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
-- A draft's lines are replaced as a whole while it is a draft (modules/invoices).
GRANT SELECT, INSERT, DELETE ON invoice_lines TO finflow_app;

-- Gapless numbering: one counter row per tenant and series, locked by the issuing transaction. A rolled-back issue
-- rolls its number back with it, so numbers have no gaps and no duplicates however many issues race.
CREATE TABLE invoice_series_counters (
  tenant_id   uuid NOT NULL REFERENCES tenants (id),
  series      text NOT NULL CHECK (series ~ '^[A-Z0-9]{1,16}$'),
  last_number integer NOT NULL DEFAULT 0 CHECK (last_number >= 0),
  PRIMARY KEY (tenant_id, series)
);
ALTER TABLE invoice_series_counters ENABLE ROW LEVEL SECURITY;
ALTER TABLE invoice_series_counters FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON invoice_series_counters USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
GRANT SELECT ON invoice_series_counters TO finflow_app;

-- Issues a draft: the next number of its series (the counter row locked FOR UPDATE until the caller commits), the
-- issue and due dates, status issued. Idempotent: an invoice that has its number keeps it. SECURITY DEFINER so that
-- only this function writes numbers and counters; row-level security still scopes it to the caller's tenant.
CREATE FUNCTION invoice_issue(p_invoice uuid, p_issue_date date, p_due_date date) RETURNS integer
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  inv invoices%ROWTYPE;
  n integer;
BEGIN
  SELECT * INTO inv FROM invoices WHERE id = p_invoice FOR UPDATE;
  IF NOT FOUND THEN RAISE EXCEPTION 'no invoice %', p_invoice USING HINT = 'unknown-invoice'; END IF;
  IF inv.number IS NOT NULL THEN RETURN inv.number; END IF;
  IF inv.status <> 'draft' THEN RAISE EXCEPTION 'invoice % is %, not a draft', p_invoice, inv.status USING HINT = 'not-a-draft'; END IF;
  IF inv.total_minor <= 0 THEN RAISE EXCEPTION 'invoice % has nothing to bill', p_invoice USING HINT = 'empty-invoice'; END IF;
  INSERT INTO invoice_series_counters (tenant_id, series) VALUES (inv.tenant_id, inv.series) ON CONFLICT DO NOTHING;
  SELECT last_number + 1 INTO n FROM invoice_series_counters WHERE tenant_id = inv.tenant_id AND series = inv.series FOR UPDATE;
  UPDATE invoice_series_counters SET last_number = n WHERE tenant_id = inv.tenant_id AND series = inv.series;
  UPDATE invoices SET number = n, status = 'issued', issue_date = p_issue_date, due_date = p_due_date, updated_at = now() WHERE id = p_invoice;
  RETURN n;
END $$;
REVOKE ALL ON FUNCTION invoice_issue(uuid, date, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION invoice_issue(uuid, date, date) TO finflow_app;

-- Money received against an invoice, once per payment key (a retried step finds its row; the id is derived from
-- the invoice and the key).
CREATE TABLE invoice_payments (
  id              uuid PRIMARY KEY,
  tenant_id       uuid NOT NULL,
  invoice_id      uuid NOT NULL,
  payment_key     text NOT NULL CHECK (payment_key ~ '^[A-Za-z0-9._:-]{1,64}$'),
  amount_minor    bigint NOT NULL CHECK (amount_minor > 0),
  method          text NOT NULL CHECK (method IN ('bank_transfer', 'cash', 'card', 'customer_credit')),
  reference       text CHECK (reference ~ '^[A-Za-z0-9._:-]{1,64}$'),
  received_on     date NOT NULL,
  ledger_entry_id uuid,
  recorded_by     text CHECK (length(recorded_by) <= 100),
  created_at      timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (tenant_id, invoice_id) REFERENCES invoices (tenant_id, id),
  UNIQUE (invoice_id, payment_key)
);
CREATE INDEX invoice_payments_invoice ON invoice_payments (tenant_id, invoice_id);
ALTER TABLE invoice_payments ENABLE ROW LEVEL SECURITY;
ALTER TABLE invoice_payments FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON invoice_payments USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
GRANT SELECT, INSERT ON invoice_payments TO finflow_app;

CREATE TABLE invoice_credit_notes (
  id                  uuid PRIMARY KEY,
  tenant_id           uuid NOT NULL,
  invoice_id          uuid NOT NULL,
  credit_note_key     text NOT NULL CHECK (credit_note_key ~ '^[A-Za-z0-9._:-]{1,64}$'),
  amount_minor        bigint NOT NULL CHECK (amount_minor > 0),
  net_minor           bigint NOT NULL CHECK (net_minor >= 0),
  tax_minor           bigint NOT NULL CHECK (tax_minor >= 0),
  against_outstanding_minor bigint NOT NULL CHECK (against_outstanding_minor >= 0),
  to_customer_credit_minor  bigint NOT NULL CHECK (to_customer_credit_minor >= 0),
  reason              text CHECK (length(reason) <= 500),
  ledger_entry_id     uuid NOT NULL,
  created_by          text CHECK (length(created_by) <= 100),
  created_at          timestamptz NOT NULL DEFAULT now(),
  CHECK (net_minor + tax_minor = amount_minor AND against_outstanding_minor + to_customer_credit_minor = amount_minor),
  FOREIGN KEY (tenant_id, invoice_id) REFERENCES invoices (tenant_id, id),
  UNIQUE (invoice_id, credit_note_key)
);
ALTER TABLE invoice_credit_notes ENABLE ROW LEVEL SECURITY;
ALTER TABLE invoice_credit_notes FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON invoice_credit_notes USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
GRANT SELECT, INSERT ON invoice_credit_notes TO finflow_app;

-- A customer's credit balance per currency (from credit notes on paid invoices), never below zero; every movement
-- is kept, once by its id.
CREATE TABLE customer_credit_balances (
  tenant_id     uuid NOT NULL REFERENCES tenants (id),
  customer_id   text NOT NULL CHECK (customer_id ~ '^[A-Za-z0-9_-]{1,64}$'),
  currency      char(3) NOT NULL REFERENCES currencies (code),
  balance_minor bigint NOT NULL DEFAULT 0 CHECK (balance_minor >= 0),
  PRIMARY KEY (tenant_id, customer_id, currency)
);
ALTER TABLE customer_credit_balances ENABLE ROW LEVEL SECURITY;
ALTER TABLE customer_credit_balances FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON customer_credit_balances USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
GRANT SELECT, INSERT, UPDATE (balance_minor) ON customer_credit_balances TO finflow_app;

CREATE TABLE customer_credit_movements (
  id           uuid PRIMARY KEY,
  tenant_id    uuid NOT NULL,
  customer_id  text NOT NULL,
  currency     char(3) NOT NULL,
  amount_minor bigint NOT NULL CHECK (amount_minor <> 0),
  kind         text NOT NULL CHECK (kind IN ('credit_note', 'applied')),
  invoice_id   uuid NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (tenant_id, customer_id, currency) REFERENCES customer_credit_balances (tenant_id, customer_id, currency),
  FOREIGN KEY (tenant_id, invoice_id) REFERENCES invoices (tenant_id, id)
);
ALTER TABLE customer_credit_movements ENABLE ROW LEVEL SECURITY;
ALTER TABLE customer_credit_movements FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON customer_credit_movements USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
GRANT SELECT, INSERT ON customer_credit_movements TO finflow_app;

-- Reminders before and after the due date, in days from it (negative: before). None set: the platform default.
CREATE TABLE invoice_dunning_policies (
  tenant_id    uuid PRIMARY KEY REFERENCES tenants (id),
  offsets_days integer[] NOT NULL CHECK (cardinality(offsets_days) <= 10 AND -60 <= ALL (offsets_days) AND 365 >= ALL (offsets_days)),
  updated_at   timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE invoice_dunning_policies ENABLE ROW LEVEL SECURITY;
ALTER TABLE invoice_dunning_policies FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON invoice_dunning_policies USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
GRANT SELECT, INSERT, UPDATE (offsets_days, updated_at) ON invoice_dunning_policies TO finflow_app;

-- Down Migration
DROP TABLE invoice_dunning_policies;
DROP TABLE customer_credit_movements;
DROP TABLE customer_credit_balances;
DROP TABLE invoice_credit_notes;
DROP TABLE invoice_payments;
DROP FUNCTION invoice_issue(uuid, date, date);
DROP TABLE invoice_series_counters;
DROP TABLE invoice_lines;
DROP TABLE invoices;
