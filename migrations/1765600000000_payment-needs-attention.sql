-- Up Migration

-- A payment whose compensation did not complete (its retries ran out: a refund or release the provider never took,
-- a reversal the ledger never wrote) waits for ops as `needs_attention`, with the compensations left undone.
ALTER TABLE payments DROP CONSTRAINT payments_status_check;
ALTER TABLE payments ADD CONSTRAINT payments_status_check
  CHECK (status IN ('pending', 'in_review', 'authorized', 'succeeded', 'failed', 'canceled', 'expired', 'needs_attention'));
ALTER TABLE payments ADD COLUMN unresolved_compensations text[];
GRANT UPDATE (unresolved_compensations) ON payments TO finflow_app;
-- Ops list them by tenant, newest first.
CREATE INDEX payments_needing_attention ON payments (tenant_id, created_at DESC, id DESC) WHERE status = 'needs_attention';

-- Down Migration
DROP INDEX payments_needing_attention;
ALTER TABLE payments DROP COLUMN unresolved_compensations;
ALTER TABLE payments DROP CONSTRAINT payments_status_check;
ALTER TABLE payments ADD CONSTRAINT payments_status_check
  CHECK (status IN ('pending', 'in_review', 'authorized', 'succeeded', 'failed', 'canceled', 'expired'));
