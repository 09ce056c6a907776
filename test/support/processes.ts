/**
 * Runs one of FinFlow's process entry points (workers/main.ts, workers/relay.ts...) as a real child process, and
 * restarts it whenever it dies, as an orchestrator would. Crash tests count the restarts and read which failpoint
 * (platform/failpoints.ts) cut each life short.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(__dirname, '..', '..');

export interface FailpointKill {
  failpoint: string;
  pass: number;
  detail?: string;
}

export interface Supervised {
  restarts: number;
  deaths: string[];
  /** The lines `failpoint <name> pass <n> [<detail>]: SIGKILL` the child wrote before dying, parsed. */
  failpointKills: FailpointKill[];
  /** The last lines the child (any of its lives) wrote to stdout or stderr, for a failing test to show. */
  output: string[];
  stop(): Promise<void>;
}

export function supervise(entry: string, env: NodeJS.ProcessEnv): Supervised {
  let child: ChildProcess | undefined;
  let stopping = false;
  const state: Supervised = {
    restarts: 0,
    deaths: [],
    failpointKills: [],
    output: [],
    async stop() {
      stopping = true;
      if (child && child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child!.once('exit', r));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child?.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
  const launch = () => {
    if (stopping) return; // stopped during the restart delay
    // `node --import tsx` (not the tsx CLI, which wraps a second process): the child is the service itself, so
    // its SIGKILL is seen here and our SIGTERM reaches it.
    child = spawn(process.execPath, ['--import', 'tsx', path.join(root, entry)], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    for (const stream of [child.stdout!, child.stderr!]) {
      let pending = '';
      stream.setEncoding('utf8').on('data', (chunk: string) => {
        const lines = (pending + chunk).split('\n');
        pending = lines.pop()!;
        state.output.push(...lines);
        state.output.splice(0, Math.max(0, state.output.length - 40));
        for (const line of lines) {
          const m = /^failpoint (\S+) pass (\d+)(?: (\S+))?: SIGKILL$/.exec(line);
          if (m) state.failpointKills.push({ failpoint: m[1]!, pass: Number(m[2]), ...(m[3] ? { detail: m[3] } : {}) });
        }
      });
    }
    child.once('exit', (code, signal) => {
      if (stopping) return;
      state.deaths.push(signal ?? String(code));
      state.restarts += 1;
      setTimeout(launch, 200);
    });
  };
  launch();
  return state;
}
