/**
 * npm run bench:outbox — outbox writers with and without the per-commit NOTIFY the relay used to be woken by,
 * on the same PostgreSQL in the same run, then the relay's commit-to-publish latency without it.
 *
 * Throughput: WRITERS clients, each on its own connection, each committing one outbox row per transaction in the
 * platform's shape (BEGIN, tenant scope, the INSERT appendToOutbox makes, COMMIT), sent as one round trip: clients and
 * server share this machine's cores, and four round trips per commit would measure Node rather than the commit
 * path, which is where the notify lock sits (in production the writers are other machines). `notify` has the old
 * statement trigger (pg_notify at every insert, so PostgreSQL takes its cluster-wide notify lock at every commit);
 * `polling` is the schema as migrated (no trigger). The two alternate in rounds so drift in the machine's load
 * hits both alike; the outbox is emptied before each round. The report gives commits/s per variant and the ratio.
 *
 * Latency: the real OutboxRelay (default polling settings) publishing to Kafka while (a) single events arrive
 * now and then (an idle outbox: the relay is at its longest poll interval) and (b) WRITERS clients write flat out.
 * Latency is from the writer's COMMIT returning to `published_at` (set after Kafka acknowledged the batch).
 *
 * BENCH_OUTBOX_WRITERS (default 16), BENCH_OUTBOX_SECONDS (per round, default 5), BENCH_OUTBOX_ROUNDS (default 3).
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { Client, escapeLiteral, Pool, type PoolClient } from 'pg';
import { loadConfigSection } from '../platform/config';
import { LOCAL_DB, LOCAL_STACK_PORTS } from '../platform/config/local-stack';
import { withTenant } from '../platform/db/pool';
import { migrateUp } from '../platform/db/migrate';
import { createKafka } from '../platform/events/kafka';
import { OUTBOX_COLUMNS, outboxRow } from '../platform/events/outbox';
import { OutboxRelay } from '../platform/events/outbox-relay';
import { TOPICS } from '../platform/events/topics';
import { createLogger } from '../platform/logger';

const WRITERS = Number(process.env.BENCH_OUTBOX_WRITERS ?? 16);
const SECONDS = Number(process.env.BENCH_OUTBOX_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_OUTBOX_ROUNDS ?? 3);
const DATABASE = 'bench_outbox';
const TENANT = '0b0b0b0b-0000-4000-8000-0000000000b0';
const url = (role: { user: string; password: string }) => `postgres://${role.user}:${role.password}@127.0.0.1:${LOCAL_STACK_PORTS.postgres}/${DATABASE}`;

async function freshDatabase(): Promise<void> {
  const admin = new Client({ connectionString: `postgres://${LOCAL_DB.owner.user}:${LOCAL_DB.owner.password}@127.0.0.1:${LOCAL_STACK_PORTS.postgres}/${LOCAL_DB.database}` });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${DATABASE}`);
  } finally {
    await admin.end();
  }
}

const literal = (v: unknown) => escapeLiteral(typeof v === 'string' ? v : JSON.stringify(v));

/** Commits one outbox row in its own transaction; resolves with the time COMMIT returned. */
async function writeOne(client: PoolClient, aggregateId: string): Promise<{ eventId: string; committedAt: number }> {
  const eventId = randomUUID();
  const row = outboxRow({ eventId, type: 'platform.smoke.completed', tenantId: TENANT, aggregateType: 'bench', aggregateId, data: { aggregateId, note: 'x'.repeat(200) } });
  await client.query(
    `BEGIN; SELECT set_config('finflow.tenant_id', ${literal(TENANT)}, true);
     INSERT INTO outbox (${OUTBOX_COLUMNS.join(', ')}) VALUES (${row.map(literal).join(', ')}) ON CONFLICT (event_id) DO NOTHING; COMMIT;`,
  );
  return { eventId, committedAt: Date.now() };
}

