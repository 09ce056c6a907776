import type { Pool } from 'pg';
import { withTenant } from '../../platform/db/pool';
import { appendToOutbox, ONCE, outboxEventId } from '../../platform/events/outbox';

export interface PlatformActivityDeps {
  db: Pool;
}

export function createPlatformActivities({ db }: PlatformActivityDeps) {
  return {
    /**
     * Records the smoke run and its `platform.smoke.completed` event in one transaction. Idempotent: a retry
     * after a lost acknowledgement finds the row (unique per workflow id) and the event (deterministic id).
     */
    async recordSmokeRun(input: { tenantId: string; workflowId: string; message: string }) {
      const event = { tenantId: input.tenantId, aggregateType: 'smoke', aggregateId: input.workflowId, type: 'platform.smoke.completed', occurrence: ONCE } as const;
      const eventId = outboxEventId(event);
      return withTenant(db, input.tenantId, async (tx) => {
        await tx.query(
          `INSERT INTO smoke_runs (tenant_id, workflow_id, message) VALUES ($1, $2, $3)
           ON CONFLICT (tenant_id, workflow_id) DO NOTHING`,
          [input.tenantId, input.workflowId, input.message],
        );
        const { rows } = await tx.query<{ id: string; created_at: Date }>(
          'SELECT id, created_at FROM smoke_runs WHERE tenant_id = $1 AND workflow_id = $2',
          [input.tenantId, input.workflowId],
        );
        const run = rows[0]!;
        await appendToOutbox(tx, { ...event, data: { smokeRunId: run.id } });
        return { smokeRunId: run.id, eventId, recordedAt: run.created_at.toISOString() };
      });
    },
  };
}

export type PlatformActivities = ReturnType<typeof createPlatformActivities>;
