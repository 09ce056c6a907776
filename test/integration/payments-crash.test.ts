/**
 * Crash safety: 50 concurrent payments, half with automatic capture (the money moves when the provider
 * authorises) and half with manual capture (it moves when the client captures), while the worker is SIGKILLed
 * right where the money moves (the provider call has returned, the activity has not completed) and the relay
 * right after publishing to Kafka (before marking the rows sent); both are restarted as an orchestrator would.
 * Every payment must end final, the provider must have charged each payment at most once (counted from the
 * charges it performed, not from calls made), the books equal the provider's money, and every outcome event is
 * on Kafka, exactly once after dedupe by event id. What was measured goes to .stack/crash-report.json.
 *
 * The file owns its world: a database of its own (its relay is the only one there, so it leads and can be
 * killed while leading), its own task queue (no other file's worker runs these payments) and its own topics.
 * Nothing is timed: the waits last as long as the payments keep moving, and fail when they stop moving.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createPool, withTenant, type Pool } from '../../platform/db/pool';
import type { CloudEvent } from '../../platform/events/cloudevent';
import { createKafka } from '../../platform/events/kafka';
import { accountBalance } from '../../platform/ledger';
import { apiKeyWithRole, bearer, registerTenant, startApi, type RegisteredTenant, type TestApi } from '../support/api';
import { testConfig } from '../support/env';
import { deleteTopicsWithPrefix, ensureTestTopics, readTopic } from '../support/kafka';
import { createPrivateDatabase, type PrivateDatabase } from '../support/private-database';
import { supervise, type Supervised } from '../support/processes';

const cfg = testConfig();
const kafka = createKafka(cfg);
const TOPIC_PREFIX = `${cfg.KAFKA_TOPIC_PREFIX}payments-crash.`;
const PAYMENTS = 50;
/** Each worker life dies on its 6th charge, so every phase (automatic charges, manual captures) sees kills. */
const WORKER_FAILPOINTS = 'after-provider-charge=6';
const RELAY_FAILPOINTS = 'relay-after-publish=3';
/** A wait fails when nothing it watches has changed for this long (a kill costs one activity timeout, 30 s). */
const STALL_MS = 5 * 60_000;
const REPORT = path.join(__dirname, '../../.stack/crash-report.json');

type CaptureMethod = 'automatic' | 'manual';
interface Planned {
  amountMinor: number;
  captureMethod: CaptureMethod;
  declined: boolean;
}
/** Even: automatic capture, odd: manual; of every ten, the 9th (automatic) and the 10th (manual) are declined. */
const plan: Planned[] = Array.from({ length: PAYMENTS }, (_, i) => ({ amountMinor: 1000 + i, captureMethod: i % 2 === 0 ? 'automatic' : 'manual', declined: i % 10 >= 8 }));

let database: PrivateDatabase;
let env: Record<string, string>;
let api: TestApi;
let app: Pool;
let relayDb: Pool;
let tenant: RegisteredTenant;
let clientKey: string;

beforeAll(async () => {
  database = await createPrivateDatabase();
  env = { ...database.env, TEMPORAL_TASK_QUEUE_PREFIX: `${cfg.TEMPORAL_TASK_QUEUE_PREFIX}payments-crash-`, KAFKA_TOPIC_PREFIX: TOPIC_PREFIX };
  await ensureTestTopics(kafka, cfg, TOPIC_PREFIX);
  api = startApi({ ...env, PAYMENT_SYNC_WAIT_MS: '0' });
  app = createPool(database.env.DATABASE_URL, 4);
  relayDb = createPool(database.env.DATABASE_RELAY_URL, 2);
  tenant = await registerTenant(api);
  clientKey = (await apiKeyWithRole(api, tenant, 'client')).key;
});

afterAll(async () => {
  await api.close();
  await Promise.all([app.end(), relayDb.end()]);
  await deleteTopicsWithPrefix(kafka, TOPIC_PREFIX);
  await database.drop();
});

