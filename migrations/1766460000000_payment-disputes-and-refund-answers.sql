-- Up Migration

-- Each dispute once, by the provider's dispute id: what the provider claims, what FinFlow booked (never more than is
-- still with it: captured, less refunded, less disputed before), the entry, and how it closed. A second event about
-- the same dispute (another created, a second closed, a closed before its created) finds it here and moves nothing.
CREATE TABLE payment_disputes (
  tenant_id         uuid NOT NULL REFERENCES tenants (id),
  dispute_id        text NOT NULL CHECK (dispute_id ~ '^[A-Za-z0-9_]{1,255}$'),
  payment_id        uuid NOT NULL,
  amount_minor      bigint NOT NULL CHECK (amount_minor > 0),
  booked_minor      bigint NOT NULL CHECK (booked_minor >= 0 AND booked_minor <= amount_minor),
  ledger_entry_id   uuid,
  -- open: money booked as disputed; won / warning_closed: returned (the entry reversed); lost: kept by the cardholder.
  status            text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'won', 'lost', 'warning_closed')),
  reversal_entry_id uuid,
  opened_at         timestamptz NOT NULL,
  closed_at         timestamptz,
  PRIMARY KEY (tenant_id, dispute_id),
  FOREIGN KEY (tenant_id, payment_id) REFERENCES payments (tenant_id, id),
  CHECK ((ledger_entry_id IS NOT NULL) = (booked_minor > 0)),
  CHECK ((status = 'open') = (closed_at IS NULL))
);
CREATE INDEX payment_disputes_payment ON payment_disputes (tenant_id, payment_id);
ALTER TABLE payment_disputes ENABLE ROW LEVEL SECURITY;
ALTER TABLE payment_disputes FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON payment_disputes USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
GRANT SELECT, INSERT, UPDATE (status, reversal_entry_id, closed_at) ON payment_disputes TO finflow_app;

-- How the payment's last dispute stands (null: never disputed). A won or inquiry-closed dispute puts the payment back
-- to `succeeded`; a lost one leaves it `disputed`.
ALTER TABLE payments ADD COLUMN dispute_status text CHECK (dispute_status IN ('open', 'won', 'lost', 'warning_closed'));
GRANT UPDATE (dispute_status) ON payments TO finflow_app;
-- Refunded and disputed money together never exceed the capture (checked on every write from now on; rows written
-- before, when a dispute could be booked over a refund, are left for ops).
ALTER TABLE payments ADD CONSTRAINT payments_refunded_and_disputed_within_capture
  CHECK (amount_refunded_minor + amount_disputed_minor <= amount_captured_minor) NOT VALID;

ALTER TABLE payment_provider_events DROP CONSTRAINT payment_provider_events_outcome_check;
ALTER TABLE payment_provider_events ADD CONSTRAINT payment_provider_events_outcome_check
  CHECK (outcome IN ('delivered', 'saga_ended', 'disputed', 'dispute_closed', 'refund_known', 'needs_review', 'unmatched'));

-- A refund request's Idempotency-Key belongs to the caller who sent it (as payments.created_by): another caller's
-- same key is another request, and learns nothing of the first. Keys stored before stay unique in their tenant.
ALTER TABLE payment_refund_requests ADD COLUMN requested_by text CHECK (requested_by ~ '^(user|api_key):[0-9a-f-]{36}$');
ALTER TABLE payment_refund_requests DROP CONSTRAINT payment_refund_requests_tenant_id_idempotency_key_key;
CREATE UNIQUE INDEX payment_refund_requests_idempotency_key ON payment_refund_requests (tenant_id, requested_by, idempotency_key);
CREATE UNIQUE INDEX payment_refund_requests_idempotency_key_unowned ON payment_refund_requests (tenant_id, idempotency_key) WHERE requested_by IS NULL;
-- The refund's id (one per request) identifies a reservation; its key alone no longer does.
ALTER TABLE payment_refunds DROP CONSTRAINT payment_refunds_tenant_id_idempotency_key_key;

-- A refused refund request keeps its refusal, so its key is answered the same for as long as the payment exists:
-- exceeds_refundable (more than is left, also "the rest" when nothing is), payment_disputed.
ALTER TABLE payment_refund_requests ADD COLUMN refusal text CHECK (refusal IN ('exceeds_refundable', 'payment_disputed'));
ALTER TABLE payment_refund_requests ALTER COLUMN amount_minor DROP NOT NULL;
ALTER TABLE payment_refund_requests ADD CONSTRAINT payment_refund_requests_amount_or_refusal CHECK (amount_minor IS NOT NULL OR refusal IS NOT NULL);
GRANT UPDATE (refusal) ON payment_refund_requests TO finflow_app;

-- Down Migration
ALTER TABLE payment_refund_requests DROP CONSTRAINT payment_refund_requests_amount_or_refusal;
DELETE FROM payment_refund_requests WHERE amount_minor IS NULL;
ALTER TABLE payment_refund_requests ALTER COLUMN amount_minor SET NOT NULL;
ALTER TABLE payment_refund_requests DROP COLUMN refusal;
ALTER TABLE payment_refunds ADD CONSTRAINT payment_refunds_tenant_id_idempotency_key_key UNIQUE (tenant_id, idempotency_key);
DROP INDEX payment_refund_requests_idempotency_key_unowned;
DROP INDEX payment_refund_requests_idempotency_key;
ALTER TABLE payment_refund_requests ADD CONSTRAINT payment_refund_requests_tenant_id_idempotency_key_key UNIQUE (tenant_id, idempotency_key);
ALTER TABLE payment_refund_requests DROP COLUMN requested_by;
ALTER TABLE payment_provider_events DROP CONSTRAINT payment_provider_events_outcome_check;
ALTER TABLE payment_provider_events ADD CONSTRAINT payment_provider_events_outcome_check
  CHECK (outcome IN ('delivered', 'saga_ended', 'disputed', 'refund_known', 'needs_review', 'unmatched'));
ALTER TABLE payments DROP CONSTRAINT payments_refunded_and_disputed_within_capture;
ALTER TABLE payments DROP COLUMN dispute_status;
DROP TABLE payment_disputes;
