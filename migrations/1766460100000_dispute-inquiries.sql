-- Up Migration

-- An inquiry (Stripe's `warning_*` statuses: the issuer asks before it charges back) takes no money: it is kept as a
-- dispute `inquiry`, nothing booked. If it becomes a chargeback the same row is booked (its amount, what was booked
-- and the entry set then, once), hence the column grants; a dispute once booked is never an inquiry again.
ALTER TABLE payment_disputes DROP CONSTRAINT payment_disputes_status_check;
ALTER TABLE payment_disputes ADD CONSTRAINT payment_disputes_status_check CHECK (status IN ('inquiry', 'open', 'won', 'lost', 'warning_closed'));
ALTER TABLE payment_disputes DROP CONSTRAINT payment_disputes_check2;
ALTER TABLE payment_disputes ADD CONSTRAINT payment_disputes_closed_at_check CHECK ((status IN ('inquiry', 'open')) = (closed_at IS NULL));
ALTER TABLE payment_disputes ADD CONSTRAINT payment_disputes_inquiry_books_nothing CHECK (status <> 'inquiry' OR (booked_minor = 0 AND ledger_entry_id IS NULL));
GRANT UPDATE (amount_minor, booked_minor, ledger_entry_id) ON payment_disputes TO finflow_app;

ALTER TABLE payments DROP CONSTRAINT payments_dispute_status_check;
ALTER TABLE payments ADD CONSTRAINT payments_dispute_status_check CHECK (dispute_status IN ('inquiry', 'open', 'won', 'lost', 'warning_closed'));

ALTER TABLE payment_provider_events DROP CONSTRAINT payment_provider_events_outcome_check;
ALTER TABLE payment_provider_events ADD CONSTRAINT payment_provider_events_outcome_check
  CHECK (outcome IN ('delivered', 'saga_ended', 'inquiry', 'disputed', 'dispute_closed', 'refund_known', 'needs_review', 'unmatched'));

-- Down Migration
ALTER TABLE payment_provider_events DROP CONSTRAINT payment_provider_events_outcome_check;
UPDATE payment_provider_events SET outcome = 'needs_review' WHERE outcome = 'inquiry';
ALTER TABLE payment_provider_events ADD CONSTRAINT payment_provider_events_outcome_check
  CHECK (outcome IN ('delivered', 'saga_ended', 'disputed', 'dispute_closed', 'refund_known', 'needs_review', 'unmatched'));
ALTER TABLE payments DROP CONSTRAINT payments_dispute_status_check;
UPDATE payments SET dispute_status = NULL WHERE dispute_status = 'inquiry';
ALTER TABLE payments ADD CONSTRAINT payments_dispute_status_check CHECK (dispute_status IN ('open', 'won', 'lost', 'warning_closed'));
REVOKE UPDATE (amount_minor, booked_minor, ledger_entry_id) ON payment_disputes FROM finflow_app;
ALTER TABLE payment_disputes DROP CONSTRAINT payment_disputes_inquiry_books_nothing;
ALTER TABLE payment_disputes DROP CONSTRAINT payment_disputes_closed_at_check;
ALTER TABLE payment_disputes DROP CONSTRAINT payment_disputes_status_check;
UPDATE payment_disputes SET status = 'warning_closed', closed_at = now() WHERE status = 'inquiry';
ALTER TABLE payment_disputes ADD CONSTRAINT payment_disputes_status_check CHECK (status IN ('open', 'won', 'lost', 'warning_closed'));
ALTER TABLE payment_disputes ADD CONSTRAINT payment_disputes_check2 CHECK ((status = 'open') = (closed_at IS NULL));
