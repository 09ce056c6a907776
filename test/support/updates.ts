import { ApplicationFailure, WorkflowUpdateFailedError, WorkflowUpdateStage, type WorkflowHandle } from '@temporalio/client';
import type { UpdateDefinition } from '@temporalio/common';

/** The ids of the updates a workflow has accepted: acceptance is written to its history, a validator's refusal is not. */
export async function acceptedUpdateIds(handle: WorkflowHandle): Promise<string[]> {
  return (await handle.fetchHistory()).events!.flatMap((e) => e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.meta?.updateId ?? []);
}

/**
 * Sends an update that must be refused and returns the refusal. One the workflow accepts fails the test as soon as it
 * is accepted, without waiting for its result (which may wait on something the test holds).
 */
export async function updateRefusal<Ret, Args extends [unknown, ...unknown[]]>(
  handle: WorkflowHandle,
  update: UpdateDefinition<Ret, Args>,
  args: Args,
): Promise<WorkflowUpdateFailedError> {
  const sent = await handle.startUpdate(update, { args, waitForStage: WorkflowUpdateStage.ACCEPTED });
  if ((await acceptedUpdateIds(handle)).includes(sent.updateId)) throw new Error(`the workflow accepted ${update.name}(${JSON.stringify(args)})`);
  return sent.result().then(
    () => { throw new Error(`expected ${update.name} to be refused`); },
    (e: unknown) => e as WorkflowUpdateFailedError,
  );
}

/** Refused by the update's validator, with its message. */
export function expectRefused(err: WorkflowUpdateFailedError, message: RegExp): void {
  expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
  expect(err.cause).toBeInstanceOf(ApplicationFailure);
  expect(err.cause!.message).toMatch(message);
}
