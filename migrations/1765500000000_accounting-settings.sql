-- Up Migration

-- A tenant's accounting settings, changed by its admin over the API: the time zone its accounting days follow
-- (entries already posted keep their accounting date) and the reporting currency of consolidated statements.
GRANT UPDATE (time_zone, reporting_currency) ON tenants TO finflow_app;

-- Down Migration
REVOKE UPDATE (time_zone, reporting_currency) ON tenants FROM finflow_app;
