import { ApplicationFailure, proxyActivities, setHandler, sleep, workflowInfo } from '@temporalio/workflow';
import type { PlatformActivities } from '../../activities/platform';
import { SMOKE_FAILURE_TYPE, smokeState, type SmokeInput, type SmokeResult, type SmokeState } from './smoke.contract';

const { recordSmokeRun } = proxyActivities<PlatformActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '500 ms', maximumInterval: '10 seconds', maximumAttempts: 10 },
});

export async function SmokeWorkflow(input: SmokeInput): Promise<SmokeResult> {
  let state: SmokeState = 'waiting';
  setHandler(smokeState, () => state);

  if (input.delaySeconds) await sleep(input.delaySeconds * 1000);

  state = 'recording';
  const recorded = await recordSmokeRun({ tenantId: input.tenantId, workflowId: workflowInfo().workflowId, message: input.message });

  if (input.fail) {
    state = 'failed';
    // Failure messages reach worker logs in clear (the codec only covers history): never put input in them.
    throw ApplicationFailure.nonRetryable(`smoke run ${recorded.smokeRunId} failed on request`, SMOKE_FAILURE_TYPE);
  }
  state = 'recorded';
  return recorded;
}
