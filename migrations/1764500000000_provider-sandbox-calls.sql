-- Up Migration

-- Every money-moving call that reached the sandbox provider, kept across process deaths, so crash tests can
-- count charges per payment (a real provider's dashboard plays this part).
CREATE TABLE provider_sandbox.calls (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  payment_id text NOT NULL,
  method     text NOT NULL CHECK (method IN ('authorize', 'capture', 'cancel', 'refund')),
  at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX provider_sandbox_calls_payment ON provider_sandbox.calls (payment_id);
GRANT SELECT, INSERT ON provider_sandbox.calls TO finflow_app;

-- Down Migration
DROP TABLE provider_sandbox.calls;
