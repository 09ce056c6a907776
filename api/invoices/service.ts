/**
 * The invoices context's API side: drafts are written by modules/invoices and their InvoiceLifecycle started (or
 * joined) idempotently; every change after that is a workflow update, whose failure type maps to a problem from one
 * table; reads come from the invoice tables.
 */
import { randomUUID } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure, type UpdateDefinition } from '@temporalio/common';
import type { Pool } from 'pg';
import type { DunningPolicy, InvoiceLine } from '../../core/invoices';
import type { Currency } from '../../core/money';
import * as invoices from '../../modules/invoices';
import type { Config } from '../../platform/config';
import { withTenant } from '../../platform/db/pool';
import { taskQueue } from '../../platform/temporal/client';
import {
  applyCustomerCredit,
  creditInvoice,
  DEFAULT_INVOICE_OPTIONS,
  INVOICE_FAILURES,
  INVOICE_WORKFLOW_TYPE,
  invoiceState,
  invoiceWorkflowId,
  issueInvoice,
  recordInvoicePayment,
  updateDraft,
  voidInvoice,
  writeOffInvoice,
  type CreditSettlement,
  type InvoiceDraft,
  type InvoiceLifecycleInput,
} from '../../workflows/invoices/invoice-lifecycle.contract';
import { DomainError, type ProblemType } from '../errors';
import { requestHash } from '../idempotency';
import { decodeCursor, page } from '../pagination';
import { principalRef } from '../principals';
import type { Principal } from '../middleware/authenticate';

export interface CreateInvoiceBody {
  customerId: string;
  currency: Currency;
  lines: InvoiceLine[];
  terms?: string;
  dueDate?: string;
  note?: string;
  series?: string;
}

/** The workflow's failure types as HTTP problems: the one place they are mapped. */
const PROBLEM_OF: Record<string, ProblemType> = {
  [INVOICE_FAILURES.invalid]: 'unprocessable-entity',
  [INVOICE_FAILURES.overOutstanding]: 'unprocessable-entity',
  [INVOICE_FAILURES.notAllowedNow]: 'conflict',
  [INVOICE_FAILURES.ledgerRejected]: 'conflict',
  [INVOICE_FAILURES.refundRefused]: 'unprocessable-entity',
};

/** Opaque, bounded key for a payment, credit note or credit application: from the caller and its Idempotency-Key. */
const keyFor = (principal: Principal, idempotencyKey: string) => `k:${requestHash({ by: principalRef(principal), idempotencyKey }).toString('hex').slice(0, 40)}`;

export class InvoicesService {
  constructor(private readonly deps: { db: Pool; temporal: Client; config: Pick<Config, 'TEMPORAL_TASK_QUEUE_PREFIX'> }) {}

