/**
 * FerretDB (MongoDB wire protocol on SQLite) as the local MongoDB. `go install ...@v1.24.2` fails (the module
 * proxy refuses its version list), so the module source is downloaded and built as a module of its own.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { MongoClient } from 'mongodb';
import { LOCAL_STACK_PORTS, LOCAL_STACK_VERSIONS } from '../../../platform/config/local-stack';
import { dataDir, installOnce, logFile, pidFile, type Component, type StackContext } from '../lib/component';
import { run, StackError, startDaemon, withTimeout } from '../lib/process';

const NAME = 'ferretdb';
const port = LOCAL_STACK_PORTS.mongodb;
const MODULE = 'github.com/FerretDB/FerretDB';
const dir = (ctx: StackContext) => path.join(ctx.cacheDir, 'ferretdb', LOCAL_STACK_VERSIONS.ferretdb);

async function build(ctx: StackContext, tmp: string, say: (l: string) => void) {
  const log = logFile(ctx, `${NAME}-install`);
  const env = { ...process.env, GOFLAGS: '-buildvcs=false' };
  say(`building FerretDB ${LOCAL_STACK_VERSIONS.ferretdb} from its Go module (first run only, ~1.5 min)`);
  const scratch = path.join(tmp, 'scratch');
  fs.mkdirSync(scratch);
  await run(NAME, 'go mod init', 'go', ['mod', 'init', 'finflow.local/ferretdb-build'], { cwd: scratch, env, logFile: log });
  await run(NAME, 'go mod download', 'go', ['mod', 'download', `${MODULE}@${LOCAL_STACK_VERSIONS.ferretdb}`], { cwd: scratch, env, logFile: log });
  const info = JSON.parse(
    execFileSync('go', ['mod', 'download', '-json', `${MODULE}@${LOCAL_STACK_VERSIONS.ferretdb}`], { cwd: scratch, env, encoding: 'utf8' }),
  ) as { Dir?: string };
  if (!info.Dir) throw new StackError(NAME, 'go mod download', 'no module directory reported');
  const src = path.join(tmp, 'src');
  fs.cpSync(info.Dir, src, { recursive: true });
  execFileSync('chmod', ['-R', 'u+w', src]); // the module cache is read-only
  // Without a version file the binary panics at start-up.
  fs.writeFileSync(path.join(src, 'build', 'version', 'version.txt'), LOCAL_STACK_VERSIONS.ferretdb);
  await run(NAME, 'go build', 'go', ['build', '-o', path.join(tmp, 'ferretdb'), './cmd/ferretdb'], {
    cwd: src,
    env,
    logFile: log,
    progress: { say, label: 'building FerretDB' },
  });
  fs.rmSync(src, { recursive: true, force: true });
  fs.rmSync(scratch, { recursive: true, force: true });
}

export const ferretdb: Component = {
  name: NAME,
  port,
  endpoint: `mongodb://127.0.0.1:${port}`,
  startTimeoutSeconds: 30,

  async install(ctx, say) {
    const built = await installOnce(dir(ctx), (tmp) => build(ctx, tmp, say));
    if (built) say('installed FerretDB');
  },

  async start(ctx) {
    const data = dataDir(ctx, NAME);
    fs.mkdirSync(data, { recursive: true });
    startDaemon(NAME, {
      cmd: path.join(dir(ctx), 'ferretdb'),
      args: [
        '--handler=sqlite',
        `--sqlite-url=file:${data}/`,
        `--listen-addr=127.0.0.1:${port}`,
        `--debug-addr=127.0.0.1:${LOCAL_STACK_PORTS.ferretdbDebug}`,
        '--telemetry=disable',
        '--log-level=warn',
      ],
      logFile: logFile(ctx, NAME),
      pidFile: pidFile(ctx, NAME),
    });
  },

  async health() {
    const client = new MongoClient(`mongodb://127.0.0.1:${port}/`, { serverSelectionTimeoutMS: 2000, connectTimeoutMS: 2000 });
    try {
      const ping = await withTimeout(4000, 'mongodb ping', client.db('admin').command({ ping: 1 }));
      if (ping.ok !== 1) throw new StackError(NAME, 'health check', `ping answered ${JSON.stringify(ping)}`);
    } finally {
      await client.close();
    }
  },
};
