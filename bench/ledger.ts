/**
 * npm run bench:ledger — FinFlow's `ledger_post` against pgledger's transfer function (github pgr0ss/pgledger,
 * pinned v0.7.0, installed into a scratch database, never committed), on the same PostgreSQL in the same run.
 *
 * Shape (the same for both): one balanced two-posting transfer per transaction (one statement, autocommit), a random
 * pair of accounts, 20 clients; `uniform` draws from 50 accounts, `hot` from 10. The two systems alternate in short
 * rounds so drift in the machine's load hits both alike; the report gives transfers/s per system and the ratio
 * FinFlow / pgledger. Then the trial balance (balances per account and currency) at 100k and 1M postings.
 *
 * pgledger's SQL comes from PGLEDGER_DIR (a checkout of the v0.7.0 tag: pgledger.sql and vendor/scoville-pgsql-ulid),
 * else from the cache, else from the v0.7.0 release archive; pgledger.sql must have the pinned sha256.
 * BENCH_LEDGER_SECONDS (per round, default 10), BENCH_LEDGER_ROUNDS (default 3), BENCH_LEDGER_1M=0 skips the 1M step.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Pool } from 'pg';
import { LOCAL_DB, LOCAL_STACK_PORTS } from '../platform/config/local-stack';
import { migrateUp } from '../platform/db/migrate';

const PGLEDGER_TAG = 'v0.7.0';
const PGLEDGER_SQL_SHA256 = '77b33dbe21c00f3ea8d73e3948d2046bacf7c7d9800e4fdd1e4fdd33bb84467e';
const PGLEDGER_ARCHIVE = `https://github.com/pgr0ss/pgledger/archive/refs/tags/${PGLEDGER_TAG}.tar.gz`;
const CLIENTS = 20;
const SECONDS = Number(process.env.BENCH_LEDGER_SECONDS ?? 10);
const ROUNDS = Number(process.env.BENCH_LEDGER_ROUNDS ?? 3);

const url = (role: { user: string; password: string }, db: string) => `postgres://${role.user}:${role.password}@127.0.0.1:${LOCAL_STACK_PORTS.postgres}/${db}`;
/** Scratch databases of this clone: two clones benchmarking on one stack never drop each other's. */
const CLONE = createHash('sha256').update(process.cwd()).digest('hex').slice(0, 8);
const FINFLOW_DB = `bench_finflow_${CLONE}`;
const PGLEDGER_DB = `bench_pgledger_${CLONE}`;
const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/** The directory holding pgledger.sql and its vendored ULID functions, verified against the pinned checksum. */
function pgledgerSource(): string {
  const cache = path.join(process.env.FINFLOW_CACHE_DIR ?? path.join(os.homedir(), '.cache/finflow'), 'pgledger', PGLEDGER_TAG);
  const candidates = [process.env.PGLEDGER_DIR, cache].filter((d): d is string => !!d);
  for (const dir of candidates) {
    const sql = path.join(dir, 'pgledger.sql');
    if (!fs.existsSync(sql)) continue;
    if (sha256(sql) !== PGLEDGER_SQL_SHA256) throw new Error(`${sql} is not pgledger ${PGLEDGER_TAG} (sha256 ${sha256(sql)}, expected ${PGLEDGER_SQL_SHA256})`);
    return dir;
  }
  try {
    fs.mkdirSync(cache, { recursive: true });
    execFileSync('bash', ['-c', `curl -fsSL --max-time 60 "$0" | tar -xz --strip-components=1 -C "$1"`, PGLEDGER_ARCHIVE, cache], { stdio: 'pipe' });
  } catch {
    fs.rmSync(cache, { recursive: true, force: true });
    throw new Error(`pgledger ${PGLEDGER_TAG} is not available: set PGLEDGER_DIR to a checkout of its ${PGLEDGER_TAG} tag (${PGLEDGER_ARCHIVE} could not be downloaded here)`);
  }
  return pgledgerSource();
}

async function freshDatabase(name: string): Promise<void> {
  const admin = new Client({ connectionString: url(LOCAL_DB.owner, LOCAL_DB.database) });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
}

interface System {
  name: string;
  pool: Pool;
  /** Sends one transfer between two of the accounts (by index). */
  transfer(client: import('pg').PoolClient, from: number, to: number, amount: number): Promise<void>;
}

async function setUpPgledger(accounts: number): Promise<System & { accountIds: string[] }> {
  const dir = pgledgerSource();
  await freshDatabase(PGLEDGER_DB);
  const pool = new Pool({ connectionString: url(LOCAL_DB.owner, PGLEDGER_DB), max: CLIENTS });
  await pool.query(fs.readFileSync(path.join(dir, 'vendor/scoville-pgsql-ulid/uuid-to-ulid.sql'), 'utf8'));
  await pool.query(fs.readFileSync(path.join(dir, 'pgledger.sql'), 'utf8'));
  const accountIds: string[] = [];
  for (let i = 0; i < accounts; i++) {
    const { rows } = await pool.query<{ id: string }>("SELECT id FROM pgledger_create_account($1, 'USD', true, true)", [`acct${i}`]);
    accountIds.push(rows[0]!.id);
  }
  return {
    name: 'pgledger',
    pool,
    accountIds,
    transfer: async (c, from, to, amount) => {
      await c.query('SELECT id FROM pgledger_create_transfer($1, $2, $3)', [accountIds[from], accountIds[to], amount]);
    },
  };
}

