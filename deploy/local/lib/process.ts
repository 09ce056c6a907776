/**
 * Process plumbing for the local stack: run an install step, start a server detached with its log in the stack
 * folder, remember its pid so `down` stops only what the stack started, and wait for it to become healthy.
 */
import { spawn, type SpawnOptions } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export class StackError extends Error {
  constructor(
    readonly component: string,
    readonly step: string,
    message: string,
  ) {
    super(`[${component}] ${step} failed: ${message}`);
    this.name = 'StackError';
  }
}

export type Say = (line: string) => void;

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Printed every `progressEverySeconds` while the command runs, so a long first install is visibly alive. */
  progress?: { say: Say; label: string; everySeconds?: number };
  /** Where the command's output goes; on failure its tail is quoted in the error. */
  logFile: string;
}

/** Runs a command to completion. Throws with the tail of its output when it exits non-zero or cannot start. */
export async function run(component: string, step: string, cmd: string, args: string[], opts: RunOptions): Promise<void> {
  fs.mkdirSync(path.dirname(opts.logFile), { recursive: true });
  const out = fs.openSync(opts.logFile, 'a');
  fs.writeSync(out, `\n$ ${cmd} ${args.join(' ')}\n`);
  const started = Date.now();
  const ticker = opts.progress
    ? setInterval(() => {
        const s = Math.round((Date.now() - started) / 1000);
        opts.progress?.say(`${opts.progress.label} ... still working (${s}s)`);
      }, (opts.progress.everySeconds ?? 30) * 1000)
    : undefined;
  try {
    const code = await new Promise<number>((resolve, reject) => {
      const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', out, out] });
      child.on('error', reject);
      child.on('exit', (c, signal) => resolve(c ?? (signal ? 128 : 1)));
    });
    if (code !== 0) {
      throw new StackError(component, step, `\`${cmd}\` exited with ${code}; last lines of ${opts.logFile}:\n${tail(opts.logFile, 15)}`);
    }
  } catch (err) {
    if (err instanceof StackError) throw err;
    const e = err as NodeJS.ErrnoException;
    const hint = e.code === 'ENOENT' ? ` (\`${cmd}\` is not installed or not on PATH)` : '';
    throw new StackError(component, step, `${e.message}${hint}`);
  } finally {
    if (ticker) clearInterval(ticker);
    fs.closeSync(out);
  }
}

export function tail(file: string, lines: number): string {
  try {
    const text = fs.readFileSync(file, 'utf8');
    return text.split('\n').slice(-lines - 1).join('\n');
  } catch {
    return '(no log)';
  }
}

export interface DaemonSpec {
  cmd: string;
  args: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  logFile: string;
  pidFile: string;
  options?: Pick<SpawnOptions, 'uid' | 'gid'>;
}

/** Starts a long-running server detached from this process; its stdout and stderr go to its log file. */
export function startDaemon(component: string, spec: DaemonSpec): number {
  fs.mkdirSync(path.dirname(spec.logFile), { recursive: true });
  const out = fs.openSync(spec.logFile, 'a');
  fs.writeSync(out, `\n--- ${new Date().toISOString()} starting: ${spec.cmd} ${spec.args.join(' ')}\n`);
  const child = spawn(spec.cmd, spec.args, {
    cwd: spec.cwd,
    env: spec.env ?? process.env,
    stdio: ['ignore', out, out],
    detached: true,
    ...spec.options,
  });
  fs.closeSync(out);
  if (child.pid === undefined) throw new StackError(component, 'start', `could not spawn ${spec.cmd}`);
  child.unref();
  fs.mkdirSync(path.dirname(spec.pidFile), { recursive: true });
  fs.writeFileSync(spec.pidFile, `${child.pid}\n${path.basename(spec.cmd)}\n`);
  return child.pid;
}

/** The pid in a pid file, if that process is alive and still runs the program the file names. */
export function livePid(pidFile: string): number | undefined {
  let text: string;
  try {
    text = fs.readFileSync(pidFile, 'utf8');
  } catch {
    return undefined;
  }
  const [pidLine, program] = text.split('\n');
  const pid = Number(pidLine);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    // A recycled pid running something else is not ours.
    if (program && !cmdline.includes(program)) return undefined;
    return pid;
  } catch {
    return undefined;
  }
}

export async function stopDaemon(pidFile: string, signal: NodeJS.Signals, graceSeconds = 30): Promise<boolean> {
  const pid = livePid(pidFile);
  if (pid === undefined) {
    fs.rmSync(pidFile, { force: true });
    return false;
  }
  try {
    process.kill(-pid, signal); // the whole process group: wrappers and their children
  } catch {
    process.kill(pid, signal);
  }
  const deadline = Date.now() + graceSeconds * 1000;
  while (Date.now() < deadline && isAlive(pid)) await sleep(200);
  if (isAlive(pid)) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  fs.rmSync(pidFile, { force: true });
  return true;
}

/** The pid a pid file names, if that process is alive, whatever it runs (it may not have exec'd yet). */
export function startedPid(pidFile: string): number | undefined {
  const pid = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]);
  return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie still answers kill(0); its /proc state says Z.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** True when something accepts TCP connections on 127.0.0.1:port. */
export function portOpen(port: number, host = '127.0.0.1', timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Polls `check` until it resolves, or throws naming the component once `timeoutSeconds` pass. */
export async function waitUntilHealthy(
  component: string,
  check: () => Promise<void>,
  opts: { timeoutSeconds: number; logFile: string; isRunning?: () => boolean },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutSeconds * 1000;
  let last: unknown;
  while (Date.now() < deadline) {
    if (opts.isRunning && !opts.isRunning()) {
      throw new StackError(component, 'start', `the server exited; last lines of ${opts.logFile}:\n${tail(opts.logFile, 20)}`);
    }
    try {
      await check();
      return;
    } catch (err) {
      last = err;
    }
    await sleep(500);
  }
  const reason = last instanceof Error ? last.message : String(last);
  throw new StackError(
    component,
    'health check',
    `not healthy after ${opts.timeoutSeconds}s (${reason}); last lines of ${opts.logFile}:\n${tail(opts.logFile, 20)}`,
  );
}

export async function withTimeout<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms}ms`)), ms);
      }),
    ]);
  } finally {
    if (timer) clearTimeout(timer);
  }
}
