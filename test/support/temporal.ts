import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { temporalTestServerPath } from '../../platform/config/local-stack';
import type { Config } from '../../platform/config';
import { createDataConverter } from '../../platform/temporal/client';
import { ALL_SEARCH_ATTRIBUTES } from '../../temporal-config/search-attributes';
import { INDEXED_VALUE_TYPES } from '../../temporal-config/setup';

/**
 * Temporal's time-skipping test server (the Java one the local stack installs), started by @temporalio/testing.
 * It cannot download its own build here, so it runs the stack's wrapper as an existing executable.
 */
export async function timeSkippingEnv(cfg: Config): Promise<TestWorkflowEnvironment> {
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: temporalTestServerPath() } },
    client: { dataConverter: createDataConverter(cfg) },
  });
  // Workflows upsert FinFlow's search attributes: the test server must know them, as the real namespace does.
  // (It implements AddSearchAttributes but not ListSearchAttributes, so this cannot reuse ensureNamespace.)
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: Object.fromEntries(ALL_SEARCH_ATTRIBUTES.map((key) => [key.name, INDEXED_VALUE_TYPES[key.type]!])),
  });
  return env;
}

/** Bundles a task queue's workflows once per test file (webpack takes a few seconds). */
export function bundle(workflowsPath: string): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({ workflowsPath, logger: { info() {}, warn() {}, error() {}, debug() {}, trace() {}, log() {} } });
}
