-- Up Migration

-- Payments that wait: for the customer to authenticate (`requires_action`, 3-D Secure) or for the provider to
-- settle (`processing`); and payments whose charge the cardholder disputed (`disputed`).
ALTER TABLE payments DROP CONSTRAINT payments_status_check;
ALTER TABLE payments ADD CONSTRAINT payments_status_check CHECK (status IN (
  'pending', 'in_review', 'requires_action', 'processing', 'authorized', 'succeeded', 'failed', 'canceled', 'expired',
  'needs_attention', 'disputed'));

-- What the caller must do while the payment requires action: the provider's next-action type, the client secret
-- Stripe.js needs and a redirect URL. Shown only by the API; cleared by the database as soon as the status moves on.
ALTER TABLE payments ADD COLUMN next_action jsonb;
CREATE FUNCTION payments_clear_next_action() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.status <> 'requires_action' THEN NEW.next_action := NULL; END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER payments_clear_next_action BEFORE INSERT OR UPDATE ON payments FOR EACH ROW EXECUTE FUNCTION payments_clear_next_action();

-- What disputes took back, never more than was captured.
ALTER TABLE payments ADD COLUMN amount_disputed_minor bigint NOT NULL DEFAULT 0
  CHECK (amount_disputed_minor >= 0 AND amount_disputed_minor <= amount_captured_minor);
GRANT UPDATE (next_action, amount_disputed_minor) ON payments TO finflow_app;

-- A provider's webhook names the intent, not the tenant: before it knows the tenant, the webhook route may see the
-- one payment row whose provider reference it names (set in `finflow.provider_ref` for its transaction), as
-- authentication sees the one API key row it names.
CREATE INDEX payments_provider_ref ON payments (provider_ref) WHERE provider_ref IS NOT NULL;
CREATE POLICY by_provider_ref ON payments FOR SELECT
  USING (provider_ref = nullif(current_setting('finflow.provider_ref', true), ''));

