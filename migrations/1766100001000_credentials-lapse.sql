-- Up Migration

-- Credentials lapse. An API key can carry an expiry (refused from then on; none: it lasts until revoked). Platform
-- operators suspend, close and reopen organisations through the API (PATCH /api/platform/tenants/:id), so the
-- application may change a tenant's status, still only inside that tenant's own row (the tenant_isolation policy).
ALTER TABLE api_keys ADD COLUMN expires_at timestamptz;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_expiry_after_creation CHECK (expires_at IS NULL OR expires_at > created_at);
GRANT UPDATE (status) ON tenants TO finflow_app;

-- Down Migration
REVOKE UPDATE (status) ON tenants FROM finflow_app;
ALTER TABLE api_keys DROP CONSTRAINT api_keys_expiry_after_creation;
ALTER TABLE api_keys DROP COLUMN expires_at;
