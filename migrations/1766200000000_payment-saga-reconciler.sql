-- Up Migration

-- The API commits a payment, then starts its saga: a crash in between leaves a pending payment with no saga. The
-- saga reconciler (a Temporal Schedule on the payments task queue, workflows/payments/saga-reconciler.workflow.ts)
-- starts the saga of such a payment, with the payment's deterministic workflow id.
--
-- It needs what the saga needs: the payment method (a provider token, pm_..., never card data) is kept with the
-- payment from now on. Payments created before have none, and were started long ago.
ALTER TABLE payments ADD COLUMN payment_method text CHECK (payment_method ~ '^pm_[A-Za-z0-9_]{1,100}$');

-- It reads across tenants, which the application role cannot: only through this function, which runs as the owner
-- and sees pending payments only (the policy below), and answers what a saga start needs, nothing else. The owner
-- is still refused every other row (FORCE ROW LEVEL SECURITY).
CREATE POLICY saga_reconciler ON payments FOR SELECT TO CURRENT_USER USING (status = 'pending');
CREATE INDEX payments_pending ON payments (created_at) WHERE status = 'pending';

-- Pending payments older than p_grace_seconds (the API has had its chance to start their saga) and younger than
-- p_window_hours (so Temporal, whose retention is longer, still remembers any saga that ran for them), oldest first.
CREATE FUNCTION payments_awaiting_saga(p_grace_seconds integer, p_window_hours integer, p_limit integer)
  RETURNS TABLE (tenant_id uuid, id uuid, customer_id text, amount_minor bigint, currency text, capture_method text, invoice_ref text, payment_method text)
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  IF p_grace_seconds IS NULL OR p_grace_seconds < 1 OR p_window_hours IS NULL OR p_window_hours NOT BETWEEN 1 AND 144 OR p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 1000 THEN
    RAISE EXCEPTION 'grace 1 s or more, window 1..144 h, limit 1..1000' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  RETURN QUERY
    SELECT p.tenant_id, p.id, p.customer_id, p.amount_minor, p.currency::text, p.capture_method, p.invoice_ref, p.payment_method
      FROM payments p
     WHERE p.status = 'pending' AND p.payment_method IS NOT NULL
       AND p.created_at < now() - make_interval(secs => p_grace_seconds)
       AND p.created_at > now() - make_interval(hours => p_window_hours)
     ORDER BY p.created_at
     LIMIT p_limit;
END $$;
REVOKE ALL ON FUNCTION payments_awaiting_saga(integer, integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION payments_awaiting_saga(integer, integer, integer) TO finflow_app;

-- Down Migration
DROP FUNCTION payments_awaiting_saga(integer, integer, integer);
DROP INDEX payments_pending;
DROP POLICY saga_reconciler ON payments;
ALTER TABLE payments DROP COLUMN payment_method;