-- Every provider event the webhook route accepted, once (the event id is the provider's): a repeat delivery is
-- answered without acting again. No payload is kept. An event for no known payment has no tenant.
CREATE TABLE payment_provider_events (
  event_id     text PRIMARY KEY CHECK (event_id ~ '^[A-Za-z0-9_]{1,255}$'),
  provider     text NOT NULL CHECK (length(provider) <= 40),
  type         text NOT NULL CHECK (length(type) <= 100),
  provider_ref text CHECK (length(provider_ref) <= 255),
  tenant_id    uuid REFERENCES tenants (id),
  payment_id   uuid,
  -- delivered: signalled to the running saga; saga_ended: its saga had ended, nothing to do; disputed: booked as a
  -- dispute; refund_known: a refund FinFlow made; needs_review: ops must look (a refund made elsewhere, a dispute
  -- that cannot be booked); unmatched: no payment has this intent.
  outcome      text NOT NULL CHECK (outcome IN ('delivered', 'saga_ended', 'disputed', 'refund_known', 'needs_review', 'unmatched')),
  detail       text CHECK (length(detail) <= 500),
  received_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payment_provider_events_review ON payment_provider_events (tenant_id, received_at DESC) WHERE outcome = 'needs_review';
ALTER TABLE payment_provider_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE payment_provider_events FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON payment_provider_events
  USING (tenant_id IS NOT DISTINCT FROM current_tenant_id()) WITH CHECK (tenant_id IS NOT DISTINCT FROM current_tenant_id());
GRANT SELECT, INSERT ON payment_provider_events TO finflow_app;

-- Disputes (chargebacks) run against revenue, as refunds do: every tenant's chart gains the account.
CREATE OR REPLACE FUNCTION create_default_chart(p_tenant uuid) RETURNS void
  LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
  INSERT INTO ledger_accounts (tenant_id, code, name, type, subtype, is_cash, system_key) VALUES
    (p_tenant, '1000', 'Cash at bank', 'asset', 'current_asset', true, 'cash'),
    (p_tenant, '1100', 'Payment provider clearing', 'asset', 'current_asset', false, 'provider_clearing'),
    (p_tenant, '1200', 'Accounts receivable', 'asset', 'current_asset', false, 'accounts_receivable'),
    (p_tenant, '1210', 'Allowance for doubtful accounts', 'asset', 'contra_asset', false, 'allowance_doubtful'),
    (p_tenant, '2000', 'Customer deposits', 'liability', 'current_liability', false, 'customer_deposits'),
    (p_tenant, '2100', 'Sales tax payable', 'liability', 'current_liability', false, 'tax_payable'),
    (p_tenant, '2200', 'Customer credit balances', 'liability', 'current_liability', false, 'customer_credit'),
    (p_tenant, '3000', 'Owner equity', 'equity', 'equity', false, 'equity'),
    (p_tenant, '3900', 'Retained earnings', 'equity', 'equity', false, 'retained_earnings'),
    (p_tenant, '4000', 'Sales revenue', 'revenue', 'revenue', false, 'sales_revenue'),
    (p_tenant, '4900', 'Refunds and returns', 'revenue', 'contra_revenue', false, 'refunds'),
    (p_tenant, '4910', 'Chargebacks and disputes', 'revenue', 'contra_revenue', false, 'disputes'),
    (p_tenant, '5000', 'Payment processing fees', 'expense', 'cost_of_sales', false, 'processing_fees'),
    (p_tenant, '6100', 'Bad debt expense', 'expense', 'expense', false, 'bad_debt_expense'),
    (p_tenant, '7100', 'Foreign exchange gain or loss', 'expense', 'other_expense', false, 'fx_gain_loss'),
    (p_tenant, '7200', 'Rounding differences', 'expense', 'other_expense', false, 'rounding'),
    (p_tenant, '9990', 'Suspense', 'asset', 'current_asset', false, 'suspense')
  ON CONFLICT (tenant_id, code) DO NOTHING
$$;
ALTER TABLE tenants NO FORCE ROW LEVEL SECURITY;
DO $$
DECLARE t uuid;
BEGIN
  FOR t IN SELECT id FROM tenants LOOP
    PERFORM set_config('finflow.tenant_id', t::text, true);
    -- Only tenants that have a chart: one without (the platform tenant) stays without.
    IF EXISTS (SELECT 1 FROM ledger_accounts WHERE tenant_id = t) THEN PERFORM create_default_chart(t); END IF;
  END LOOP;
  PERFORM set_config('finflow.tenant_id', '', true);
END $$;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;

-- The local sandbox provider keeps intents as Stripe does: created unconfirmed with their payment method and
-- capture method, then confirmed; a declined confirmation leaves them requiring a payment method.
ALTER TABLE provider_sandbox.intents DROP CONSTRAINT intents_status_check;
ALTER TABLE provider_sandbox.intents ADD CONSTRAINT intents_status_check CHECK (status IN (
  'requires_payment_method', 'requires_confirmation', 'requires_action', 'processing', 'requires_capture', 'canceled', 'succeeded'));
ALTER TABLE provider_sandbox.intents ADD COLUMN payment_method text, ADD COLUMN capture_method text CHECK (capture_method IN ('automatic', 'manual'));

-- Down Migration
ALTER TABLE provider_sandbox.intents DROP COLUMN payment_method, DROP COLUMN capture_method;
ALTER TABLE provider_sandbox.intents DROP CONSTRAINT intents_status_check;
ALTER TABLE provider_sandbox.intents ADD CONSTRAINT intents_status_check CHECK (status IN ('requires_capture', 'succeeded', 'canceled'));
DROP TABLE payment_provider_events;
DROP POLICY by_provider_ref ON payments;
DROP INDEX payments_provider_ref;
ALTER TABLE payments DROP COLUMN amount_disputed_minor;
DROP TRIGGER payments_clear_next_action ON payments;
DROP FUNCTION payments_clear_next_action();
ALTER TABLE payments DROP COLUMN next_action;
ALTER TABLE payments DROP CONSTRAINT payments_status_check;
ALTER TABLE payments ADD CONSTRAINT payments_status_check
  CHECK (status IN ('pending', 'in_review', 'authorized', 'succeeded', 'failed', 'canceled', 'expired', 'needs_attention'));
