// The `accounting` task queue's workflows (bundled by the worker from this file).
export { PeriodClose } from './period-close.workflow';
