-- Up Migration

-- The application role deletes nothing but KYC deny-list entries: a draft's lines are replaced through this function,
-- which removes them only while their invoice is a draft (an issued invoice's lines are fixed for good). SECURITY
-- DEFINER for the DELETE; row-level security still scopes it to the caller's tenant.
REVOKE DELETE ON invoice_lines FROM finflow_app;
CREATE FUNCTION invoice_clear_draft_lines(p_invoice uuid) RETURNS void
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM invoices WHERE id = p_invoice AND status = 'draft') THEN
    RAISE EXCEPTION 'invoice % is not a draft: its lines are fixed', p_invoice USING HINT = 'not-a-draft';
  END IF;
  DELETE FROM invoice_lines WHERE invoice_id = p_invoice;
END $$;
REVOKE ALL ON FUNCTION invoice_clear_draft_lines(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION invoice_clear_draft_lines(uuid) TO finflow_app;

-- Down Migration
DROP FUNCTION invoice_clear_draft_lines(uuid);
GRANT DELETE ON invoice_lines TO finflow_app;
