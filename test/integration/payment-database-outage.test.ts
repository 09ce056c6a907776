/**
 * PaymentSaga through a PostgreSQL outage right after the card was charged, on the real Temporal dev server: an
 * outage is not a business outcome, so a saga that has taken money must wait it out (retrying with capped backoff)
 * and succeed, not give up and refund. The shared PostgreSQL is never stopped: this file's worker reaches it through
 * a TCP proxy of its own, which the test cuts for two real minutes (open connections dropped, new ones refused) and
 * then restores. The provider's sandbox state is reached directly: the provider is another system, up all along.
 * Only this file's worker serves its task queue.
 */
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { ApplicationFailure } from '@temporalio/common';
import type { Worker } from '@temporalio/worker';
import { createPaymentActivities, createRefundActivities, FaultInjectingProvider, StripeMockSandboxProvider, stripeClient } from '../../activities/payments';
import { LOCAL_STACK_PORTS } from '../../platform/config/local-stack';
import { createPool, withTenant, type Pool } from '../../platform/db/pool';
import { accountBalance } from '../../platform/ledger';
import { createTemporalClient, taskQueue } from '../../platform/temporal/client';
import { connectWorker, createWorkers, riskPolicy } from '../../workers/create-workers';
import { PaymentSaga } from '../../workflows/payments';
import { paymentWorkflowId, type PaymentInput } from '../../workflows/payments/payment.contract';
import { createTenant, testConfig } from '../support/env';

const base = testConfig();
const cfg = testConfig({ TEMPORAL_TASK_QUEUE_PREFIX: `${base.TEMPORAL_TASK_QUEUE_PREFIX}db-outage-` });
const OUTAGE_MS = 2 * 60_000;

/** A TCP proxy to PostgreSQL that the test can cut: while down, it drops every open connection and every new one. */
class CuttableProxy {
  readonly server: net.Server;
  private readonly open = new Set<net.Socket>();
  private down = false;
  /** Connections the worker tried while the database was cut off: proof the saga ran into the outage. */
  refusedWhileDown = 0;

