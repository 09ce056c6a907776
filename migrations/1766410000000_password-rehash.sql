-- Up Migration

-- A login with the right password replaces a hash stored with older scrypt parameters by one at today's
-- (platform/auth/passwords.ts): the API may rewrite the hash, of its tenant's users only (row-level security).
GRANT UPDATE (password_hash) ON users TO finflow_app;

-- Down Migration
REVOKE UPDATE (password_hash) ON users FROM finflow_app;
