-- Up Migration

-- The compliance consumer's records: every failed payment, kept for review, and customers flagged when their
-- failures within a window pass a threshold.
CREATE TABLE compliance_payment_failures (
  event_id     uuid PRIMARY KEY,
  tenant_id    uuid NOT NULL REFERENCES tenants (id),
  payment_id   uuid NOT NULL,
  customer_id  text NOT NULL,
  failure_code text NOT NULL,
  occurred_at  timestamptz NOT NULL,
  recorded_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX compliance_failures_customer ON compliance_payment_failures (tenant_id, customer_id, occurred_at);
ALTER TABLE compliance_payment_failures ENABLE ROW LEVEL SECURITY;
ALTER TABLE compliance_payment_failures FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON compliance_payment_failures USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
GRANT SELECT, INSERT ON compliance_payment_failures TO finflow_app;

CREATE TABLE compliance_flags (
  tenant_id   uuid NOT NULL REFERENCES tenants (id),
  customer_id text NOT NULL,
  reason      text NOT NULL,
  failures    integer NOT NULL,
  flagged_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, customer_id)
);
ALTER TABLE compliance_flags ENABLE ROW LEVEL SECURITY;
ALTER TABLE compliance_flags FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON compliance_flags USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
GRANT SELECT, INSERT, UPDATE (failures, flagged_at) ON compliance_flags TO finflow_app;

-- Down Migration
DROP TABLE compliance_flags;
DROP TABLE compliance_payment_failures;
