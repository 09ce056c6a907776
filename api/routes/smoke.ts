/**
 * The smoke probe over HTTP: starts SmokeWorkflow and reports on it. Ops use it to prove a deployment end to end.
 * It runs under the platform's own tenant.
 */
import { randomUUID } from 'node:crypto';
import Router from '@koa/router';
import { WorkflowExecutionAlreadyStartedError, WorkflowFailedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import type { Config } from '../../platform/config';
import { taskQueue } from '../../platform/temporal/client';
import { SMOKE_WORKFLOW_TYPE, smokeState, smokeWorkflowId, type SmokeInput, type SmokeResult } from '../../workflows/platform/smoke.contract';
import { DomainError } from '../errors';
import { parseInput } from '../validation';

export const SYSTEM_TENANT_ID = '00000000-0000-0000-0000-000000000000';

const startSmokeBody = z
  .object({
    message: z.string().trim().min(1).max(200),
    delaySeconds: z.number().int().min(0).max(3600).optional(),
    fail: z.boolean().optional(),
  })
  .strict();

const smokeIdParams = z.object({ id: z.string().uuid() }).strict();
const idempotencyHeader = z.string().uuid().optional();

export function smokeRoutes(deps: { temporal: Client; config: Config }): Router {
  const router = new Router({ prefix: '/api/smoke' });

  router.post('/', async (ctx) => {
    const body = parseInput(startSmokeBody, ctx.request.body);
    // The same Idempotency-Key finds the same execution instead of starting another.
    const id = parseInput(idempotencyHeader, ctx.get('idempotency-key') || undefined, 'headers') ?? randomUUID();
    const workflowId = smokeWorkflowId(SYSTEM_TENANT_ID, id);
    const input: SmokeInput = { tenantId: SYSTEM_TENANT_ID, ...body };
    try {
      await deps.temporal.workflow.start(SMOKE_WORKFLOW_TYPE, {
        workflowId,
        taskQueue: taskQueue(deps.config, 'platform'),
        args: [input],
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        staticSummary: `Smoke probe`,
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
    ctx.status = 202;
    ctx.set('Location', `/api/smoke/${id}`);
    ctx.body = { id, workflowId, status: 'running', statusUrl: `/api/smoke/${id}` };
  });

  router.get('/:id', async (ctx) => {
    const { id } = parseInput(smokeIdParams, ctx.params, 'params');
    const workflowId = smokeWorkflowId(SYSTEM_TENANT_ID, id);
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
  });

  return router;
}
