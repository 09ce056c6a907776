-- Up Migration

-- A refund request's Idempotency-Key, claimed by the API before the RefundWorkflow starts, with a hash of the
-- request (payment id and body) and the amount it resolved to ("the rest" is fixed when first asked). The same key
-- with the same request finds the same refund; with another request (another amount, another payment) it is
-- refused. The workflow's reservation (payment_refunds) stays the guard on amounts.
CREATE TABLE payment_refund_requests (
  id              uuid PRIMARY KEY,
  tenant_id       uuid NOT NULL REFERENCES tenants (id),
  idempotency_key text NOT NULL CHECK (idempotency_key ~ '^[A-Za-z0-9._:-]{1,255}$'),
  request_hash    bytea NOT NULL,
  payment_id      uuid NOT NULL,
  amount_minor    bigint NOT NULL CHECK (amount_minor > 0),
  created_at      timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (tenant_id, payment_id) REFERENCES payments (tenant_id, id),
  UNIQUE (tenant_id, idempotency_key)
);
ALTER TABLE payment_refund_requests ENABLE ROW LEVEL SECURITY;
ALTER TABLE payment_refund_requests FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON payment_refund_requests USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
GRANT SELECT, INSERT ON payment_refund_requests TO finflow_app;

-- Down Migration
DROP TABLE payment_refund_requests;
