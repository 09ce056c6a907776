/**
 * The smoke probe over HTTP: starts SmokeWorkflow and reports on it, so the people who run the platform can prove
 * a deployment end to end. Platform operators only (PLATFORM_OPERATORS), never a tenant's users or keys: a run
 * belongs to the platform's own tenant (its workflow id, row and event), and starts are limited platform-wide
 * (SMOKE_STARTS_PER_MINUTE), whoever asks, since each one is a workflow.
 */
import { randomUUID } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, WorkflowFailedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type Redis from 'ioredis';
import { z } from 'zod';
import type { ApiConfig } from '../../platform/config';
import { PLATFORM_TENANT_ID } from '../../platform/temporal/codec';
import { taskQueue } from '../../platform/temporal/client';
import { limitBy, type Limit } from '../middleware/rate-limit';
import { freeText } from '../schemas';
import { SMOKE_WORKFLOW_TYPE, smokeState, smokeWorkflowId, type SmokeInput, type SmokeResult } from '../../workflows/platform/smoke.contract';
import { DomainError } from '../errors';
import { route, type AnyRoute } from '../routing';

const startSmokeBody = z
  .object({
    message: freeText(200, { min: 1 }),
    delaySeconds: z.number().int().min(0).max(3600).optional(),
    fail: z.boolean().optional(),
  })
  .strict();
const startHeaders = z.object({ 'idempotency-key': z.string().uuid().optional() });
const smokeIdParams = z.object({ id: z.string().uuid() }).strict();
const smokeStarted = z.object({ id: z.string().uuid(), workflowId: z.string(), status: z.literal('running'), statusUrl: z.string() });
const smokeStatus = z.object({
  id: z.string().uuid(),
  workflowId: z.string(),
  status: z.string(),
  state: z.string().optional(),
  result: z.object({ smokeRunId: z.string(), eventId: z.string(), recordedAt: z.string() }).optional(),
  failureType: z.string().optional(),
});

export function smokeRoutes(deps: { temporal: Client; config: ApiConfig; redis: Redis }): AnyRoute[] {
  const starts: Limit = {
    redis: deps.redis,
    prefix: deps.config.REDIS_KEY_PREFIX,
    scope: 'smoke',
    limit: deps.config.SMOKE_STARTS_PER_MINUTE,
    windowSeconds: 60,
    per: 'on the whole platform',
    addHeaders: true,
  };
  return [
    route({
      method: 'post',
      path: '/api/smoke',
      summary: 'Start the smoke workflow (the same Idempotency-Key finds the same run)',
      tag: 'platform',
      access: 'operator',
      headers: startHeaders,
      body: startSmokeBody,
      example: { body: { message: 'hello' } },
      responses: { 202: { description: 'Started', schema: smokeStarted }, 429: { description: 'Too many starts on the platform this minute', schema: null } },
      async handler(ctx, { body, headers }) {
        await limitBy(ctx, starts, 'platform');
        const id = headers['idempotency-key'] ?? randomUUID();
        const workflowId = smokeWorkflowId(PLATFORM_TENANT_ID, id);
        const input: SmokeInput = { tenantId: PLATFORM_TENANT_ID, ...body };
        try {
          await deps.temporal.workflow.start(SMOKE_WORKFLOW_TYPE, {
            workflowId,
            taskQueue: taskQueue(deps.config, 'platform'),
            args: [input],
            workflowIdConflictPolicy: 'USE_EXISTING',
            workflowIdReusePolicy: 'REJECT_DUPLICATE',
            // A probe nobody serves (no worker on the queue) must not linger forever.
            workflowExecutionTimeout: '2 hours',
            staticSummary: 'Smoke probe',
          });
        } catch (err) {
          if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
        }
        ctx.status = 202;
        ctx.set('Location', `/api/smoke/${id}`);
        ctx.body = { id, workflowId, status: 'running', statusUrl: `/api/smoke/${id}` };
      },
    }),
    route({
      method: 'get',
      path: '/api/smoke/:id',
      summary: 'The state or outcome of a smoke run',
      tag: 'platform',
      access: 'operator',
      params: smokeIdParams,
      responses: { 200: { description: 'Status', schema: smokeStatus }, 404: { description: 'No such run', schema: null } },
      async handler(ctx, { params }) {
        const { id } = params;
        const workflowId = smokeWorkflowId(PLATFORM_TENANT_ID, id);
        const handle = deps.temporal.workflow.getHandle(workflowId);
        let description;
        try {
          description = await handle.describe();
        } catch (err) {
          if (err instanceof WorkflowNotFoundError) throw new DomainError('not-found', `No smoke run ${id}`);
          throw err;
        }
        const status = description.status.name;
        if (status === 'RUNNING') {
          ctx.body = { id, workflowId, status: 'running', state: await handle.query(smokeState) };
          return;
        }
        try {
          const result: SmokeResult = await handle.result();
          ctx.body = { id, workflowId, status: 'completed', result };
        } catch (err) {
          const cause = err instanceof WorkflowFailedError ? err.cause : undefined;
          const failureType = cause instanceof ApplicationFailure ? cause.type : cause?.name;
          ctx.body = { id, workflowId, status: status.toLowerCase(), failureType };
        }
      },
    }),
  ];
}
