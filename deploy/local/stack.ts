/**
 * The local stack: every server FinFlow talks to, installed (pinned, cached outside the repo) and started as a
 * real server on loopback, with data, logs and pid files under `.stack/`.
 *
 *   npm run stack -- up [component...]      install what is missing, start what is down, reuse what is healthy
 *   npm run stack -- status                 each component: who runs it and whether it answers its protocol
 *   npm run stack -- down [component...]    stop what this stack started (never a server it found running)
 *   npm run stack -- logs [component] [-f]  the last lines of each log, or follow one
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { localStackCacheDir } from '../../platform/config/local-stack';
import { logFile, pidFile, type Component, type StackContext } from './lib/component';
import { livePid, portOpen, sleep, StackError, startedPid, stopDaemon, waitUntilHealthy } from './lib/process';
import { ensureLocalSecrets } from './lib/secrets';
import { chromium } from './components/chromium';
import { ferretdb } from './components/ferretdb';
import { kafka } from './components/kafka';
import { postgres } from './components/postgres';
import { redis } from './components/redis';
import { stripeMock } from './components/stripe-mock';
import { temporalServer } from './components/temporal';
import { temporalTestServer } from './components/temporal-test-server';

const COMPONENTS: Component[] = [temporalServer, temporalTestServer, postgres, redis, kafka, ferretdb, stripeMock, chromium];

const repoDir = path.resolve(__dirname, '..', '..');
const ctx: StackContext = {
  repoDir,
  stateDir: process.env.FINFLOW_STACK_DIR ?? path.join(repoDir, '.stack'),
  cacheDir: localStackCacheDir(),
};

const sayer = (name: string) => (line: string) => console.log(`[${name}] ${line}`);

function select(names: string[]): Component[] {
  if (names.length === 0) return COMPONENTS;
  return names.map((n) => {
    const c = COMPONENTS.find((x) => x.name === n);
    if (!c) throw new StackError(n, 'select', `unknown component; known: ${COMPONENTS.map((x) => x.name).join(', ')}`);
    return c;
  });
}

async function healthy(c: Component): Promise<string | undefined> {
  try {
    await c.health?.(ctx);
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

async function up(c: Component): Promise<void> {
  const say = sayer(c.name);
  const t0 = Date.now();
  await c.install(ctx, say);
  if (c.port === undefined) {
    say('installed');
    return;
  }
  const log = logFile(ctx, c.name);
  const ours = livePid(pidFile(ctx, c.name));
  if (ours === undefined && (await portOpen(c.port))) {
    // Something answers on the port: reuse it if it speaks the right protocol (it may still be starting).
    let problem = await healthy(c);
    for (let i = 0; problem && i < 20; i++) {
      await sleep(1000);
      problem = await healthy(c);
    }
    if (problem) {
      throw new StackError(c.name, 'start', `port ${c.port} is taken by something that is not a healthy ${c.name} (${problem})`);
    }
    await c.configure?.(ctx, say);
    say(`reusing the server already answering on :${c.port}`);
    return;
  }
  if (ours === undefined) {
    say(`starting on :${c.port}`);
    await c.start?.(ctx, say);
  }
  // Right after spawn the child may not have exec'd its program yet: liveness by pid, not by command line.
  const isRunning = () => startedPid(pidFile(ctx, c.name)) !== undefined;
  const timeoutSeconds = c.startTimeoutSeconds ?? 60;
  await waitUntilHealthy(c.name, () => (c.ready ?? c.health)!.call(c, ctx), { timeoutSeconds, logFile: log, isRunning });
  await c.configure?.(ctx, say);
  await waitUntilHealthy(c.name, () => c.health!(ctx), { timeoutSeconds, logFile: log, isRunning });
  const pid = livePid(pidFile(ctx, c.name));
  say(ours === undefined ? `up in ${((Date.now() - t0) / 1000).toFixed(1)}s (pid ${pid})` : `already running (pid ${pid})`);
}

async function status(c: Component): Promise<boolean> {
  if (c.port === undefined) {
    console.log(`${c.name.padEnd(22)} tool        (started by the tests)`);
    return true;
  }
  const pid = livePid(pidFile(ctx, c.name));
  const open = await portOpen(c.port);
  const problem = open ? await healthy(c) : 'nothing listens';
  const who = pid ? `pid ${pid}` : open ? 'external' : '-';
  const state = problem ? `DOWN (${problem.split('\n')[0]})` : 'healthy';
  console.log(`${c.name.padEnd(22)} ${who.padEnd(11)} ${state.padEnd(9)} ${c.endpoint ?? ''}`);
  return !problem;
}

async function down(c: Component): Promise<void> {
  if (c.port === undefined) return;
  const stopped = await stopDaemon(pidFile(ctx, c.name), c.stopSignal ?? 'SIGTERM');
  const open = await portOpen(c.port);
  if (stopped) console.log(`[${c.name}] stopped`);
  else if (open) console.log(`[${c.name}] left running: this stack did not start the server on :${c.port}`);
  else console.log(`[${c.name}] not running`);
}

function logs(args: string[]): void {
  const follow = args.includes('-f') || args.includes('--follow');
  const chosen = select(args.filter((a) => !a.startsWith('-'))).filter((c) => c.port !== undefined);
  const files = chosen.map((c) => logFile(ctx, c.name)).filter((f) => fs.existsSync(f));
  if (files.length === 0) {
    console.log(`no logs yet under ${path.join(ctx.stateDir, 'logs')}`);
    return;
  }
  spawn('tail', [follow ? '-F' : '-n40', ...files], { stdio: 'inherit' });
}

async function main(): Promise<number> {
  const [command, ...args] = process.argv.slice(2);
  fs.mkdirSync(ctx.stateDir, { recursive: true });
  switch (command) {
    case 'up': {
      const t0 = Date.now();
      ensureLocalSecrets(ctx.stateDir);
      const results = await Promise.allSettled(select(args).map(up));
      const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      for (const f of failed) console.error(f.reason instanceof Error ? f.reason.message : String(f.reason));
      if (failed.length) return 1;
      console.log(`stack up in ${((Date.now() - t0) / 1000).toFixed(1)}s; logs in ${path.join(ctx.stateDir, 'logs')}`);
      return 0;
    }
    case 'status': {
      const ok = [];
      for (const c of select(args)) ok.push(await status(c));
      return ok.every(Boolean) ? 0 : 1;
    }
    case 'down':
      for (const c of select(args).reverse()) await down(c);
      return 0;
    case 'logs':
      logs(args);
      return 0;
    default:
      console.error('usage: npm run stack -- up|down|status|logs [component...]');
      console.error(`components: ${COMPONENTS.map((c) => c.name).join(', ')}`);
      return 2;
  }
}

main().then(
  (code) => {
    if (process.argv[2] !== 'logs') process.exit(code);
  },
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
