/**
 * Roles and what they may do. Every route declares one permission (api/routing.ts); this table is the single
 * place that decides who holds it. Pure and workflow-safe.
 */
export const ROLES = ['admin', 'finance', 'ops', 'underwriter', 'client'] as const;
export type Role = (typeof ROLES)[number];

export const PERMISSIONS = [
  'profile:read', // who am I, my tenant
  'users:read',
  'users:invite',
  'users:manage', // change a person's role or status
  'api-keys:read',
  'api-keys:manage',
  'platform:codec', // decode the tenant's own Temporal payloads (Web UI / CLI codec endpoint)
  'payments:create',
  'payments:read', // payments the caller (or the person who made its API key) created
  'payments:read-all', // every payment of the tenant (finance, review queues)
  'payments:refund',
  'payments:review', // AML review decisions
  'credit:apply',
  'credit:read', // applications the caller submitted
  'credit:read-all', // every application of the tenant (review queues, reporting)
  'credit:decide', // underwriter decisions
  'credit:manage', // the KYC deny list
  'accounting:read', // the chart, drafts, rates and every report
  'accounting:admin', // reopen a closed period, change the books' time zone and reporting currency
  'accounting:post', // tenant accounts, manual entry drafts and their decisions (never one's own), exchange rates
  'accounting:close',
  'invoices:read', // invoices, their documents and the receivables ageing
  'invoices:write', // drafts, issue, payments received, credit notes, void, write-off, the dunning policy
] as const;
export type Permission = (typeof PERMISSIONS)[number];

const ALL: readonly Permission[] = PERMISSIONS;

export const ROLE_PERMISSIONS: Record<Role, readonly Permission[]> = {
  admin: ALL,
  finance: ['profile:read', 'invoices:read', 'invoices:write', 'payments:create', 'payments:read', 'payments:read-all', 'payments:refund', 'accounting:read', 'accounting:post', 'accounting:close', 'credit:read', 'credit:read-all'],
  ops: ['profile:read', 'invoices:read', 'platform:codec', 'payments:read', 'payments:read-all', 'payments:review', 'credit:read', 'credit:read-all'],
  underwriter: ['profile:read', 'credit:read', 'credit:read-all', 'credit:decide'],
  client: ['profile:read', 'payments:create', 'payments:read', 'payments:refund', 'credit:apply', 'credit:read'],
};

export function can(role: Role, permission: Permission): boolean {
  return ROLE_PERMISSIONS[role].includes(permission);
}

/** Roles an API key may carry: keys call the API for servers; administering the tenant stays with people. */
export const API_KEY_ROLES = ['finance', 'ops', 'underwriter', 'client'] as const satisfies readonly Role[];
