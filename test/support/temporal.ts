import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { temporalTestServerPath } from '../../platform/config/local-stack';
import type { Config } from '../../platform/config';
import { createDataConverter } from '../../platform/temporal/client';

/**
 * Temporal's time-skipping test server (the Java one the local stack installs), started by @temporalio/testing.
 * It cannot download its own build here, so it runs the stack's wrapper as an existing executable.
 */
export function timeSkippingEnv(cfg: Config): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: temporalTestServerPath() } },
    client: { dataConverter: createDataConverter(cfg) },
  });
}

/** Bundles a task queue's workflows once per test file (webpack takes a few seconds). */
export function bundle(workflowsPath: string): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({ workflowsPath, logger: { info() {}, warn() {}, error() {}, debug() {}, trace() {}, log() {} } });
}
