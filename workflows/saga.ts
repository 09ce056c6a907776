/** Saga helpers shared by workflows. Workflow-safe. */
import { ActivityFailure, ApplicationFailure, log } from '@temporalio/workflow';

export interface Compensation {
  name: string;
  run(): Promise<unknown>;
}

/** Runs compensations in reverse order of registration; a failed one is logged and the others still run. */
export async function runCompensations(compensations: readonly Compensation[]): Promise<void> {
  for (const c of [...compensations].reverse()) {
    try {
      await c.run();
    } catch (err) {
      log.error('compensation failed', { compensation: c.name, error: (err as Error).message });
    }
  }
}

/** True when an activity failed with an ApplicationFailure of this type (STYLE: types by string constant). */
export function isFailureOfType(err: ActivityFailure, type: string): boolean {
  return err.cause instanceof ApplicationFailure && err.cause.type === type;
}
