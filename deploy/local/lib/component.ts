import fs from 'node:fs';
import path from 'node:path';
import { run, type Say } from './process';

export interface StackContext {
  repoDir: string;
  /** Data, logs and pid files of this clone's servers (ignored by git). */
  stateDir: string;
  /** Pinned builds and downloads, shared by every clone on the machine. */
  cacheDir: string;
}

/** One server (or tool) of the local stack. */
export interface Component {
  name: string;
  /** The port whose answer decides whether the server is up; absent for a tool that tests launch themselves. */
  port?: number;
  /** What listens there, for `status` and the README. */
  endpoint?: string;
  /** Installs the pinned version into the cache, or returns at once when it is there. */
  install(ctx: StackContext, say: Say): Promise<void>;
  /** Starts the server detached (stack/process.ts startDaemon). */
  start?(ctx: StackContext, say: Say): Promise<void>;
  /** A real round trip in the server's own protocol; throws when the answer is wrong or missing. */
  health?(ctx: StackContext): Promise<void>;
  /** Started far enough for `configure` (before it, `health` may need roles that do not exist yet). Default: health. */
  ready?(ctx: StackContext): Promise<void>;
  /** Idempotent setup once ready: roles, databases, topics, search attributes. */
  configure?(ctx: StackContext, say: Say): Promise<void>;
  startTimeoutSeconds?: number;
  stopSignal?: NodeJS.Signals;
}

export const logFile = (ctx: StackContext, name: string) => path.join(ctx.stateDir, 'logs', `${name}.log`);
export const pidFile = (ctx: StackContext, name: string) => path.join(ctx.stateDir, 'run', `${name}.pid`);
export const dataDir = (ctx: StackContext, name: string) => path.join(ctx.stateDir, 'data', name);

/**
 * Installs into `target` through a temporary sibling, renamed into place only when `build` succeeded, so an
 * interrupted first install never leaves a half-built cache entry that later runs would trust.
 */
export async function installOnce(target: string, build: (tmp: string) => Promise<void>): Promise<boolean> {
  if (fs.existsSync(target)) return false;
  const tmp = `${target}.partial-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  try {
    await build(tmp);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.renameSync(tmp, target);
    return true;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** `go install module@version` into a cache folder. */
export async function goInstall(ctx: StackContext, component: string, pkg: string, dir: string, say: Say, expectMinutes: string) {
  const built = await installOnce(dir, async (tmp) => {
    say(`installing ${pkg} with go install (first run only, ${expectMinutes})`);
    await run(component, 'install', 'go', ['install', pkg], {
      cwd: tmp,
      env: { ...process.env, GOBIN: tmp, GOFLAGS: '-buildvcs=false' },
      logFile: logFile(ctx, `${component}-install`),
      progress: { say, label: `building ${pkg}` },
    });
  });
  if (built) say(`installed ${pkg}`);
}

/** Copies the runtime jars a small pom declares from Maven Central into a cache folder. */
export async function mavenJars(ctx: StackContext, component: string, pom: string, dir: string, say: Say) {
  const built = await installOnce(dir, async (tmp) => {
    say(`fetching jars from Maven Central (${path.basename(pom)})`);
    await run(
      component,
      'install',
      'mvn',
      ['-q', '-B', '-f', pom, 'dependency:copy-dependencies', `-DoutputDirectory=${path.join(tmp, 'libs')}`, '-Dmdep.includeScope=runtime'],
      { logFile: logFile(ctx, `${component}-install`), progress: { say, label: 'maven' } },
    );
  });
  if (built) say(`jars cached in ${dir}`);
}
