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
  const env = await startTimeSkipping(cfg);
  // Workflows upsert FinFlow's search attributes: the test server must know them, as the real namespace does.
  // (It implements AddSearchAttributes but not ListSearchAttributes, so this cannot reuse ensureNamespace.)
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: Object.fromEntries(ALL_SEARCH_ATTRIBUTES.map((key) => [key.name, INDEXED_VALUE_TYPES[key.type]!])),
  });
  return env;
}

/**
 * The SDK waits 5 s for the server to answer; on a loaded 2-core machine a JVM can take longer to start. A start
 * that timed out is tried again (on a new port), up to three times, before the test file fails.
 */
async function startTimeSkipping(cfg: Config): Promise<TestWorkflowEnvironment> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await TestWorkflowEnvironment.createTimeSkipping({
        server: { executable: { type: 'existing-path', path: temporalTestServerPath() } },
        client: { dataConverter: createDataConverter(cfg) },
      });
    } catch (err) {
      if (attempt >= 3 || !/did not start within/.test((err as Error).message)) throw err;
    }
  }
}

/** Bundles a task queue's workflows once per test file (webpack takes a few seconds). */
export function bundle(workflowsPath: string): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({ workflowsPath, logger: { info() {}, warn() {}, error() {}, debug() {}, trace() {}, log() {} } });
}