const TENANT = '0b0b0b0b-0000-4000-8000-000000000001';

async function setUpFinflow(accounts: number): Promise<System & { accountIds: string[] }> {
  await freshDatabase(FINFLOW_DB);
  await migrateUp(url(LOCAL_DB.owner, FINFLOW_DB));
  const pool = new Pool({ connectionString: url(LOCAL_DB.app, FINFLOW_DB), max: CLIENTS });
  const accountIds: string[] = [];
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    await c.query("SELECT set_config('finflow.tenant_id', $1, true)", [TENANT]);
    await c.query("INSERT INTO tenants (id, slug, name) VALUES ($1, 'bench', 'bench')", [TENANT]);
    await c.query('SELECT create_default_chart($1)', [TENANT]);
    for (let i = 0; i < accounts; i++) {
      const { rows } = await c.query<{ id: string }>("INSERT INTO ledger_accounts (tenant_id, code, name, type, subtype) VALUES ($1, $2, $3, 'asset', 'current_asset') RETURNING id", [TENANT, `1500-B${i}`, `bench ${i}`]);
      accountIds.push(rows[0]!.id);
    }
    await c.query('COMMIT');
  } finally {
    c.release();
  }
  // One statement per transfer, like pgledger's: the tenant scope and the post in one autocommit round trip.
  const sql = "WITH scope AS MATERIALIZED (SELECT set_config('finflow.tenant_id', $1, true)) SELECT ledger_post($2::jsonb) FROM scope";
  return {
    name: 'finflow',
    pool,
    accountIds,
    transfer: async (client, from, to, amount) => {
      const entry = {
        id: randomUUID(),
        effectiveAt: new Date().toISOString(),
        description: 'transfer',
        source: { type: 'bench', id: 't' },
        postings: [
          { accountId: accountIds[to], currency: 'USD', amountMinor: amount },
          { accountId: accountIds[from], currency: 'USD', amountMinor: -amount },
        ],
      };
      await client.query(sql, [TENANT, JSON.stringify(entry)]);
    },
  };
}

/** CPU seconds (user + system) the given server processes have used so far, from /proc (Linux). */
function cpuSeconds(pids: number[]): number {
  const tick = 100; // USER_HZ on Linux
  let total = 0;
  for (const pid of pids) {
    try {
      const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      total += (Number(fields[11]) + Number(fields[12])) / tick;
    } catch {
      // the backend is gone
    }
  }
  return total;
}

/**
 * Transfers completed by CLIENTS clients in `seconds`, each on its own connection; also the server CPU the
 * transfers cost (their backends' CPU time from /proc), which other load on the machine does not inflate.
 */
async function run(system: System, accounts: number, seconds: number): Promise<{ perSecond: number; serverCpuMsPerTransfer: number }> {
  const deadline = Date.now() + seconds * 1000;
  let done = 0;
  const clients = await Promise.all(Array.from({ length: CLIENTS }, () => system.pool.connect()));
  const pids = await Promise.all(clients.map(async (c) => (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid));
  clients.forEach((c) => c.release());
  const cpu0 = cpuSeconds(pids);
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      const client = await system.pool.connect();
      try {
        while (Date.now() < deadline) {
          const from = Math.floor(Math.random() * accounts);
          let to = Math.floor(Math.random() * (accounts - 1));
          if (to >= from) to++;
          await system.transfer(client, from, to, 1 + Math.floor(Math.random() * 10_000));
          done++;
        }
      } finally {
        client.release();
      }
    }),
  );
  return { perSecond: done / seconds, serverCpuMsPerTransfer: ((cpuSeconds(pids) - cpu0) * 1000) / Math.max(done, 1) };
}

