/**
 * `npm run fuzz` (scripts/fuzz.sh): a property-based fuzz run of the OpenAPI document with Schemathesis, against a
 * platform this script starts on a private database, Redis prefix, task queues and Kafka topics (as the tests get):
 * the API, with rate limits set not to be reached, and the Temporal workers of every queue. It registers an
 * organisation and runs Schemathesis twice, with a `client` API key of it and then as its admin (an access token),
 * each for FUZZ_SECONDS (default 150), generating requests from every operation's documented schemas (valid and
 * invalid ones) and checking each answer: no 5xx, a documented status code, a documented content type, a body that
 * matches the documented schema. Schemathesis prints each failure with a curl command that reproduces it. At the end
 * this script prints how many requests each operation received, by status class, counted by the server. Exits
 * non-zero when either run found a failure or the server answered any 5xx.
 *
 * FUZZ_URL=<base> fuzzes a platform that is already running (e.g. `npm start`) instead: nothing is started, the
 * requests are not counted per operation, and its rate limits must allow the run.
 * Usage: bash scripts/fuzz.sh (it creates the pinned Schemathesis environment and passes its `st` as argv[2]).
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { DefaultLogger, Runtime, type Worker } from '@temporalio/worker';
import { createApp } from '../api/app';
import { createApiDeps } from '../api/deps';
import { loadConfig } from '../platform/config';
import { createPool } from '../platform/db/pool';
import { createLogger } from '../platform/logger';
import { TASK_QUEUES, type TaskQueueName } from '../platform/temporal/client';
import globalSetup from '../test/support/global-setup';
import globalTeardown from '../test/support/global-teardown';
import { connectWorker, createWorkers, workerDeps } from '../workers/create-workers';
import { TASK_QUEUE_DEFINITIONS } from '../workers/task-queues';

const SECONDS = Number(process.env.FUZZ_SECONDS ?? 150);
const CHECKS = process.env.FUZZ_CHECKS ?? 'not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance';
const REPORTS = path.join(__dirname, '..', '.stack', 'fuzz');

type Counts = Map<string, { total: number; byClass: Record<string, number> }>;

/** Counts each answered request under the documented operation its path matches (`GET /api/payments/{id}`). */
function operationCounter(document: { paths: Record<string, Record<string, unknown>> }) {
  const operations = Object.keys(document.paths).map((p) => ({ template: p, regex: new RegExp(`^${p.replace(/\{[^}]+\}/g, '[^/]+')}$`) }));
  const counts: Counts = new Map();
  const serverErrors: string[] = [];
  const count = (method: string, url: string, status: number) => {
    const pathname = url.split('?')[0]!;
    const op = operations.find((o) => o.regex.test(pathname) && document.paths[o.template]![method.toLowerCase()]);
    const key = op ? `${method} ${op.template}` : `${method} (no such operation)`;
    const entry = counts.get(key) ?? { total: 0, byClass: {} };
    entry.total++;
    const cls = `${Math.floor(status / 100)}xx`;
    entry.byClass[cls] = (entry.byClass[cls] ?? 0) + 1;
    counts.set(key, entry);
    if (status >= 500) serverErrors.push(`${status} ${method} ${url.slice(0, 200)}`);
  };
  return { counts, serverErrors, count };
}

function runSchemathesis(st: string, name: string, url: string, credential: string, extra: string[]): Promise<number> {
  const args = [
    'run',
    `${url}/api/openapi.json`,
    '--url',
    url,
    '--header',
    `Authorization: Bearer ${credential}`,
    '--checks',
    CHECKS,
    '--max-time',
    String(SECONDS),
    '--workers',
    '2',
    '--request-timeout',
    '30',
    // Health checks about the generator, not the API: some schemas' patterns reject many generated values, and a
    // loaded machine is slow; without this a tripped check ends that phase with an error instead of testing on.
    '--suppress-health-check',
    'filter_too_much,too_slow',
    '--report',
    'junit',
    '--report-dir',
    path.join(REPORTS, name),
    ...extra,
  ];
  console.log(`\n[fuzz] ${name}: st ${args.filter((a) => !a.startsWith('Authorization')).join(' ')}`);
  const child = spawn(st, args, { stdio: 'inherit', env: { ...process.env, SCHEMATHESIS_HOOKS: '' } });
  return new Promise((resolve) => child.once('exit', (code) => resolve(code ?? 1)));
}

