// The `platform` task queue's workflows (bundled by the worker from this file).
export { SmokeWorkflow } from './smoke.workflow';
