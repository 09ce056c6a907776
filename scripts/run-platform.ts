/**
 * `npm start`'s foreground process: runs the API, the workers and the outbox relay as separate processes (as they
 * are deployed), prints their logs as readable lines, restarts one that dies, and stops all on Ctrl-C.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { withLocalEnv } from './local-env';

// Started by scripts/start.sh from the repository root; compiled entries live beside this file under dist/.
const env = withLocalEnv(path.join(process.cwd(), '.stack', 'local.env'));
const distDir = path.resolve(__dirname, '..');

const PROCESSES = [
  { name: 'api', entry: 'api/server.js' },
  { name: 'worker', entry: 'workers/main.js' },
  { name: 'relay', entry: 'workers/relay.js' },
  { name: 'consumers', entry: 'workers/consumers.js' },
];

const children = new Map<string, ChildProcess>();
let stopping = false;

function pretty(name: string, line: string): string {
  try {
    const e = JSON.parse(line) as Record<string, unknown>;
    const { time, level, msg, service: _s, pid: _p, hostname: _h, ...rest } = e;
    const extra = Object.entries(rest)
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(' ');
    return `${String(time ?? '').slice(11, 19)} [${name}] ${String(level ?? '').padEnd(5)} ${String(msg ?? '')} ${extra}`.trimEnd();
  } catch {
    return `[${name}] ${line}`;
  }
}

function launch(name: string, entry: string, restarts: number[] = []) {
  const child = spawn(process.execPath, [path.join(distDir, entry)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.set(name, child);
  for (const stream of [child.stdout!, child.stderr!]) {
    readline.createInterface({ input: stream }).on('line', (line) => console.log(pretty(name, line)));
  }
  child.on('exit', (code, signal) => {
    children.delete(name);
    if (stopping) return;
    const recent = [...restarts.filter((t) => Date.now() - t < 60_000), Date.now()];
    if (recent.length > 5) {
      console.error(`[${name}] exited (${signal ?? code}) ${recent.length} times in a minute; stopping FinFlow`);
      void shutdown(1);
      return;
    }
    console.error(`[${name}] exited (${signal ?? code}); restarting`);
    setTimeout(() => launch(name, entry, recent), 1000);
  });
}

async function shutdown(code: number) {
  stopping = true;
  for (const child of children.values()) child.kill('SIGTERM');
  const deadline = Date.now() + 15_000;
  while (children.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  for (const child of children.values()) child.kill('SIGKILL');
  process.exit(code);
}

process.once('SIGINT', () => void shutdown(0));
process.once('SIGTERM', () => void shutdown(0));
for (const p of PROCESSES) launch(p.name, p.entry);
console.log(`FinFlow starting: API http://${env.API_HOST || '127.0.0.1'}:${env.API_PORT || '3000'} (GET /ready), Temporal UI http://127.0.0.1:8233. Ctrl-C stops.`);
