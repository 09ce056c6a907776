/**
 * Temporal server + Web UI: the Temporal CLI's dev server, persisted to a SQLite file so workflows survive a
 * restart. The namespace and FinFlow's search attributes come from temporal-config/.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { LOCAL_STACK_PORTS, LOCAL_STACK_VERSIONS, temporalCliPath } from '../../../platform/config/local-stack';
import { DEV_SERVER_DYNAMIC_CONFIG, NAMESPACE_DEFAULTS } from '../../../temporal-config/namespace';
import { ensureNamespace } from '../../../temporal-config/setup';
import { dataDir, goInstall, logFile, pidFile, type Component, type StackContext } from '../lib/component';
import { StackError, startDaemon, withTimeout } from '../lib/process';

const NAME = 'temporal';
const P = LOCAL_STACK_PORTS;
const cli = (ctx: StackContext) => temporalCliPath({ ...process.env, FINFLOW_CACHE_DIR: ctx.cacheDir });

async function withConnection<T>(fn: (c: Connection) => Promise<T>): Promise<T> {
  const connection = await withTimeout(4000, 'temporal connect', Connection.connect({ address: `127.0.0.1:${P.temporal}`, connectTimeout: 3000 }));
  try {
    return await fn(connection);
  } finally {
    await connection.close();
  }
}

export const temporalServer: Component = {
  name: NAME,
  port: P.temporal,
  endpoint: `127.0.0.1:${P.temporal} (Web UI http://127.0.0.1:${P.temporalUi})`,
  startTimeoutSeconds: 90,

  async install(ctx, say) {
    await goInstall(ctx, NAME, `github.com/temporalio/cli/cmd/temporal@${LOCAL_STACK_VERSIONS.temporalCli}`, path.dirname(cli(ctx)), say, '~3-4 min, 250 MB');
  },

  async start(ctx) {
    const dir = dataDir(ctx, NAME);
    fs.mkdirSync(dir, { recursive: true });
    const dynamic = Object.entries(DEV_SERVER_DYNAMIC_CONFIG).flatMap(([k, v]) => ['--dynamic-config-value', `${k}=${v}`]);
    startDaemon(NAME, {
      cmd: cli(ctx),
      args: [
        'server', 'start-dev',
        '--db-filename', path.join(dir, 'temporal.db'),
        '--ip', '127.0.0.1',
        '--port', String(P.temporal),
        '--ui-port', String(P.temporalUi),
        '--http-port', String(P.temporalHttp),
        '--metrics-port', String(P.temporalMetrics),
        '--namespace', NAMESPACE_DEFAULTS.name,
        ...dynamic,
        '--log-level', 'warn',
      ],
      logFile: logFile(ctx, NAME),
      pidFile: pidFile(ctx, NAME),
    });
  },

  async ready() {
    await withConnection((c) => c.workflowService.getSystemInfo({}));
  },

  async health() {
    await withConnection(async (c) => {
      await c.workflowService.describeNamespace({ namespace: NAMESPACE_DEFAULTS.name });
    });
    const ui = await withTimeout(3000, 'temporal web ui', fetch(`http://127.0.0.1:${P.temporalUi}/`));
    if (ui.status !== 200) throw new StackError(NAME, 'health check', `Web UI on :${P.temporalUi} answered ${ui.status}`);
  },

  async configure(_ctx, say) {
    const done = await withConnection((c) => ensureNamespace(c));
    if (done.length) say(`registered ${done.join(', ')}`);
  },
};
