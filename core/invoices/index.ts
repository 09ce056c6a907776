/** Invoicing's pure rules: totals and tax, dates and dunning, credit notes, ageing. Workflow-safe. */
export * from './totals';
export * from './dates';
export * from './credit-note';
export * from './ageing';
