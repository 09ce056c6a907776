/**
 * Every recorded history (test/replay, `npm run histories:record`) replays against today's workflow code, bundled
 * from the same workflowsPath, with the same data converter, as the production workers (workers/create-workers.ts).
 * A change to a workflow that running executions could not replay (a step added, removed or reordered outside a
 * `patched()` branch, a timer changed...) fails here with a DeterminismViolationError naming the history. README:
 * Shipping a workflow change.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createDataConverter, type TaskQueueName } from '../../../platform/temporal/client';
import { TASK_QUEUE_DEFINITIONS } from '../../../workers/task-queues';
import { testConfig } from '../../support/env';
import { temporal } from '@temporalio/proto';
import { Status } from '../../../temporal-config/search-attributes';
import { WAIT_COUNTS_EVENTS_SINCE_READ, WAITS_FOR_CUSTOMER_OR_PROVIDER } from '../../../workflows/payments/customer-action';
import { loadHistory, patchIdsOf, recordedBranches, REPLAY_DIR, replayErrors } from './histories';

/**
 * The production workers' data converter without its payload codec: the codec encrypts payloads on their way to
 * and from the server, outside the workflow sandbox, so it has no part in determinism; the histories are stored
 * decoded. The failure converter is bundled into the workflow code, so it is kept.
 */
const { payloadCodecs: _codecs, ...dataConverter } = createDataConverter(testConfig());

/**
 * The histories of PaymentSaga since it waits for the customer or the provider (`patched(WAITS_FOR_CUSTOMER_OR_PROVIDER)`):
 * what executions started today do. The same branch's history without the suffix was recorded before the change and
 * is kept: it guards the executions started before it (README: Shipping a workflow change).
 */
const WAITS = '@waits-for-customer';
const WAITING_PAYMENTS = [
  'payment-3ds-abandoned',
  'payment-3ds-canceled',
  'payment-3ds-event-before-wait',
  'payment-3ds-failed',
  'payment-3ds-manual-capture',
  'payment-3ds-succeeded',
  'payment-3ds-webhook-lost',
  'payment-authorization-expired',
  'payment-canceled-before-capture',
  'payment-ledger-failed',
  'payment-manual-capture',
  'payment-needs-attention',
  'payment-processing-failed',
  'payment-processing-rechecked',
  'payment-processing-succeeded',
  'payment-review-approved',
  'payment-succeeded',
  'payment-workflow-cancelled-awaiting-capture',
  'payment-workflow-cancelled-awaiting-customer',
  'payment-workflow-cancelled-while-posting',
].map((branch) => `${branch}${WAITS}`);

/** Every branch of every production workflow type: a missing file (an empty or partial directory) fails. */
const EXPECTED: Record<'payments' | 'credit' | 'platform' | 'invoices' | 'accounting', string[]> = {
  payments: [
    ...WAITING_PAYMENTS,
    'payment-authorization-expired',
    'payment-canceled-before-capture',
    'payment-declined',
    'payment-ledger-failed',
    'payment-manual-capture',
    'payment-needs-attention',
    'payment-provider-unavailable',
    'payment-review-approved',
    'payment-review-canceled',
    'payment-review-rejected',
    'payment-review-timed-out',
    'payment-risk-rejected',
    'payment-succeeded',
    'payment-workflow-cancelled-awaiting-capture',
    'payment-workflow-cancelled-in-review',
    'payment-workflow-cancelled-while-posting',
    'refund-full',
    'refund-partial',
    'refund-provider-failed',
    'refund-rejected',
    'refund-workflow-cancelled-after-provider',
    'refund-workflow-cancelled-before-provider',
    'saga-reconciler-started',
  ],
  credit: [
    'credit-auto-approved',
    'credit-auto-declined',
    'credit-escalated-approved',
    'credit-kyc-declined',
    'credit-review-timed-out',
    'credit-underwriter-approved',
    'credit-underwriter-declined',
  ],
  platform: ['smoke-delayed', 'smoke-failed', 'smoke-recorded'],
  invoices: ['invoice-credit-note-after-payment', 'invoice-credit-note-refund', 'invoice-credited', 'invoice-paid', 'invoice-voided', 'invoice-written-off'],
  accounting: [
    'period-close-escalated',
    'period-close-fx-revaluation',
    'period-close-self-sign-off-refused',
    'period-close-signed-off',
    'period-close-waited-for-payments',
    'period-close-year-end',
  ],
};
EXPECTED.payments.sort();
const QUEUES = Object.keys(EXPECTED) as (keyof typeof EXPECTED)[];

