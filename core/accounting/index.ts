/** The accounting context's pure rules: statements from balances, exact FX conversion, rate files. Workflow-safe. */
export * from './amounts';
export * from './chart';
export * from './consolidate';
export * from './errors';
export * from './fx';
export * from './statements';
export * from './period-close';