async function compare(label: string, accounts: number) {
  const finflow = await setUpFinflow(accounts);
  const pgledger = await setUpPgledger(accounts);
  await run(finflow, accounts, 2); // warm-up
  await run(pgledger, accounts, 2);
  const rates: Record<string, number[]> = { finflow: [], pgledger: [] };
  const cpu: Record<string, number[]> = { finflow: [], pgledger: [] };
  for (let r = 0; r < ROUNDS; r++) {
    for (const s of r % 2 ? [pgledger, finflow] : [finflow, pgledger]) {
      const result = await run(s, accounts, SECONDS);
      rates[s.name]!.push(result.perSecond);
      cpu[s.name]!.push(result.serverCpuMsPerTransfer);
    }
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const ratios = rates.finflow!.map((f, i) => f / rates.pgledger![i]!);
  const line = {
    variant: label,
    accounts,
    clients: CLIENTS,
    finflowPerSecond: Math.round(mean(rates.finflow!)),
    pgledgerPerSecond: Math.round(mean(rates.pgledger!)),
    ratio: Number((mean(rates.finflow!) / mean(rates.pgledger!)).toFixed(2)),
    ratioPerRound: ratios.map((x) => Number(x.toFixed(2))),
    serverCpuMsPerTransfer: { finflow: Number(mean(cpu.finflow!).toFixed(3)), pgledger: Number(mean(cpu.pgledger!).toFixed(3)) },
  };
  console.log(
    `[bench:ledger] ${label}: finflow ${line.finflowPerSecond}/s, pgledger ${line.pgledgerPerSecond}/s, ratio ${line.ratio} (rounds ${line.ratioPerRound.join(', ')}); ` +
      `server CPU per transfer ${line.serverCpuMsPerTransfer.finflow} ms vs ${line.serverCpuMsPerTransfer.pgledger} ms`,
  );
  await finflow.pool.end();
  await pgledger.pool.end();
  return line;
}

/** Trial balance (balances per account and currency, as reports compute them) at a given number of postings. */
async function trialBalance(postings: number) {
  const pool = new Pool({ connectionString: url(LOCAL_DB.app, FINFLOW_DB), max: 2 });
  // Row-level security reads the tenant when a statement starts: scope first, then query, in one transaction.
  const inTenant = async <T extends import('pg').QueryResultRow>(sql: string): Promise<T[]> => {
    const c = await pool.connect();
    try {
      await c.query('BEGIN');
      await c.query("SELECT set_config('finflow.tenant_id', $1, true)", [TENANT]);
      const { rows } = await c.query<T>(sql);
      await c.query('COMMIT');
      return rows;
    } finally {
      c.release();
    }
  };
  const [count] = await inTenant<{ n: string }>('SELECT count(*)::text AS n FROM postings');
  const missing = Math.max(0, postings - Number(count!.n));
  if (missing > 0) {
    // Server-side, through ledger_post itself (two postings an entry), in batches of 10k entries.
    for (let left = Math.ceil(missing / 2); left > 0; left -= 10_000) {
      await pool.query(
        `DO $$ DECLARE a uuid[]; BEGIN
           PERFORM set_config('finflow.tenant_id', '${TENANT}', true);
           SELECT array_agg(id) INTO a FROM ledger_accounts WHERE code LIKE '1500-B%';
           FOR i IN 1..${Math.min(left, 10_000)} LOOP
             PERFORM ledger_post(jsonb_build_object('id', gen_random_uuid(), 'effectiveAt', now() - (random() * interval '300 days'),
               'description', 'load', 'source', jsonb_build_object('type', 'bench', 'id', 'load'),
               'postings', jsonb_build_array(jsonb_build_object('accountId', a[1 + (i % cardinality(a))], 'currency', 'USD', 'amountMinor', 100),
                                             jsonb_build_object('accountId', a[1 + ((i + 1) % cardinality(a))], 'currency', 'USD', 'amountMinor', -100))));
           END LOOP; END $$`,
      );
    }
  }
  await pool.query('VACUUM ANALYZE postings').catch(() => undefined);
  const sql = `SELECT a.id, a.code, p.currency, sum(p.amount_minor)::text FROM postings p JOIN ledger_accounts a ON a.id = p.account_id
     WHERE p.accounting_date <= current_date GROUP BY a.id, a.code, p.currency`;
  const times: number[] = [];
  let accounts = 0;
  for (let i = 0; i < 5; i++) {
    const t0 = process.hrtime.bigint();
    accounts = (await inTenant(sql)).length;
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  if (accounts === 0) throw new Error('the trial balance read no postings');
  await pool.end();
  times.sort((a, b) => a - b);
  const line = { postings: Math.max(postings, Number(count!.n)), trialBalanceMsMedian: Number(times[2]!.toFixed(1)) };
  console.log(`[bench:ledger] trial balance at ${line.postings} postings: median ${line.trialBalanceMsMedian} ms of 5`);
  return line;
}

async function main() {
  const results = { uniform: await compare('uniform', 50), hot: await compare('hot', 10), trialBalance: [] as unknown[] };
  // The last compare left bench_finflow with the hot accounts; the trial balance runs over it.
  results.trialBalance.push(await trialBalance(100_000));
  if (process.env.BENCH_LEDGER_1M !== '0') results.trialBalance.push(await trialBalance(1_000_000));
  fs.mkdirSync('.stack', { recursive: true });
  fs.writeFileSync('.stack/bench-ledger.json', `${JSON.stringify(results, null, 2)}\n`);
  console.log('[bench:ledger] results in .stack/bench-ledger.json');
}

main().catch((err: unknown) => {
  console.error(`[bench:ledger] failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
