-- Up Migration

-- The request that created a draft, hashed: the same Idempotency-Key with another body is refused (422), as for
-- payments (api/idempotency.ts).
ALTER TABLE invoices ADD COLUMN request_hash bytea;
GRANT INSERT (request_hash) ON invoices TO finflow_app;

-- Down Migration
ALTER TABLE invoices DROP COLUMN request_hash;
