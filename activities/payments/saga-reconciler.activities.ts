/**
 * The saga reconciler's activity: the API commits a payment and then starts its saga, so a crash in between leaves a
 * pending payment with none. Such payments (read across tenants through payments_awaiting_saga, pending past a grace
 * period, young enough for Temporal to remember any saga that ran) get theirs, under the payment's deterministic
 * workflow id: a saga running or run for it refuses the start (REJECT_DUPLICATE, no conflict reuse), so nothing runs
 * twice. The start goes through the client, so the saga's input is encrypted under its tenant's key.
 */
import { Context } from '@temporalio/activity';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { Pool } from 'pg';
import type { Currency } from '../../core/money';
import { PAYMENT_WORKFLOW_TYPE, paymentWorkflowId, type PaymentInput } from '../../workflows/payments/payment.contract';
import type { SagaReconcileInput, SagaReconcileResult } from '../../workflows/payments/saga-reconciler.contract';

interface AwaitingSaga {
  tenant_id: string;
  id: string;
  customer_id: string;
  amount_minor: string;
  currency: Currency;
  capture_method: 'automatic' | 'manual';
  invoice_ref: string | null;
  payment_method: string;
}

export function createSagaReconcilerActivities({ db, temporal }: { db: Pool; temporal?: Client }) {
  return {
    async startOrphanedPaymentSagas(input: SagaReconcileInput): Promise<SagaReconcileResult> {
      if (!temporal) throw new Error('the saga reconciler needs a Temporal client (workers/create-workers.ts workerDeps)');
      const { taskQueue } = Context.current().info;
      const { rows } = await db.query<AwaitingSaga>('SELECT * FROM payments_awaiting_saga($1, $2, $3)', [input.graceSeconds, input.windowHours, input.limit]);
      const result: SagaReconcileResult = { started: [], alreadyStarted: 0 };
      for (const p of rows) {
        const saga: PaymentInput = {
          paymentId: p.id,
          tenantId: p.tenant_id,
          customerId: p.customer_id,
          amountMinor: Number(p.amount_minor),
          currency: p.currency,
          paymentMethod: p.payment_method,
          captureMethod: p.capture_method,
          ...(p.invoice_ref ? { invoiceRef: p.invoice_ref } : {}),
          reviewTimeoutSeconds: input.reviewTimeoutSeconds,
          authorizationTtlSeconds: input.authorizationTtlSeconds,
          ...(input.customerActionTimeoutSeconds ? { customerActionTimeoutSeconds: input.customerActionTimeoutSeconds } : {}),
        };
        try {
          await temporal.workflow.start(PAYMENT_WORKFLOW_TYPE, {
            workflowId: paymentWorkflowId(p.tenant_id, p.id),
            taskQueue,
            args: [saga],
            workflowIdReusePolicy: 'REJECT_DUPLICATE',
            workflowIdConflictPolicy: 'FAIL',
            staticSummary: `Payment of ${saga.amountMinor} ${saga.currency} (${saga.captureMethod} capture), started by the saga reconciler`,
          });
          result.started.push(p.id);
        } catch (err) {
          if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
          result.alreadyStarted += 1;
        }
      }
      if (result.started.length) Context.current().log.warn('started the sagas of payments left without one', { paymentIds: result.started });
      return result;
    },
  };
}

export type SagaReconcilerActivities = ReturnType<typeof createSagaReconcilerActivities>;
