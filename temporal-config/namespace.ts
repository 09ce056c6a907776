/** The namespace FinFlow runs in, and how long closed workflow histories are kept. */
export const NAMESPACE_DEFAULTS = {
  name: 'finflow',
  /** Ops can still inspect a finished payment for a week; the business record lives in Postgres, not here. */
  retentionDays: 7,
} as const;

/** Dynamic config the local dev server starts with (a cluster sets these in its own dynamic config file). */
export const DEV_SERVER_DYNAMIC_CONFIG: Record<string, string> = {
  // Update-with-start: the API starts a workflow and waits on its first decision in one call.
  'frontend.enableExecuteMultiOperation': 'true',
  'frontend.enableUpdateWorkflowExecution': 'true',
  'system.enableEagerWorkflowStart': 'true',
};