describe('recorded workflow histories', () => {
  it('cover every branch of every production workflow type, and every queue with workflows', () => {
    expect(Object.fromEntries(QUEUES.map((q) => [q, recordedBranches(q)]))).toEqual(EXPECTED);
    // A queue that gains workflows must gain recorded histories too.
    expect(Object.keys(TASK_QUEUE_DEFINITIONS).sort()).toEqual([...QUEUES].sort());
  });

  it('include every workflow type each queue’s workers register', () => {
    for (const queue of QUEUES) {
      const exported = require(TASK_QUEUE_DEFINITIONS[queue]!.workflowsPath) as Record<string, unknown>;
      const registered = Object.keys(exported).filter((name) => typeof exported[name] === 'function').sort();
      const recorded = new Set(EXPECTED[queue].map((branch) => workflowTypeOf(loadHistory(queue, branch))));
      expect({ queue, types: [...recorded].sort() }).toEqual({ queue, types: registered });
    }
  });

  it('guard today’s PaymentSaga path as well as the one before the wait for the customer or provider', () => {
    const payments = EXPECTED.payments.filter((b) => b.startsWith('payment-')).map((branch) => ({ branch, history: loadHistory('payments', branch).history as temporal.api.history.v1.IHistory }));
    const marked = payments.filter(({ history }) => patchIdsOf(history).includes(WAITS_FOR_CUSTOMER_OR_PROVIDER)).map(({ branch }) => branch);
    // The histories named for the new path carry its marker; the others are of executions started before it.
    expect(marked).toEqual(WAITING_PAYMENTS.slice().sort());
    expect(payments.filter(({ branch }) => !branch.endsWith(WAITS)).length).toBeGreaterThanOrEqual(16);
    // The waits themselves are recorded: for the customer (3-D Secure) and for the provider (processing), under
    // the wait's own later change too.
    const waited = (status: string) =>
      payments.filter(({ history }) => statusesOf(history).includes(status) && patchIdsOf(history).includes(WAIT_COUNTS_EVENTS_SINCE_READ)).map(({ branch }) => branch);
    expect(waited('requires_action')).toEqual(expect.arrayContaining([`payment-3ds-succeeded${WAITS}`, `payment-3ds-abandoned${WAITS}`]));
    expect(waited('processing')).toEqual(expect.arrayContaining([`payment-processing-succeeded${WAITS}`, `payment-processing-failed${WAITS}`]));
  });

  it.each(QUEUES)('of the %s task queue replay against today’s workflow code without a determinism error', async (queue) => {
    const histories = EXPECTED[queue].map((branch) => loadHistory(queue, branch));
    const errors = await replayErrors({ workflowsPath: TASK_QUEUE_DEFINITIONS[queue as TaskQueueName]!.workflowsPath, dataConverter, replayName: `replay-${queue}` }, histories);
    expect(Object.fromEntries(Object.entries(errors).map(([id, err]) => [id, `${err.name}: ${err.message}`]))).toEqual({});
  });

  it('hold plain test data: no encrypted payload, no applicant identity', () => {
    const identity = /"(givenName|familyName|dateOfBirth|nationalId|address)"/;
    const offending: string[] = [];
    for (const queue of QUEUES) {
      for (const branch of recordedBranches(queue)) {
        for (const payload of payloadsOf(JSON.parse(readFileSync(path.join(REPLAY_DIR, queue, `${branch}.json`), 'utf8')))) {
          const encoding = Buffer.from(payload.metadata.encoding, 'base64').toString();
          const data = Buffer.from(payload.data ?? '', 'base64').toString();
          if (encoding === 'binary/encrypted' || identity.test(data)) offending.push(`${queue}/${branch}: ${encoding} ${data.slice(0, 80)}`);
        }
      }
    }
    expect(offending).toEqual([]);
  });
});

interface JsonPayload {
  metadata: { encoding: string };
  data?: string;
}

/** The PaymentStatus values the execution showed (its search attribute upserts), in order. */
const statusesOf = (history: temporal.api.history.v1.IHistory): string[] =>
  (history.events ?? []).flatMap((e) => {
    const data = e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.[Status.name]?.data;
    return data ? (JSON.parse(Buffer.from(data).toString('utf8')) as string[]) : [];
  });

const workflowTypeOf = ({ history }: ReturnType<typeof loadHistory>) =>
  (history as { events?: { workflowExecutionStartedEventAttributes?: { workflowType?: { name?: string } } }[] }).events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name;

/** Every payload anywhere in a history file (JSON: bytes are base64). */
function payloadsOf(node: unknown, out: JsonPayload[] = []): JsonPayload[] {
  if (Array.isArray(node)) node.forEach((n) => payloadsOf(n, out));
  else if (node && typeof node === 'object') {
    const metadata = (node as { metadata?: { encoding?: unknown } }).metadata;
    if (typeof metadata?.encoding === 'string') out.push(node as JsonPayload);
    else Object.values(node).forEach((n) => payloadsOf(n, out));
  }
  return out;
}
