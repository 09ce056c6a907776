/**
 * Loaded by path into every worker's workflow sandbox and into clients (Temporal requires a module path for it):
 * failure messages and stack traces move into encoded attributes, which the payload codec encrypts.
 * Workflow-safe: only @temporalio/common.
 */
import { DefaultFailureConverter } from '@temporalio/common';

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