/** WRITERS clients committing flat out for `seconds`; every commit. */
async function writeFlatOut(app: Pool, seconds: number): Promise<{ eventId: string; committedAt: number }[]> {
  const deadline = Date.now() + seconds * 1000;
  const commits: { eventId: string; committedAt: number }[] = [];
  await Promise.all(
    Array.from({ length: WRITERS }, async (_, w) => {
      const client = await app.connect();
      try {
        while (Date.now() < deadline) commits.push(await writeOne(client, `writer-${w}`));
      } finally {
        client.release();
      }
    }),
  );
  return commits;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

async function throughput(owner: Pool, app: Pool) {
  // The trigger the outbox had before migrations/1765400000000_outbox-v2.sql, toggled per round.
  await owner.query(`CREATE FUNCTION bench_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_notify('finflow_outbox', ''); RETURN NULL; END $$`);
  await owner.query('CREATE TRIGGER bench_outbox_notify AFTER INSERT ON outbox FOR EACH STATEMENT EXECUTE FUNCTION bench_outbox_notify()');
  const variants = {
    notify: () => owner.query('ALTER TABLE outbox ENABLE TRIGGER bench_outbox_notify'),
    polling: () => owner.query('ALTER TABLE outbox DISABLE TRIGGER bench_outbox_notify'),
  };
  const rates: Record<keyof typeof variants, number[]> = { notify: [], polling: [] };
  const round = async (name: keyof typeof variants, seconds: number) => {
    await variants[name]();
    await owner.query('TRUNCATE outbox');
    return (await writeFlatOut(app, seconds)).length / seconds;
  };
  await round('notify', 2); // warm-up
  await round('polling', 2);
  for (let r = 0; r < ROUNDS; r++) {
    for (const name of r % 2 ? (['polling', 'notify'] as const) : (['notify', 'polling'] as const)) rates[name].push(await round(name, SECONDS));
  }
  await owner.query('DROP TRIGGER bench_outbox_notify ON outbox');
  await owner.query('DROP FUNCTION bench_outbox_notify()');
  await owner.query('TRUNCATE outbox');
  const line = {
    writers: WRITERS,
    notifyCommitsPerSecond: Math.round(mean(rates.notify)),
    pollingCommitsPerSecond: Math.round(mean(rates.polling)),
    ratio: Number((mean(rates.polling) / mean(rates.notify)).toFixed(2)),
    ratioPerRound: rates.polling.map((p, i) => Number((p / rates.notify[i]!).toFixed(2))),
  };
  console.log(
    `[bench:outbox] ${WRITERS} writers: with NOTIFY ${line.notifyCommitsPerSecond} commits/s, without (polling) ${line.pollingCommitsPerSecond} commits/s, ` +
      `ratio ${line.ratio} (rounds ${line.ratioPerRound.join(', ')})`,
  );
  return line;
}

/** Milliseconds from each commit to its row's published_at, once every row is published. */
async function latencies(relayDb: Pool, commits: { eventId: string; committedAt: number }[]): Promise<number[]> {
  const ids = commits.map((c) => c.eventId);
  for (;;) {
    const { rows } = await relayDb.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox WHERE event_id = ANY($1::uuid[]) AND published_at IS NULL', [ids]);
    if (rows[0]!.n === 0) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const { rows } = await relayDb.query<{ event_id: string; at: string }>(
    'SELECT event_id, (extract(epoch FROM published_at) * 1000)::float8 AS at FROM outbox WHERE event_id = ANY($1::uuid[])',
    [ids],
  );
  const publishedAt = new Map(rows.map((r) => [r.event_id, Number(r.at)]));
  return commits.map((c) => publishedAt.get(c.eventId)! - c.committedAt).sort((a, b) => a - b);
}

const summary = (ms: number[]) => ({
  events: ms.length,
  p50Ms: Math.round(percentile(ms, 50)),
  p95Ms: Math.round(percentile(ms, 95)),
  p99Ms: Math.round(percentile(ms, 99)),
  maxMs: Math.round(ms[ms.length - 1]!),
});

async function latency(app: Pool, relayDb: Pool) {
  const kafkaCfg = loadConfigSection(['KAFKA_BROKERS', 'KAFKA_CLIENT_ID', 'KAFKA_SSL', 'KAFKA_SASL_MECHANISM', 'KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD']);
  const kafka = createKafka(kafkaCfg);
  const prefix = `bench.outbox.${randomUUID().slice(0, 8)}.`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: `${prefix}platform.events`, numPartitions: TOPICS['platform.events'].partitions }], waitForLeaders: true });
  const relay = new OutboxRelay({ pool: relayDb, kafka, log: createLogger({ level: 'warn', service: 'bench' }), topicPrefix: prefix });
  relay.start();
  try {
    const sparse: { eventId: string; committedAt: number }[] = [];
    const client = await app.connect();
    try {
      await latencies(relayDb, [await writeOne(client, 'warm-up')]);
      for (let i = 0; i < 40; i++) {
        await new Promise((r) => setTimeout(r, 100 + Math.random() * 400));
        sparse.push(await writeOne(client, 'sparse'));
      }
    } finally {
      client.release();
    }
    const idle = { ...summary(await latencies(relayDb, sparse)), note: 'one event every 100-500 ms' };
    const commits = await writeFlatOut(app, SECONDS);
    const loaded = { ...summary(await latencies(relayDb, commits)), writers: WRITERS, commitsPerSecond: Math.round(commits.length / SECONDS) };
    for (const [name, s] of Object.entries({ idle, loaded })) {
      console.log(`[bench:outbox] commit-to-publish, ${name === 'idle' ? idle.note : `${WRITERS} writers flat out (${loaded.commitsPerSecond} commits/s)`}: p50 ${s.p50Ms} ms, p95 ${s.p95Ms} ms, p99 ${s.p99Ms} ms, max ${s.maxMs} ms over ${s.events} events`);
    }
    return { idle, loaded };
  } finally {
    await relay.stop();
    await admin.deleteTopics({ topics: [`${prefix}platform.events`] }).catch(() => undefined);
    await admin.disconnect();
  }
}

async function main() {
  await freshDatabase();
  await migrateUp(url(LOCAL_DB.owner));
  const owner = new Pool({ connectionString: url(LOCAL_DB.owner), max: 1 });
  const app = new Pool({ connectionString: url(LOCAL_DB.app), max: WRITERS });
  const relayDb = new Pool({ connectionString: url(LOCAL_DB.relay), max: 3 });
  try {
    await withTenant(app, TENANT, (tx) => tx.query("INSERT INTO tenants (id, slug, name) VALUES ($1, 'bench-outbox', 'bench')", [TENANT]));
    const results = { throughput: await throughput(owner, app), latency: await latency(app, relayDb) };
    fs.mkdirSync('.stack', { recursive: true });
    fs.writeFileSync('.stack/bench-outbox.json', `${JSON.stringify(results, null, 2)}\n`);
    console.log('[bench:outbox] results in .stack/bench-outbox.json');
  } finally {
    await Promise.all([owner.end(), app.end(), relayDb.end()]);
  }
}

main().catch((err: unknown) => {
  console.error(`[bench:outbox] failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
