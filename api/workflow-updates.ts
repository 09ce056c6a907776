import { randomUUID } from 'node:crypto';
import {
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  WorkflowUpdateStage,
  type Client,
  type WorkflowHandle,
  type WorkflowUpdateHandle,
} from '@temporalio/client';
import { DomainError } from './errors';

/** gRPC codes that say "not now" rather than "no": CANCELLED, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED, UNAVAILABLE. */
const NOT_NOW = new Set([1, 4, 8, 10, 14]);
const NOT_FOUND = 5;
const FAILED_PRECONDITION = 9;
/** What a client is told to wait before repeating a request no worker took. */
const RETRY_AFTER_SECONDS = 5;

const grpcCode = (err: unknown): number | undefined => {
  const e = err as { code?: unknown; cause?: { code?: unknown } };
  if (typeof e?.code === 'number') return e.code;
  return typeof e?.cause?.code === 'number' ? e.cause.code : undefined;
};

/** Applied (with the update's result), or accepted by a worker and still under way. */
export type UpdateDelivery<T> = { applied: true; result: T } | { applied: false };
/** Starts the update on the handle with the options given (its id, and to wait until a worker accepts it). */
export type UpdateStart<T> = (handle: WorkflowHandle, options: { updateId: string; waitForStage: typeof WorkflowUpdateStage.ACCEPTED }) => Promise<WorkflowUpdateHandle<T>>;

/**
 * Delivers a workflow update for an API request, and says how far it got within `waitMs`:
 * - applied: the workflow applied it (with the update's result);
 * - not applied: a worker accepted it (it is in the workflow's history and will complete), but it has not finished
 *   yet (its activity is slow or being retried after a worker died): the caller answers 202;
 * - a validator's or handler's refusal, or a workflow that has finished or never ran here: 409;
 * - no worker took it in time (the payments worker is down or being redeployed): 503 with Retry-After. The server
 *   may still hand it to a worker that returns; a repeat is safe, because every update validator refuses what no
 *   longer applies (a second capture is a 409).
 * One update id for all attempts of a request, so the server treats them as one update, never two.
 */
export async function deliverUpdate<T = unknown>(subject: string, temporal: Client, handle: WorkflowHandle, start: UpdateStart<T>, waitMs: number): Promise<UpdateDelivery<T>> {
  const updateId = randomUUID();
  const deadline = Date.now() + waitMs;
  let accepted: WorkflowUpdateHandle<T> | undefined;
  for (let attempt = 0; ; attempt++) {
    try {
      accepted ??= await temporal.withDeadline(deadline, () => start(handle, { updateId, waitForStage: WorkflowUpdateStage.ACCEPTED }));
      return { applied: true, result: await temporal.withDeadline(deadline, () => accepted!.result()) };
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) throw new DomainError('conflict', err.cause?.message ?? `The ${subject} cannot do that now`);
      if (err instanceof WorkflowNotFoundError || grpcCode(err) === NOT_FOUND) throw new DomainError('conflict', `The ${subject} no longer accepts changes`);
      if (!(await isNotNow(err, handle, subject))) throw err;
      const left = deadline - Date.now();
      if (left > 50) {
        await new Promise((r) => setTimeout(r, Math.min(250 * 2 ** attempt, 2000, left)));
        continue;
      }
      if (accepted) return { applied: false };
      throw new DomainError(
        'dependency-unavailable',
        `No worker took the change to this ${subject} within ${Math.round(waitMs / 1000)} s; it may still apply when one returns. Read the ${subject}, or repeat the request (a change that no longer applies is refused with 409)`,
        { retryAfterSeconds: RETRY_AFTER_SECONDS },
      );
    }
  }
}

/** A transient failure: the RPC timed out or the server asked to retry; FAILED_PRECONDITION only while the workflow runs (WorkflowNotReady). */
async function isNotNow(err: unknown, handle: WorkflowHandle, subject: string): Promise<boolean> {
  if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError) return true;
  const code = grpcCode(err);
  if (code !== undefined && NOT_NOW.has(code)) return true;
  if (code !== FAILED_PRECONDITION) return false;
  const status = await handle.describe().then(
    (d) => d.status.name,
    () => undefined,
  );
  if (status === 'RUNNING') return true;
  throw new DomainError('conflict', `The ${subject} no longer accepts changes`);
}

/** The 503 a change gets when no worker took it in time, as the OpenAPI document says it. */
export const UPDATE_NOT_TAKEN = 'No worker took the change in time (workers down or being redeployed): problem+json with Retry-After; it may still apply, read before repeating';

/** 200 with the resource once the change is applied; 202 with it while an accepted change is still under way. */
export function answerUpdate(ctx: { status: number; body: unknown }, resource: unknown, applied: boolean): void {
  ctx.status = applied ? 200 : 202;
  ctx.body = resource;
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