async function http_(url: string, method: string, body: unknown, token?: string) {
  const res = await fetch(url, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as Record<string, unknown>;
  if (!res.ok) throw new Error(`${method} ${url} answered ${res.status}: ${JSON.stringify(json).slice(0, 300)}`);
  return json;
}

async function main() {
  const st = process.argv[2];
  if (!st) throw new Error('usage: tsx scripts/fuzz.ts <path of schemathesis st>');
  fs.mkdirSync(REPORTS, { recursive: true });
  let base = process.env.FUZZ_URL;
  let stop = async () => undefined as void;
  let counter: ReturnType<typeof operationCounter> | undefined;

  if (!base) {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
    await globalSetup();
    const cfg = loadConfig({
      ...process.env,
      LOG_LEVEL: 'error',
      RATE_LIMIT_IP_PER_MINUTE: '1000000',
      RATE_LIMIT_TENANT_PER_MINUTE: '1000000',
      RATE_LIMIT_REGISTRATIONS_PER_HOUR: '1000000',
      AUTH_LOGIN_FREE_ATTEMPTS: '100',
      PAYMENT_SYNC_WAIT_MS: '0',
    });
    // 5xx causes go to stderr (the problem middleware logs them at error).
    const deps = createApiDeps(cfg, createLogger({ level: 'error', service: 'fuzz-api' }));
    const app = createApp(deps);
    const callback = app.callback();
    const counted: { by?: (method: string, url: string, status: number) => void } = {};
    const server = http.createServer((req, res) => {
      res.once('finish', () => counted.by?.(req.method ?? 'GET', req.url ?? '/', res.statusCode));
      void callback(req, res);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const db = createPool(cfg.DATABASE_URL, 5);
    const queues = (Object.keys(TASK_QUEUES) as TaskQueueName[]).filter((q) => TASK_QUEUE_DEFINITIONS[q]);
    const connection = await connectWorker(cfg);
    const wdeps = await workerDeps(cfg, db, queues);
    const workers: Worker[] = await createWorkers(cfg, connection, wdeps, queues);
    const running = Promise.all(workers.map((w) => w.run()));
    counter = operationCounter((await http_(`${base}/api/openapi.json`, 'GET', undefined)) as never);
    counted.by = counter.count;
    stop = async () => {
      for (const w of workers) w.shutdown();
      await running.catch(() => undefined);
      await wdeps.temporal?.connection.close();
      await connection.close();
      server.close();
      await deps.close();
      await db.end();
      await globalTeardown();
    };
  }

  let failed = false;
  try {
    const slug = `fuzz-${randomUUID().slice(0, 8)}`;
    const reg = await http_(`${base}/api/auth/register`, 'POST', {
      organisation: { name: 'Fuzz', slug, defaultCurrency: 'EUR' },
      admin: { email: `admin@${slug}.test`, password: 'correct horse battery staple', displayName: 'Fuzz admin' },
    });
    const token = (reg.tokens as { accessToken: string }).accessToken;
    const key = (await http_(`${base}/api/api-keys`, 'POST', { name: 'fuzz', role: 'client' }, token)).key as string;
    // The key first: the admin's run may revoke it (DELETE /api/api-keys/{id} is fuzzed too). The admin's own
    // session must outlive its run: logging it out would turn the rest into 401s.
    const asKey = await runSchemathesis(st, 'client-api-key', base, key, []);
    const asAdmin = await runSchemathesis(st, 'admin-token', base, token, ['--exclude-path', '/api/auth/logout']);
    failed = asAdmin !== 0 || asKey !== 0;
    console.log(`\n[fuzz] schemathesis: admin token ${asAdmin === 0 ? 'no failures' : `FAILED (exit ${asAdmin})`}, client API key ${asKey === 0 ? 'no failures' : `FAILED (exit ${asKey})`}; JUnit reports in ${path.relative(process.cwd(), REPORTS)}/`);
  } finally {
    if (counter) {
      const rows = [...counter.counts].sort(([a], [b]) => a.localeCompare(b));
      const total = rows.reduce((s, [, c]) => s + c.total, 0);
      console.log(`\n[fuzz] requests answered by the server: ${total}, over ${rows.length} operations`);
      for (const [op, c] of rows) {
        console.log(`  ${String(c.total).padStart(6)}  ${op.padEnd(58)} ${Object.entries(c.byClass).sort().map(([k, v]) => `${k} ${v}`).join(', ')}`);
      }
      if (counter.serverErrors.length > 0) {
        failed = true;
        console.log(`\n[fuzz] ${counter.serverErrors.length} answers were 5xx; first ones:\n  ${counter.serverErrors.slice(0, 20).join('\n  ')}`);
      }
      fs.writeFileSync(path.join(REPORTS, 'requests.json'), JSON.stringify({ total: rows.reduce((s, [, c]) => s + c.total, 0), operations: Object.fromEntries(rows), serverErrors: counter.serverErrors }, null, 2));
    }
    await stop();
  }
  process.exitCode = failed ? 1 : 0;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
