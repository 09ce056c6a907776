/** The benchmark's baseline: a workflow of PaymentSaga's shape (six activities in sequence) that does nothing. */
import { proxyActivities } from '@temporalio/workflow';

export interface NoopActivities {
  step(n: number): Promise<number>;
}

const { step } = proxyActivities<NoopActivities>({ startToCloseTimeout: '10 seconds' });

export async function NoopSaga(steps: number): Promise<number> {
  let done = 0;
  for (let i = 0; i < steps; i++) done += await step(i);
  return done;
}