/** Polls until `done`; fails only when the observed state (plus the worker's deaths) stops changing for STALL_MS. */
async function untilDone<T>(what: string, observe: () => Promise<T>, done: (state: T) => boolean, worker: Supervised): Promise<T> {
  let last = '';
  let changedAt = Date.now();
  for (;;) {
    const state = await observe();
    if (done(state)) return state;
    const seen = JSON.stringify({ state, workerDeaths: worker.deaths.length });
    if (seen !== last) [last, changedAt] = [seen, Date.now()];
    else if (Date.now() - changedAt > STALL_MS) {
      throw new Error(`nothing moved for ${STALL_MS / 1000} s while waiting for ${what}; stuck at ${seen}; the worker's last lines:\n${worker.output.join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * A capture as a client sends it: 200 (applied) or 202 (a worker took it, still under way) ends it; 503 (no worker
 * took it in time: one was just killed) is repeated after Retry-After, and a 409 then means the first attempt applied
 * after all. Answers the statuses seen, e.g. "503 then 200"; anything else (a 500) shows in the test's expectation.
 */
async function captureAsAClientWould(id: string): Promise<string> {
  const seen: number[] = [];
  for (;;) {
    const res = await api.http().post(`/api/payments/${id}/capture`).set(bearer(clientKey));
    seen.push(res.status);
    if (res.status !== 503 || seen.length >= 20) break;
    await new Promise((r) => setTimeout(r, Number(res.headers['retry-after']) * 1000));
  }
  const retried = seen.slice(0, -1);
  return retried.length ? `${retried.join('')} then ${seen.at(-1)}` : String(seen[0]);
}

describe('payments under crashes', () => {
  it('moves no money twice and loses nothing when the worker dies right after the provider moved money, and the relay right after publishing', async () => {
    const worker = supervise('workers/main.ts', { ...env, WORKER_TASK_QUEUES: 'payments', LOG_LEVEL: 'error', FINFLOW_FAILPOINTS: WORKER_FAILPOINTS });
    const relay = supervise('workers/relay.ts', { ...env, LOG_LEVEL: 'error', FINFLOW_FAILPOINTS: RELAY_FAILPOINTS });
    let ids: string[] = [];
    try {
      const answers = await Promise.all(
        plan.map((p, i) =>
          api
            .http()
            .post('/api/payments')
            .set(bearer(clientKey))
            .set('Idempotency-Key', `crash-${i}-${randomUUID()}`)
            .send({ amountMinor: p.amountMinor, currency: 'EUR', customerId: `cus_${i % 7}`, paymentMethod: p.declined ? 'pm_card_chargeDeclined' : 'pm_card_visa', captureMethod: p.captureMethod }),
        ),
      );
      for (const a of answers) expect([201, 202]).toContain(a.status);
      ids = answers.map((a) => a.body.id as string);
      const statuses = async () =>
        withTenant(app, tenant.tenantId, async (tx) => {
          const { rows } = await tx.query<{ id: string; status: string }>('SELECT id, status FROM payments WHERE id = ANY($1::uuid[]) ORDER BY id', [ids]);
          return Object.fromEntries(rows.map((r) => [r.id, r.status]));
        });
      const final = (s: string | undefined) => s === 'succeeded' || s === 'failed';

      // Automatic capture: the charges happen now. Manual capture: the payments wait, authorised.
      const resting = await untilDone(
        'automatic payments final and manual ones authorised or declined',
        statuses,
        (s) => ids.every((id, i) => final(s[id]) || (plan[i]!.captureMethod === 'manual' && s[id] === 'authorized')),
        worker,
      );
      // Manual capture: the client captures every authorised payment at once; those charges happen now.
      const toCapture = ids.filter((id) => resting[id] === 'authorized');
      const captures = await Promise.all(toCapture.map((id) => captureAsAClientWould(id)));
      expect(captures).toEqual(toCapture.map(() => expect.stringMatching(/^(200|202|(503)+ then (200|202|409))$/)));
      await untilDone('every payment final', statuses, (s) => ids.every((id) => final(s[id])), worker);
      await untilDone(
        'the outbox published',
        async () => Number((await relayDb.query('SELECT count(*) FROM outbox WHERE published_at IS NULL')).rows[0].count),
        (left) => left === 0,
        worker,
      );
    } finally {
      await Promise.all([worker, relay].map((p) => p.stop()));
    }

    // Measure, with every process stopped: nothing below can still change.
    const payments = await withTenant(app, tenant.tenantId, async (tx) =>
      (await tx.query<{ id: string; status: string; failure_code: string | null }>('SELECT id, status, failure_code FROM payments WHERE id = ANY($1::uuid[])', [ids])).rows,
    );
    const status = new Map(payments.map((r) => [r.id, r.status]));
    const methodOf = new Map(ids.map((id, i) => [id, plan[i]!.captureMethod]));
    const count = (method: CaptureMethod, s: string) => ids.filter((id) => methodOf.get(id) === method && status.get(id) === s).length;
    // What the provider performed: each captured intent is one charge (the sandbox's intents, not its call log).
    const performed = await app.query<{ payment_id: string; charges: number; captured: string }>(
      `SELECT payment_id, count(*) FILTER (WHERE amount_captured_minor > 0)::int AS charges, sum(amount_captured_minor)::text AS captured
         FROM provider_sandbox.intents WHERE payment_id = ANY($1) GROUP BY payment_id`,
      [ids],
    );
    const chargesOf = new Map(ids.map((id) => [id, 0]));
    const capturedOf = new Map(ids.map((id) => [id, 0]));
    for (const r of performed.rows) {
      chargesOf.set(r.payment_id, r.charges);
      capturedOf.set(r.payment_id, Number(r.captured));
    }
    const maxChargesPerPayment = Math.max(...chargesOf.values());
    const providerNetMinor = Number(
      (await app.query<{ net: string }>('SELECT coalesce(sum(amount_captured_minor - amount_refunded_minor), 0)::text AS net FROM provider_sandbox.intents WHERE payment_id = ANY($1)', [ids]))
        .rows[0]!.net,
    );
    const clearingMinor = await withTenant(app, tenant.tenantId, (tx) => accountBalance(tx, 'provider_clearing', 'EUR'));
    const kills = worker.failpointKills.map((k) => ({ failpoint: k.failpoint, paymentId: k.detail!, captureMethod: methodOf.get(k.detail!) }));
    const outcomes = (await readTopic(kafka, `${TOPIC_PREFIX}payment.events`))
      .map((m) => JSON.parse(m.value!.toString()) as CloudEvent)
      .filter((e) => e.type === 'payment.succeeded' || e.type === 'payment.failed');
    const outcomeIds = new Map(ids.map((id) => [id, new Set<string>()]));
    for (const e of outcomes) outcomeIds.get(e.subject.slice('payment/'.length))?.add(`${e.type} ${e.id}`);

    const report = {
      payments: PAYMENTS,
      automatic: { succeeded: count('automatic', 'succeeded'), failed: count('automatic', 'failed') },
      manual: { succeeded: count('manual', 'succeeded'), failed: count('manual', 'failed') },
      failures: payments
        .filter((p) => p.status === 'failed')
        .map((p) => ({ paymentId: p.id, captureMethod: methodOf.get(p.id), declineCard: plan[ids.indexOf(p.id)]!.declined, failureCode: p.failure_code })),
      workerKills: kills,
      workerDeaths: worker.deaths,
      relayDeaths: relay.deaths,
      maxChargesPerPayment,
      chargesOfKilledPayments: kills.map((k) => chargesOf.get(k.paymentId)),
      providerNetMinor,
      clearingMinor,
      outcomeMessagesOnKafka: outcomes.length,
      outcomeEventsAfterDedupe: [...outcomeIds.values()].reduce((n, s) => n + s.size, 0),
    };
    fs.mkdirSync(path.dirname(REPORT), { recursive: true });
    fs.writeFileSync(REPORT, JSON.stringify(report, null, 2));

    // Every payment final, as planned, in both capture modes.
    expect({ automatic: report.automatic, manual: report.manual }).toEqual({ automatic: { succeeded: 20, failed: 5 }, manual: { succeeded: 20, failed: 5 } });
    // The worker died at the failpoint where money moves, in both modes, and only there.
    expect(worker.deaths.length).toBe(kills.length);
    expect(worker.deaths.every((d) => d === 'SIGKILL')).toBe(true);
    expect(kills.filter((k) => k.captureMethod === 'automatic').length).toBeGreaterThanOrEqual(1);
    expect(kills.filter((k) => k.captureMethod === 'manual').length).toBeGreaterThanOrEqual(1);
    // At most one charge per payment, as performed by the provider: one per succeeded payment, none per declined.
    expect(maxChargesPerPayment).toBe(1);
    for (const [i, id] of ids.entries()) {
      const succeeded = status.get(id) === 'succeeded';
      expect({ id, charges: chargesOf.get(id), captured: capturedOf.get(id) }).toEqual({ id, charges: succeeded ? 1 : 0, captured: succeeded ? plan[i]!.amountMinor : 0 });
    }
    // The books equal the provider's money.
    expect(clearingMinor).toBe(providerNetMinor);
    expect(clearingMinor).toBe(ids.reduce((sum, id, i) => sum + (status.get(id) === 'succeeded' ? plan[i]!.amountMinor : 0), 0));
    // The relay died after publishing and was restarted; every outcome is on Kafka, exactly once after dedupe.
    expect(relay.deaths.filter((d) => d === 'SIGKILL').length).toBeGreaterThanOrEqual(1);
    for (const id of ids) expect({ id, outcomes: [...outcomeIds.get(id)!].map((o) => o.split(' ')[0]) }).toEqual({ id, outcomes: [`payment.${status.get(id)}`] });
  }, 30 * 60_000);
});
