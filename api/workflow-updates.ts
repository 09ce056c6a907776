import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { DomainError } from './errors';

/**
 * Delivers a workflow update for an API request. A refusal by the update's validator (or handler) is a 409 with
 * its reason; a workflow that has finished, or never ran here, takes no more updates: also 409.
 */
export async function deliverUpdate(subject: string, run: () => Promise<unknown>): Promise<void> {
  try {
    await run();
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) throw new DomainError('conflict', err.cause?.message ?? `The ${subject} cannot do that now`);
    const grpcCode = (err as { code?: number }).code;
    // NOT_FOUND / FAILED_PRECONDITION from the server.
    if (err instanceof WorkflowNotFoundError || grpcCode === 5 || grpcCode === 9) throw new DomainError('conflict', `The ${subject} no longer accepts changes`);
    throw err;
  }
}

/**
 * Reads a resource until it has settled (decided, or resting until someone acts) or `waitMs` has passed: lets a
 * create request answer with the outcome when the workflow decides quickly, and 202 otherwise.
 */
export async function readUntilSettled<T>(read: () => Promise<T>, settled: (t: T) => boolean, waitMs: number): Promise<{ value: T; settled: boolean }> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const value = await read();
    if (settled(value) || Date.now() >= deadline) return { value, settled: settled(value) };
    await new Promise((r) => setTimeout(r, 100));
  }
}