  async create(principal: Principal, idempotencyKey: string, body: CreateInvoiceBody): Promise<{ invoice: invoices.InvoiceView; created: boolean }> {
    const tenantId = principal.tenantId;
    const series = body.series ?? 'INV';
    const draft: InvoiceDraft = { customerId: body.customerId, currency: body.currency, lines: body.lines, terms: body.terms, dueDate: body.dueDate, note: body.note };
    const { row, created } = await withTenant(this.deps.db, tenantId, (tx) =>
      invoices.createDraft(tx, { ...draft, id: randomUUID(), tenantId, idempotencyKey, series, createdBy: principalRef(principal), requestHash: requestHash(body) }),
    ).catch((err: unknown) => {
      if (err instanceof invoices.IdempotencyKeyReused) throw new DomainError('unprocessable-entity', err.message);
      throw err;
    });
    // Started (or joined) on every request with this key: a crash between the row and the start is repaired by a
    // retry. A lifecycle that has ended is never run again (REJECT_DUPLICATE).
    const input: InvoiceLifecycleInput = { tenantId, invoiceId: row.id, series: row.series, draft: await this.draftOf(tenantId, row.id), options: DEFAULT_INVOICE_OPTIONS };
    try {
      await this.deps.temporal.workflow.start(INVOICE_WORKFLOW_TYPE, {
        workflowId: invoiceWorkflowId(tenantId, row.id),
        taskQueue: taskQueue(this.deps.config, 'invoices'),
        args: [input],
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        workflowIdConflictPolicy: 'USE_EXISTING',
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
    return { invoice: await this.get(principal, row.id), created };
  }

  private async draftOf(tenantId: string, invoiceId: string): Promise<InvoiceDraft> {
    const v = (await withTenant(this.deps.db, tenantId, (tx) => invoices.getInvoice(tx, invoiceId)))!;
    const lines = v.lines.map(({ description, quantity, unitPriceMinor, taxRateBp }) => ({ description, quantity, unitPriceMinor, taxRateBp }));
    return { customerId: v.customerId, currency: v.currency, lines, ...(v.terms ? { terms: v.terms } : {}), ...(v.dueDate ? { dueDate: v.dueDate } : {}), ...(v.note ? { note: v.note } : {}) };
  }

  async get(principal: Principal, invoiceId: string): Promise<invoices.InvoiceView> {
    const view = await withTenant(this.deps.db, principal.tenantId, (tx) => invoices.getInvoice(tx, invoiceId), 'snapshot');
    if (!view) throw new DomainError('not-found', `No invoice ${invoiceId}`);
    return view;
  }

  async document(principal: Principal, invoiceId: string): Promise<string> {
    const html = await withTenant(this.deps.db, principal.tenantId, (tx) => invoices.invoiceDocument(tx, invoiceId), 'snapshot');
    if (html === undefined) throw new DomainError('not-found', `No invoice ${invoiceId}`);
    if (html === null) throw new DomainError('conflict', 'A draft has no document: issue it first');
    return html;
  }

  async list(principal: Principal, q: { status?: invoices.InvoiceStatus; customerId?: string; dueBefore?: string; dueAfter?: string; limit: number; cursor?: string }) {
    const after = decodeCursor(q.cursor);
    const rows = await withTenant(this.deps.db, principal.tenantId, (tx) => invoices.listInvoices(tx, { ...q, after }), 'snapshot');
    return page(rows, q.limit, (r) => r.view);
  }

  ageing(principal: Principal, asOf: string) {
    return withTenant(this.deps.db, principal.tenantId, async (tx) => ({ report: await invoices.receivablesAgeing(tx, asOf), tenantName: await invoices.sellerName(tx) }), 'snapshot');
  }

  dunningPolicy(principal: Principal): Promise<DunningPolicy> {
    return withTenant(this.deps.db, principal.tenantId, (tx) => invoices.dunningPolicy(tx), 'snapshot');
  }

  async setDunningPolicy(principal: Principal, policy: DunningPolicy): Promise<DunningPolicy> {
    await withTenant(this.deps.db, principal.tenantId, (tx) => invoices.setDunningPolicy(tx, principal.tenantId, policy));
    return policy;
  }

  updateDraft(principal: Principal, invoiceId: string, patch: Partial<InvoiceDraft>) {
    return this.update(principal, invoiceId, updateDraft, [patch]);
  }
  issue(principal: Principal, invoiceId: string) {
    return this.update(principal, invoiceId, issueInvoice, [{ issuedBy: principalRef(principal) }]);
  }
  void(principal: Principal, invoiceId: string, reason?: string) {
    return this.update(principal, invoiceId, voidInvoice, [{ reason }]);
  }
  writeOff(principal: Principal, invoiceId: string, reason?: string) {
    return this.update(principal, invoiceId, writeOffInvoice, [{ reason }]);
  }

  /** A repeated request (same caller, same Idempotency-Key) answers with the invoice, paying nothing twice. */
  async recordPayment(principal: Principal, invoiceId: string, idempotencyKey: string, p: { amountMinor: number; method: 'bank_transfer' | 'cash'; reference?: string }) {
    const paymentId = keyFor(principal, idempotencyKey);
    if ((await this.state(principal, invoiceId))?.payments.some((x) => x.paymentId === paymentId)) return this.get(principal, invoiceId);
    return this.update(principal, invoiceId, recordInvoicePayment, [{ paymentId, ...p, recordedBy: principalRef(principal) }]);
  }

  async creditNote(principal: Principal, invoiceId: string, idempotencyKey: string, c: { amountMinor: number; settlement?: CreditSettlement; reason?: string }) {
    const creditNoteId = keyFor(principal, idempotencyKey);
    if ((await this.state(principal, invoiceId))?.creditNoteIds.includes(creditNoteId)) return this.get(principal, invoiceId);
    try {
      return await this.update(principal, invoiceId, creditInvoice, [{ creditNoteId, ...c, createdBy: principalRef(principal) }]);
    } catch (err) {
      // A repeat sent while the first was still refunding waited for it, then was refused as "already recorded".
      if ((await this.state(principal, invoiceId))?.creditNoteIds.includes(creditNoteId)) return this.get(principal, invoiceId);
      throw err;
    }
  }

  async applyCredit(principal: Principal, invoiceId: string, idempotencyKey: string) {
    const applicationId = keyFor(principal, idempotencyKey);
    if ((await this.state(principal, invoiceId))?.creditApplicationIds.includes(applicationId)) return this.get(principal, invoiceId);
    return this.update(principal, invoiceId, applyCustomerCredit, [{ applicationId, recordedBy: principalRef(principal) }]);
  }

  private async state(principal: Principal, invoiceId: string) {
    await this.get(principal, invoiceId); // 404 for another tenant's invoice, before Temporal is asked anything
    try {
      return await this.deps.temporal.workflow.getHandle(invoiceWorkflowId(principal.tenantId, invoiceId)).query(invoiceState);
    } catch {
      return undefined; // ended (void, written off, settled and closed): the update answers why
    }
  }

  private async update<Args extends unknown[]>(principal: Principal, invoiceId: string, def: UpdateDefinition<unknown, Args>, args: Args): Promise<invoices.InvoiceView> {
    await this.get(principal, invoiceId);
    const handle = this.deps.temporal.workflow.getHandle(invoiceWorkflowId(principal.tenantId, invoiceId));
    try {
      await handle.executeUpdate(def.name, { args: args as unknown as [unknown, ...unknown[]] });
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) {
        const cause = err.cause instanceof ApplicationFailure ? err.cause : undefined;
        throw new DomainError(PROBLEM_OF[cause?.type ?? ''] ?? 'conflict', cause?.message ?? 'The invoice cannot do that now');
      }
      const code = (err as { code?: number }).code;
      if (code === 5 || code === 9 || (err as Error).name === 'WorkflowNotFoundError') throw new DomainError('conflict', 'The invoice no longer accepts changes');
      throw err;
    }
    return this.get(principal, invoiceId);
  }
}
