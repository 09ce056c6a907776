-- Up Migration

-- State that stripe-mock (stateless) does not keep, for the local sandbox provider
-- (activities/payments/provider/sandbox.ts). It plays the provider's own database, so it has no tenant and lives
-- in a schema of its own; nothing of FinFlow's reads it. Unused when STRIPE_API_KEY points at real Stripe.
CREATE SCHEMA provider_sandbox;
GRANT USAGE ON SCHEMA provider_sandbox TO finflow_app;

CREATE TABLE provider_sandbox.intents (
  payment_id            text PRIMARY KEY,
  provider_ref          text NOT NULL UNIQUE,
  amount_minor          bigint NOT NULL CHECK (amount_minor > 0),
  currency              char(3) NOT NULL,
  status                text NOT NULL CHECK (status IN ('requires_capture', 'succeeded', 'canceled')),
  amount_captured_minor bigint NOT NULL DEFAULT 0,
  amount_refunded_minor bigint NOT NULL DEFAULT 0 CHECK (amount_refunded_minor <= amount_captured_minor),
  created_at            timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE provider_sandbox.refunds (
  refund_id    text PRIMARY KEY,
  payment_id   text NOT NULL REFERENCES provider_sandbox.intents (payment_id),
  refund_ref   text NOT NULL UNIQUE,
  amount_minor bigint NOT NULL CHECK (amount_minor > 0),
  created_at   timestamptz NOT NULL DEFAULT now()
);
GRANT SELECT, INSERT, UPDATE ON provider_sandbox.intents, provider_sandbox.refunds TO finflow_app;

-- Down Migration
DROP SCHEMA provider_sandbox CASCADE;
