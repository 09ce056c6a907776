export { createCreditActivities, creditLineId, type CreditActivities, type CreditActivityDeps } from './credit.activities';
export { CreditModelLoadError, CreditScorer, defaultModelPath, tableContributions, type ContributionTables, type Score } from './scorer';
