/**
 * The smoke probe's contract, shared by the workflow, the API and the tests. Side-effect free.
 * The probe proves the wiring end to end: API -> Temporal -> worker -> Postgres (a row + an outbox event) -> Kafka.
 */
import { defineQuery } from '@temporalio/workflow';

export const SMOKE_WORKFLOW_TYPE = 'SmokeWorkflow';
export const SMOKE_FAILURE_TYPE = 'SmokeRequestedFailure';

export interface SmokeInput {
  tenantId: string;
  message: string;
  /** Wait before recording, to exercise a durable timer (and time skipping in tests). */
  delaySeconds?: number;
  /** Fail on purpose after recording, to exercise the failure path (alerting, encrypted failure messages). */
  fail?: boolean;
}

export interface SmokeResult {
  smokeRunId: string;
  eventId: string;
  recordedAt: string;
}

export type SmokeState = 'waiting' | 'recording' | 'recorded' | 'failed';

export const smokeState = defineQuery<SmokeState>('smokeState');

export const smokeWorkflowId = (tenantId: string, requestId: string) => `smoke:${tenantId}:${requestId}`;
