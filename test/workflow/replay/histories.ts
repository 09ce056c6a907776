/**
 * The recorded histories under test/replay (written by `npm run histories:record`, scripts/record-histories.ts):
 * test/replay/<task queue>/<branch>.json, each the SDK's protobuf object form of one execution's history, with
 * plain (decoded) payloads.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { HistoryAndWorkflowId } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { Worker, type ReplayWorkerOptions } from '@temporalio/worker';
import type { TaskQueueName } from '../../../platform/temporal/client';

export const REPLAY_DIR = path.resolve(__dirname, '..', '..', 'replay');

/** The branch names recorded for a task queue (file names without .json), sorted. */
export function recordedBranches(queue: TaskQueueName): string[] {
  let files: string[];
  try {
    files = readdirSync(path.join(REPLAY_DIR, queue));
  } catch {
    return [];
  }
  return files.filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -'.json'.length)).sort();
}

/** One recorded history, ready to replay; its workflow id is `<queue>/<branch>`, so a failure names its file. */
export function loadHistory(queue: TaskQueueName, branch: string): HistoryAndWorkflowId {
  const json: unknown = JSON.parse(readFileSync(path.join(REPLAY_DIR, queue, `${branch}.json`), 'utf8'));
  return { workflowId: `${queue}/${branch}`, history: temporal.api.history.v1.History.fromObject(json as Record<string, unknown>) };
}

/**
 * The ids of the `patched()` / `deprecatePatch()` changes a history records (its `core_patch` markers), in order: the
 * code paths it guards. (The marker's payload is `{"id": <change id>, "deprecated": <bool>}`.)
 */
export function patchIdsOf(history: temporal.api.history.v1.IHistory): string[] {
  return (history.events ?? [])
    .filter((e) => e.eventType === temporal.api.enums.v1.EventType.EVENT_TYPE_MARKER_RECORDED && e.markerRecordedEventAttributes?.markerName === 'core_patch')
    .map((e) => {
      const data = e.markerRecordedEventAttributes!.details?.['patch-data']?.payloads?.[0]?.data;
      return (JSON.parse(Buffer.from(data ?? []).toString('utf8')) as { id: string }).id;
    });
}

/** Replays the histories with the given worker options; returns each history's replay error by workflow id ({} when all replay). */
export async function replayErrors(options: ReplayWorkerOptions, histories: HistoryAndWorkflowId[]): Promise<Record<string, Error>> {
  const errors: Record<string, Error> = {};
  let replayed = 0;
  for await (const result of Worker.runReplayHistories(options, histories)) {
    replayed++;
    if (result.error) errors[result.workflowId] = result.error;
  }
  if (replayed !== histories.length) throw new Error(`replayed ${replayed} of ${histories.length} histories`);
  return errors;
}
