// The `accounting` task queue's workflows (bundled by the worker from this file): the period close here; the
// invoicing context's workflows run on this queue too and are exported beside it.
export { PeriodClose } from './period-close.workflow';
