/**
 * What the InvoiceLifecycle workflow tests share: the time-skipping test server, the real activities over the test
 * database, a tenant with its chart per test, and helpers to make drafts, start, update and look at the books.
 */
import { randomUUID } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createInvoiceActivities } from '../../../activities/invoices';
import type { InvoiceLine } from '../../../core/invoices';
import { createDraft, setDunningPolicy } from '../../../modules/invoices';
import { createPool, withTenant, type Pool } from '../../../platform/db/pool';
import { accountBalance } from '../../../platform/ledger';
import { createDataConverter } from '../../../platform/temporal/client';
import { InvoiceLifecycle } from '../../../workflows/invoices';
import {
  DEFAULT_INVOICE_OPTIONS,
  invoiceState,
  invoiceWorkflowId,
  type InvoiceDraft,
  type InvoiceLifecycleOptions,
  type InvoiceStatus,
} from '../../../workflows/invoices/invoice-lifecycle.contract';
import { createTenant, testConfig } from '../../support/env';
import { eventually } from '../../support/eventually';
import { bundle, timeSkippingEnv } from '../../support/temporal';

export const cfg = testConfig();
export const DAY = 86_400_000;

export interface Harness {
  env: TestWorkflowEnvironment;
  db: Pool;
  workflowBundle: WorkflowBundleWithSourceMap;
}

export async function startHarness(): Promise<Harness> {
  const [env, workflowBundle] = await Promise.all([timeSkippingEnv(cfg), bundle(require.resolve('../../../workflows/invoices'))]);
  return { env, workflowBundle, db: createPool(cfg.DATABASE_URL, 6) };
}

export async function stopHarness(h: Harness | undefined) {
  await h?.env.teardown();
  await h?.db.end();
}

/** A tenant of its own (its books start empty), with the platform's chart and the given dunning offsets. */
export async function newTenant(h: Harness, reminderOffsetsDays?: number[]): Promise<string> {
  const tenantId = await createTenant(h.db);
  await withTenant(h.db, tenantId, async (tx) => {
    await tx.query('SELECT create_default_chart($1)', [tenantId]);
    if (reminderOffsetsDays) await setDunningPolicy(tx, tenantId, { offsetsDays: reminderOffsetsDays });
  });
  return tenantId;
}

/** `activities`: the invoice activities to run instead of the plain ones (a credit note's refund needs a client). */
export async function withWorker<T>(h: Harness, fn: (taskQueue: string) => Promise<T>, activities: object = createInvoiceActivities({ db: h.db })): Promise<T> {
  const taskQueue = `${cfg.TEMPORAL_TASK_QUEUE_PREFIX}invoices-${randomUUID()}`;
  const worker = await Worker.create({
    connection: h.env.nativeConnection,
    taskQueue,
    workflowBundle: h.workflowBundle,
    activities,
    dataConverter: createDataConverter(cfg),
  });
  try {
    return await worker.runUntil(fn(taskQueue));
  } finally {
    // Invoices live for months: one left running would hold the test server's clock for the next test (its timers
    // would fire with no worker to take them, and time skipping waits for them).
    await Promise.all((running.get(taskQueue) ?? []).map((handle) => handle.terminate('test over').catch(() => undefined)));
    running.delete(taskQueue);
  }
}

const running = new Map<string, WorkflowHandle[]>();

/** 2 x 5000 at 19 % + 1 x 1000 at 7 %: subtotal 11000, tax 1900 + 70 = 1970, total 12970. */
export const LINES: InvoiceLine[] = [
  { description: 'Consulting, March', quantity: 2, unitPriceMinor: 5000, taxRateBp: 1900 },
  { description: 'Travel', quantity: 1, unitPriceMinor: 1000, taxRateBp: 700 },
];
export const TOTAL = 12970;

/** The draft row (as the API writes it) and its InvoiceLifecycle. */
export async function startInvoice(
  h: Harness,
  tenantId: string,
  taskQueue: string,
  draft: Partial<InvoiceDraft> = {},
  options: Partial<InvoiceLifecycleOptions> = {},
): Promise<{ invoiceId: string; handle: WorkflowHandle<typeof InvoiceLifecycle> }> {
  const invoiceId = randomUUID();
  const full: InvoiceDraft = { customerId: 'cus_acme', currency: 'EUR', lines: LINES, terms: 'net_30', ...draft };
  await withTenant(h.db, tenantId, (tx) => createDraft(tx, { ...full, id: invoiceId, tenantId, idempotencyKey: invoiceId, series: 'INV', createdBy: 'user:test' }));
  const handle = await h.env.client.workflow.start(InvoiceLifecycle, {
    workflowId: invoiceWorkflowId(tenantId, invoiceId),
    taskQueue,
    args: [{ tenantId, invoiceId, series: 'INV', draft: full, options: { ...DEFAULT_INVOICE_OPTIONS, ...options } }],
  });
  running.set(taskQueue, [...(running.get(taskQueue) ?? []), handle]);
  return { invoiceId, handle };
}

export async function untilStatus(handle: WorkflowHandle, status: InvoiceStatus) {
  return eventually(`the invoice to be ${status}`, async () => {
    const s = await handle.query(invoiceState);
    return s.status === status && s;
  }, 60_000);
}

export const balance = (h: Harness, tenantId: string, account: string, currency = 'EUR') =>
  withTenant(h.db, tenantId, async (tx) => 0 + (await accountBalance(tx, account, currency as 'EUR'))); // 0 + : never -0

/** The invoice's events in the outbox, in order: type and data. */
export const invoiceEvents = (h: Harness, tenantId: string, invoiceId: string) =>
  withTenant(h.db, tenantId, async (tx) =>
    (await tx.query<{ event_type: string; topic: string; partition_key: string; event: { data: Record<string, unknown> } }>('SELECT event_type, topic, partition_key, event FROM outbox WHERE aggregate_id = $1 ORDER BY id', [invoiceId])).rows,
  );

export const invoiceRowOf = (h: Harness, tenantId: string, invoiceId: string) =>
  withTenant(h.db, tenantId, async (tx) => (await tx.query('SELECT status, number, paid_minor, outstanding_minor, written_off_minor, credited_minor, credited_to_balance_minor, document_html FROM invoices WHERE id = $1', [invoiceId])).rows[0]);
