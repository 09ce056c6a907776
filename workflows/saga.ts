/** Saga helpers shared by workflows. Workflow-safe. */
import { ActivityFailure, ApplicationFailure, CancellationScope, log } from '@temporalio/workflow';

export interface Compensation {
  name: string;
  run(): Promise<unknown>;
}

/**
 * Runs compensations in reverse order of registration, shielded from cancellation (a workflow cancelled from the
 * Web UI or CLI must still undo what it did). A failed one (its retries spent) is logged and the others still run;
 * the names of those that failed are returned, for the caller to hand to ops.
 */
export async function runCompensations(compensations: readonly Compensation[]): Promise<string[]> {
  const failed: string[] = [];
  await CancellationScope.nonCancellable(async () => {
    for (const c of [...compensations].reverse()) {
      try {
        await c.run();
      } catch (err) {
        log.error('compensation failed', { compensation: c.name, error: (err as Error).message });
        failed.push(c.name);
      }
    }
  });
  return failed;
}

/** True when an activity failed with an ApplicationFailure of this type (STYLE: types by string constant). */
export function isFailureOfType(err: ActivityFailure, type: string): boolean {
  return err.cause instanceof ApplicationFailure && err.cause.type === type;
}
