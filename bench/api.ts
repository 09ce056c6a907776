/**
 * npm run bench:api — what authentication and the request checks cost: authenticated `GET /api/me` on the real
 * API app (an access token; the per-IP and per-tenant rate limits on, set high enough not to be reached) next to a
 * bare Koa app that does one Redis INCR and one PostgreSQL query per request. Same machine, same run, same client
 * (autocannon, 50 connections), each server in its own process. The rounds run bare, API, API, bare (so drift from
 * other load on the machine falls on both), after a warm-up of each; it prints req/s, p50 and p99 of both and the
 * ratio of their mean req/s. BENCH_API_SECONDS=<s> sets one round's length (default 10). Any answer other than 200
 * fails the run. BENCH_API_CPU_PROF=<dir> writes each server's V8 CPU profile there. Uses a private database and Redis
 * prefix, like the tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import autocannon from 'autocannon';
import globalSetup from '../test/support/global-setup';
import globalTeardown from '../test/support/global-teardown';

const SECONDS = Number(process.env.BENCH_API_SECONDS ?? 10);
const CONNECTIONS = 50;
const WARMUP_SECONDS = 3;

class BenchError extends Error {}

/** Starts bench/api-server.ts in `mode` and resolves with its process and port once it listens. */
function startServer(mode: 'finflow' | 'bare'): Promise<{ child: ChildProcess; port: number }> {
  // BENCH_API_CPU_PROF=<dir>: each server writes a V8 CPU profile there when it stops (open it in Chrome DevTools).
  const profile = process.env.BENCH_API_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(process.env.BENCH_API_CPU_PROF)] : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', path.join(__dirname, 'api-server.ts'), mode], {
    env: { ...process.env, RATE_LIMIT_IP_PER_MINUTE: '1000000', RATE_LIMIT_TENANT_PER_MINUTE: '1000000' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new BenchError(`the ${mode} server exited (${code}) before listening`)));
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = /^listening (\d+)$/.exec(line);
      if (m) resolve({ child, port: Number(m[1]) });
      else console.log(`[${mode}] ${line}`);
    });
  });
}

async function load(url: string, duration: number, headers: Record<string, string> = {}) {
  const r = await autocannon({ url, connections: CONNECTIONS, duration, headers });
  const total = r.requests.total;
  if (r.non2xx > 0 || r.errors > 0 || r.timeouts > 0) {
    throw new BenchError(`${url}: ${r.non2xx} non-2xx answers (${JSON.stringify(r.statusCodeStats)}), ${r.errors} errors, ${r.timeouts} timeouts of ${total}`);
  }
  return { reqPerSec: total / r.duration, p50: r.latency.p50, p99: r.latency.p99 };
}

type Round = Awaited<ReturnType<typeof load>>;
const summary = (rounds: Round[]) => ({
  reqPerSec: +(rounds.reduce((s, r) => s + r.reqPerSec, 0) / rounds.length).toFixed(0),
  p50: +(rounds.reduce((s, r) => s + r.p50, 0) / rounds.length).toFixed(1),
  p99: +(rounds.reduce((s, r) => s + r.p99, 0) / rounds.length).toFixed(1),
});

async function main() {
  await globalSetup();
  const servers: ChildProcess[] = [];
  try {
    const api = await startServer('finflow');
    servers.push(api.child);
    const bare = await startServer('bare');
    servers.push(bare.child);
    const apiUrl = `http://127.0.0.1:${api.port}`;
    const bareUrl = `http://127.0.0.1:${bare.port}/`;

    const slug = `bench-${Date.now().toString(36)}`;
    const res = await fetch(`${apiUrl}/api/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ organisation: { name: 'Bench', slug }, admin: { email: `a@${slug}.test`, password: 'correct horse battery staple', displayName: 'B' } }),
    });
    if (res.status !== 201) throw new BenchError(`register answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
    const token = ((await res.json()) as { tokens: { accessToken: string } }).tokens.accessToken;
    const meUrl = `${apiUrl}/api/me`;
    const auth = { authorization: `Bearer ${token}` };

    await load(bareUrl, WARMUP_SECONDS);
    await load(meUrl, WARMUP_SECONDS, auth);
    const bareRounds: Round[] = [];
    const apiRounds: Round[] = [];
    bareRounds.push(await load(bareUrl, SECONDS));
    apiRounds.push(await load(meUrl, SECONDS, auth));
    apiRounds.push(await load(meUrl, SECONDS, auth));
    bareRounds.push(await load(bareUrl, SECONDS));

    const result = {
      connections: CONNECTIONS,
      secondsPerRound: SECONDS,
      bare: summary(bareRounds),
      me: summary(apiRounds),
      ratio: 0,
      rounds: { bare: bareRounds.map((r) => Math.round(r.reqPerSec)), me: apiRounds.map((r) => Math.round(r.reqPerSec)) },
    };
    result.ratio = +(result.me.reqPerSec / result.bare.reqPerSec).toFixed(3);
    console.log(`\nbench:api (same machine, same run, autocannon, ${CONNECTIONS} connections, 2 rounds of ${SECONDS} s each)`);
    console.log(`  bare Koa, 1 Redis INCR + 1 SQL query : ${result.bare.reqPerSec} req/s  p50 ${result.bare.p50} ms  p99 ${result.bare.p99} ms  (rounds ${result.rounds.bare.join(', ')})`);
    console.log(`  GET /api/me, access token           : ${result.me.reqPerSec} req/s  p50 ${result.me.p50} ms  p99 ${result.me.p99} ms  (rounds ${result.rounds.me.join(', ')})`);
    console.log(`  ratio (/api/me / bare)              : ${result.ratio}`);
    fs.mkdirSync(path.join(__dirname, '..', '.stack'), { recursive: true });
    fs.writeFileSync(path.join(__dirname, '..', '.stack', 'bench-api.json'), JSON.stringify(result, null, 2));
  } finally {
    for (const child of servers) child.kill('SIGTERM');
    await Promise.all(servers.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
    await globalTeardown();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof BenchError ? `bench:api stopped: ${err.message}` : err);
  process.exit(1);
});
