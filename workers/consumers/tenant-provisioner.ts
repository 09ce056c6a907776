/**
 * The seed's "Initialize tenant", on `user.registered`: everything about a new tenant that need not exist before
 * its first request (that part is created in the registration transaction). Idempotent: the Mongo write is an
 * upsert, and the event id is recorded with the Postgres change, so a redelivered event changes nothing.
 */
import type { Db } from 'mongodb';
import type { Pool } from 'pg';
import { z } from 'zod';
import { withTenant } from '../../platform/db/pool';
import type { CloudEvent } from '../../platform/events/cloudevent';
import { parseData, PoisonMessage } from '../../platform/events/consumer';
import type { CloseScheduler } from '../period-close-schedule';

export const TENANT_PROVISIONER = 'tenant-provisioner';

export interface UserRegistered {
  userId: string;
  tenantId: string;
  role: string;
  tenantSlug: string;
  defaultCurrency: string;
}

const userRegistered = z.object({
  userId: z.guid(),
  tenantId: z.guid(),
  role: z.string().max(40),
  tenantSlug: z.string().regex(/^[a-z0-9-]{1,64}$/),
  defaultCurrency: z.string().regex(/^[A-Z]{3}$/),
}) satisfies z.ZodType<UserRegistered>;

/** `closeSchedules`: the tenant's monthly PeriodClose schedule, ensured on every delivery (idempotent). */
export function tenantProvisioner(deps: { db: Pool; analytics: Db; closeSchedules?: CloseScheduler }) {
  return async function provisionTenant(event: CloudEvent): Promise<'provisioned' | 'duplicate' | 'ignored'> {
    if (event.type !== 'user.registered') return 'ignored';
    const data = parseData(event, userRegistered);
    // One tenant's event never acts on another tenant.
    if (data.tenantId !== event.tenantid) throw new PoisonMessage(`user.registered: the envelope's tenant ${event.tenantid} is not the data's ${data.tenantId}`);
    if (data.role !== 'admin') return 'ignored';
    // The analytics side: one document per tenant, created once.
    await deps.analytics.collection<{ _id: string }>('tenants').updateOne(
      { _id: data.tenantId },
      { $setOnInsert: { slug: data.tenantSlug, defaultCurrency: data.defaultCurrency, createdAt: new Date(event.time) } },
      { upsert: true },
    );
    const { outcome, timeZone } = await withTenant(deps.db, data.tenantId, async (tx) => {
      const { rows } = await tx.query<{ time_zone: string }>('SELECT time_zone FROM tenants WHERE id = $1', [data.tenantId]);
      const zone = rows[0]?.time_zone ?? 'UTC';
      const first = await tx.query('INSERT INTO processed_events (consumer, event_id, tenant_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [
        TENANT_PROVISIONER,
        event.id,
        data.tenantId,
      ]);
      if (first.rowCount === 0) return { outcome: 'duplicate' as const, timeZone: zone };
      await tx.query('UPDATE tenants SET provisioned_at = now() WHERE id = $1 AND provisioned_at IS NULL', [data.tenantId]);
      return { outcome: 'provisioned' as const, timeZone: zone };
    });
    // After the commit and on a redelivery too: a schedule that failed to be made is made by the retry.
    await deps.closeSchedules?.ensure(data.tenantId, timeZone);
    return outcome;
  };
}
