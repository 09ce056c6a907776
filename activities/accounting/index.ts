export { createPeriodCloseActivities, type PeriodCloseActivities } from './period-close.activities';
