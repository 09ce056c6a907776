/**
 * Runs one of FinFlow's process entry points (workers/main.ts, workers/relay.ts...) as a real child process, and
 * restarts it whenever it dies, as an orchestrator would. Crash tests count the restarts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(__dirname, '..', '..');

export interface Supervised {
  restarts: number;
  deaths: string[];
  stop(): Promise<void>;
}

export function supervise(entry: string, env: NodeJS.ProcessEnv): Supervised {
  let child: ChildProcess | undefined;
  let stopping = false;
  const state: Supervised = {
    restarts: 0,
    deaths: [],
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
    // `node --import tsx` (not the tsx CLI, which wraps a second process): the child is the service itself, so
    // its SIGKILL is seen here and our SIGTERM reaches it.
    child = spawn(process.execPath, ['--import', 'tsx', path.join(root, entry)], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.on('data', () => undefined);
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
