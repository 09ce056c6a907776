-- Up Migration

-- Closer to Stripe: an intent is identified by the idempotency key that created it (payment id is metadata),
-- so a retry that lost its key would create a second intent, and the crash test would see a second charge.
-- The call log now records only operations the provider performed, in the statement that performed them.
ALTER TABLE provider_sandbox.refunds DROP CONSTRAINT refunds_payment_id_fkey;
ALTER TABLE provider_sandbox.intents DROP CONSTRAINT intents_pkey;
ALTER TABLE provider_sandbox.intents ADD PRIMARY KEY (provider_ref);
ALTER TABLE provider_sandbox.intents ADD COLUMN idempotency_key text UNIQUE;
CREATE INDEX provider_sandbox_intents_payment ON provider_sandbox.intents (payment_id, created_at);
TRUNCATE provider_sandbox.calls;
ALTER TABLE provider_sandbox.calls DROP CONSTRAINT calls_method_check;
ALTER TABLE provider_sandbox.calls ADD CONSTRAINT calls_method_check CHECK (method IN ('charge', 'authorize', 'capture', 'cancel', 'refund'));

-- Down Migration
ALTER TABLE provider_sandbox.intents DROP COLUMN idempotency_key;