  constructor(target: { host: string; port: number }) {
    this.server = net.createServer((client) => {
      client.on('error', () => undefined);
      if (this.down) {
        this.refusedWhileDown += 1;
        client.destroy();
        return;
      }
      const upstream = net.connect(target.port, target.host);
      upstream.on('error', () => undefined);
      for (const [a, b] of [[client, upstream], [upstream, client]] as const) {
        this.open.add(a);
        a.on('close', () => {
          this.open.delete(a);
          b.destroy();
        });
        a.pipe(b);
      }
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as net.AddressInfo).port;
  }

  get isDown() {
    return this.down;
  }

  cut() {
    this.down = true;
    for (const socket of this.open) socket.destroy();
  }

  restore() {
    this.down = false;
  }

  close(): Promise<void> {
    this.cut();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

let proxy: CuttableProxy;
let direct: Pool;
let viaProxy: Pool;
let provider: FaultInjectingProvider;
let tenantId: string;

beforeAll(async () => {
  proxy = new CuttableProxy({ host: '127.0.0.1', port: LOCAL_STACK_PORTS.postgres });
  const port = await proxy.listen();
  const url = new URL(cfg.DATABASE_URL);
  url.host = `127.0.0.1:${port}`;
  direct = createPool(cfg.DATABASE_URL, 4);
  viaProxy = createPool(url.toString(), 4);
  provider = new FaultInjectingProvider(new StripeMockSandboxProvider(stripeClient({ mockUrl: cfg.STRIPE_MOCK_URL }), direct));
  tenantId = await createTenant(direct);
  await withTenant(direct, tenantId, (tx) => tx.query('SELECT create_default_chart($1)', [tenantId]));
});

afterAll(async () => {
  await proxy?.close();
  await Promise.all([direct?.end(), viaProxy?.end()]);
});

/**
 * The worker's real activities over the proxied pool. The first automatic-capture authorisation that charges the
 * card cuts the database off for OUTAGE_MS; errors met while it is cut are marked as injected (the test's own
 * outage: expected, so the test output stays readable), business failures pass untouched.
 */
function activitiesWithOutage(outage: { ended?: Promise<void> }) {
  const real = { ...createPaymentActivities({ db: viaProxy, provider, risk: riskPolicy(cfg) }), ...createRefundActivities({ db: viaProxy, provider }) };
  const marked = Object.fromEntries(
    Object.entries(real).map(([name, fn]) => [
      name,
      async (...args: unknown[]) => {
        try {
          return await (fn as (...a: unknown[]) => Promise<unknown>)(...args);
        } catch (err) {
          if (proxy.isDown && !(err instanceof ApplicationFailure)) throw new Error(`${(err as Error).message}: the test cut the database off (injected)`);
          throw err;
        }
      },
    ]),
  ) as typeof real;
  return {
    ...marked,
    async authorizePayment(input: PaymentInput) {
      const intent = await real.authorizePayment(input);
      if (intent.status === 'succeeded' && !outage.ended) {
        proxy.cut();
        outage.ended = new Promise((resolve) => setTimeout(() => resolve(proxy.restore()), OUTAGE_MS));
      }
      return intent;
    },
  };
}

describe('PaymentSaga when PostgreSQL is unavailable for 2 minutes right after the capture', () => {
  it('waits the outage out and succeeds: the charge is kept and booked, nothing is refunded', async () => {
    const input: PaymentInput = {
      paymentId: randomUUID(),
      tenantId,
      customerId: `cus_${randomUUID().slice(0, 8)}`,
      amountMinor: 4200,
      currency: 'EUR',
      paymentMethod: 'pm_card_visa',
      captureMethod: 'automatic',
      reviewTimeoutSeconds: 3600,
      authorizationTtlSeconds: 7 * 24 * 3600,
    };
    await withTenant(direct, tenantId, (tx) =>
      tx.query(
        `INSERT INTO payments (id, tenant_id, idempotency_key, request_hash, customer_id, amount_minor, currency, capture_method)
         VALUES ($1, $2, $3, '\\x00', $4, $5, $6, $7)`,
        [input.paymentId, tenantId, `key-${input.paymentId}`, input.customerId, input.amountMinor, input.currency, input.captureMethod],
      ),
    );
    const clearingBefore = await withTenant(direct, tenantId, (tx) => accountBalance(tx, 'provider_clearing', 'EUR'));
    const outage: { ended?: Promise<void> } = {};
    const connection = await connectWorker(cfg);
    const client = createTemporalClient(cfg);
    let worker: Worker | undefined;
    try {
      [worker] = await createWorkers(cfg, connection, { db: viaProxy, provider, risk: riskPolicy(cfg) }, ['payments'], { payments: { activities: activitiesWithOutage(outage) } });
      const { result, execution } = await worker!.runUntil(async () => {
        const handle = await client.workflow.start(PaymentSaga, { workflowId: paymentWorkflowId(tenantId, input.paymentId), taskQueue: taskQueue(cfg, 'payments'), args: [input] });
        const outcome = await handle.result();
        return { result: outcome, execution: (await handle.describe()).status.name };
      });
      expect(outage.ended).toBeDefined(); // the card was charged, then the database went away
      await outage.ended;
      expect(proxy.refusedWhileDown).toBeGreaterThan(0); // the saga ran into the outage, and kept going
      expect(execution).toBe('COMPLETED');
      expect(result).toMatchObject({ paymentId: input.paymentId, status: 'succeeded', ledgerEntryId: expect.any(String) });
    } finally {
      await client.connection.close();
      await connection.close();
    }

    // The money: charged once, never refunded; the books and the payment say so.
    expect(await provider.findIntent(input.paymentId)).toMatchObject({ status: 'succeeded', amountCapturedMinor: 4200, amountRefundedMinor: 0 });
    expect(provider.callsFor(input.paymentId)).toMatchObject({ authorize: 1, cancel: 0, refund: 0 });
    await withTenant(direct, tenantId, async (tx) => {
      expect((await tx.query('SELECT status, failure_code FROM payments WHERE id = $1', [input.paymentId])).rows).toEqual([{ status: 'succeeded', failure_code: null }]);
      expect((await tx.query('SELECT reverses FROM journal_entries WHERE source_id = $1', [input.paymentId])).rows).toEqual([{ reverses: null }]);
      expect((await tx.query('SELECT status FROM ledger_holds WHERE source_id = $1', [input.paymentId])).rows).toEqual([{ status: 'captured' }]);
      expect((await tx.query('SELECT event_type FROM outbox WHERE aggregate_id = $1', [input.paymentId])).rows).toEqual([{ event_type: 'payment.succeeded' }]);
      expect(await accountBalance(tx, 'provider_clearing', 'EUR')).toBe(clearingBefore + 4200);
    });
  }, 10 * 60_000);
});
