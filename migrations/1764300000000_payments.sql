-- Up Migration

-- One row per payment; the idempotency key and a hash of the request live here for good (not only in Temporal's
-- retention), so the same key with the same body finds the same payment, and with another body is refused.
CREATE TABLE payments (
  id                    uuid PRIMARY KEY,
  tenant_id             uuid NOT NULL REFERENCES tenants (id),
  idempotency_key       text NOT NULL CHECK (idempotency_key ~ '^[A-Za-z0-9._:-]{1,255}$'),
  request_hash          bytea NOT NULL,
  customer_id           text NOT NULL CHECK (customer_id ~ '^[A-Za-z0-9_-]{1,64}$'),
  amount_minor          bigint NOT NULL CHECK (amount_minor > 0),
  currency              char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  capture_method        text NOT NULL CHECK (capture_method IN ('automatic', 'manual')),
  status                text NOT NULL DEFAULT 'pending'
                        CHECK (status IN ('pending', 'in_review', 'authorized', 'succeeded', 'failed', 'canceled', 'expired')),
  failure_code          text,
  provider              text,
  provider_ref          text,
  amount_captured_minor bigint NOT NULL DEFAULT 0 CHECK (amount_captured_minor >= 0 AND amount_captured_minor <= amount_minor),
  amount_refunded_minor bigint NOT NULL DEFAULT 0 CHECK (amount_refunded_minor >= 0 AND amount_refunded_minor <= amount_captured_minor),
  ledger_entry_id       uuid,
  invoice_ref           text CHECK (invoice_ref ~ '^[A-Za-z0-9._:-]{1,64}$'),
  metadata              jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at            timestamptz NOT NULL DEFAULT now(),
  updated_at            timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, idempotency_key),
  UNIQUE (tenant_id, id)
);
CREATE INDEX payments_list ON payments (tenant_id, created_at DESC, id DESC);
CREATE INDEX payments_customer ON payments (tenant_id, customer_id, created_at DESC);
ALTER TABLE payments ENABLE ROW LEVEL SECURITY;
ALTER TABLE payments FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON payments USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
GRANT SELECT, INSERT, UPDATE (status, failure_code, provider, provider_ref, amount_captured_minor, amount_refunded_minor, ledger_entry_id, updated_at)
  ON payments TO finflow_app;

-- Refunds reserve their amount when they are accepted: the CHECK on payments.amount_refunded_minor (never above
-- what was captured) holds under concurrent requests because each reservation updates the payment row.
CREATE TABLE payment_refunds (
  id              uuid PRIMARY KEY,
  tenant_id       uuid NOT NULL,
  payment_id      uuid NOT NULL,
  idempotency_key text NOT NULL CHECK (idempotency_key ~ '^[A-Za-z0-9._:-]{1,255}$'),
  amount_minor    bigint NOT NULL CHECK (amount_minor > 0),
  status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
  provider_ref    text,
  ledger_entry_id uuid,
  reason          text CHECK (length(reason) <= 200),
  created_at      timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (tenant_id, payment_id) REFERENCES payments (tenant_id, id),
  UNIQUE (tenant_id, idempotency_key)
);
ALTER TABLE payment_refunds ENABLE ROW LEVEL SECURITY;
ALTER TABLE payment_refunds FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON payment_refunds USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
GRANT SELECT, INSERT, UPDATE (status, provider_ref, ledger_entry_id) ON payment_refunds TO finflow_app;

-- Down Migration
DROP TABLE payment_refunds;
DROP TABLE payments;
