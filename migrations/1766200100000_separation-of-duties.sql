-- Up Migration

-- Who created a payment ('user:<id>' or 'api_key:<id>', as credit_applications.submitted_by): a client reads only
-- the payments it (or the person who made its key) created, and nobody reviews a payment they created. Payments
-- from before have none: only callers who may read every payment see them.
ALTER TABLE payments ADD COLUMN created_by text CHECK (created_by ~ '^(user|api_key):[0-9a-f-]{36}$');

-- An Idempotency-Key belongs to the caller who sent it: another caller using the same key gets a resource of its
-- own, and learns nothing of the first (not even that the key was used). Keys stored before any owner was recorded
-- stay unique in their tenant (the API still finds them, whoever repeats them).
ALTER TABLE payments DROP CONSTRAINT payments_tenant_id_idempotency_key_key;
CREATE UNIQUE INDEX payments_idempotency_key ON payments (tenant_id, created_by, idempotency_key);
CREATE UNIQUE INDEX payments_idempotency_key_unowned ON payments (tenant_id, idempotency_key) WHERE created_by IS NULL;
CREATE INDEX payments_created_by ON payments (tenant_id, created_by, created_at DESC, id DESC);

ALTER TABLE credit_applications DROP CONSTRAINT credit_applications_tenant_id_idempotency_key_key;
ALTER TABLE credit_applications ADD CONSTRAINT credit_applications_idempotency_key UNIQUE (tenant_id, submitted_by, idempotency_key);

-- Down Migration
ALTER TABLE credit_applications DROP CONSTRAINT credit_applications_idempotency_key;
ALTER TABLE credit_applications ADD CONSTRAINT credit_applications_tenant_id_idempotency_key_key UNIQUE (tenant_id, idempotency_key);
DROP INDEX payments_created_by;
DROP INDEX payments_idempotency_key_unowned;
DROP INDEX payments_idempotency_key;
ALTER TABLE payments ADD CONSTRAINT payments_tenant_id_idempotency_key_key UNIQUE (tenant_id, idempotency_key);
ALTER TABLE payments DROP COLUMN created_by;
