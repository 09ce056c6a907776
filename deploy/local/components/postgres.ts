/**
 * PostgreSQL from Debian's packages, run as the stack's own cluster (own data dir and port) so nothing depends on
 * the machine's default service. As root, the server runs as the `postgres` system user (it refuses root).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { LOCAL_DB, LOCAL_STACK_PORTS } from '../../../platform/config/local-stack';
import { dataDir, logFile, pidFile, type Component, type StackContext } from '../lib/component';
import { aptInstall } from '../lib/apt';
import { run, StackError, startDaemon, withTimeout } from '../lib/process';

const NAME = 'postgres';
const port = LOCAL_STACK_PORTS.postgres;

function binDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!fs.existsSync(root)) return undefined;
  const versions = fs
    .readdirSync(root)
    .filter((v) => fs.existsSync(path.join(root, v, 'bin', 'postgres')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? path.join(root, versions[0], 'bin') : undefined;
}

interface RunAs {
  uid: number;
  gid: number;
  user: string;
}

/** The system user the server runs as: ourselves, unless we are root. */
function runAs(): RunAs | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line) throw new StackError(NAME, 'start', 'running as root needs the `postgres` system user (from the postgresql package)');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid), user: 'postgres' };
}

/** The server user must reach its data dir: add search (x) permission on ancestors that lack it for others. */
function ensureTraversable(dir: string) {
  let cur = path.dirname(dir);
  while (cur !== path.dirname(cur)) {
    const mode = fs.statSync(cur).mode;
    if ((mode & 0o001) === 0) fs.chmodSync(cur, mode | 0o001);
    cur = path.dirname(cur);
  }
}

const socketDir = (ctx: StackContext) => path.join(dataDir(ctx, NAME), 'socket');
const clusterDir = (ctx: StackContext) => path.join(dataDir(ctx, NAME), 'cluster');

function superuserClient(ctx: StackContext, database = 'postgres') {
  return new Client({ host: socketDir(ctx), port, user: 'postgres', database });
}

async function ensureRole(c: Client, user: string, password: string, attrs: string) {
  const exists = await c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [user]);
  const verb = exists.rowCount ? 'ALTER' : 'CREATE';
  // Role names are our own constants; the password is a literal, so it is escaped with format().
  const sql = await c.query<{ q: string }>(`SELECT format('${verb} ROLE %I WITH LOGIN PASSWORD %L ${attrs}', $1::text, $2::text) AS q`, [
    user,
    password,
  ]);
  await c.query(sql.rows[0]!.q);
}

export const postgres: Component = {
  name: NAME,
  port,
  endpoint: `postgres://${LOCAL_DB.app.user}@127.0.0.1:${port}/${LOCAL_DB.database}`,
  stopSignal: 'SIGINT', // fast shutdown: SIGTERM would wait for every client to disconnect
  startTimeoutSeconds: 60,

  async install(ctx, say) {
    if (binDir()) return;
    await aptInstall(ctx, NAME, ['postgresql'], say);
    if (!binDir()) throw new StackError(NAME, 'install', 'postgresql installed but no /usr/lib/postgresql/*/bin/postgres found');
  },

  async start(ctx, say) {
    const bin = binDir()!;
    const owner = runAs();
    const dir = clusterDir(ctx);
    const ids = owner ? { uid: owner.uid, gid: owner.gid } : {};
    fs.mkdirSync(socketDir(ctx), { recursive: true });
    if (owner) {
      ensureTraversable(dir);
      fs.chownSync(dataDir(ctx, NAME), owner.uid, owner.gid);
      fs.chownSync(socketDir(ctx), owner.uid, owner.gid);
    }
    if (!fs.existsSync(path.join(dir, 'PG_VERSION'))) {
      say('initialising a new cluster');
      const pwFile = path.join(os.tmpdir(), `finflow-pg-${process.pid}`);
      fs.writeFileSync(pwFile, 'postgres\n', { mode: 0o644 });
      try {
        const args = ['-D', dir, '-U', 'postgres', '--auth-local=trust', '--auth-host=scram-sha-256', `--pwfile=${pwFile}`, '-E', 'UTF8', '--locale=C.UTF-8'];
        const [cmd, argv] = owner ? ['setpriv', [`--reuid=${owner.uid}`, `--regid=${owner.gid}`, '--clear-groups', path.join(bin, 'initdb'), ...args]] : [path.join(bin, 'initdb'), args];
        await run(NAME, 'initdb', cmd as string, argv as string[], { logFile: logFile(ctx, NAME) });
      } finally {
        fs.rmSync(pwFile, { force: true });
      }
    }
    startDaemon(NAME, {
      cmd: path.join(bin, 'postgres'),
      args: ['-D', dir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${socketDir(ctx)}`, '-c', 'max_connections=200', '-c', 'fsync=off', '-c', 'synchronous_commit=off'],
      logFile: logFile(ctx, NAME),
      pidFile: pidFile(ctx, NAME),
      options: ids,
    });
  },

  async health() {
    // A full login and query as the application's owner role, over TCP like the platform connects.
    const c = new Client({ host: '127.0.0.1', port, user: LOCAL_DB.owner.user, password: LOCAL_DB.owner.password, database: LOCAL_DB.database, connectionTimeoutMillis: 2000 });
    try {
      await withTimeout(3000, 'postgres query', c.connect().then(() => c.query('SELECT 1')));
    } finally {
      await c.end().catch(() => undefined);
    }
  },

  async configure(ctx) {
    // Only a cluster we started has our socket; a reused server must already have the roles (health proved it).
    if (!fs.existsSync(socketDir(ctx)) || !fs.readdirSync(socketDir(ctx)).some((f) => f.startsWith('.s.PGSQL'))) return;
    const c = superuserClient(ctx);
    try {
      await c.connect();
    } catch (err) {
      // A socket file left by a cluster of ours that is gone (a killed stack): the server answering the port is
      // another clone's, reused as above.
      if ((err as NodeJS.ErrnoException).code === 'ECONNREFUSED') return;
      throw err;
    }
    try {
      // CREATEDB: the test suite gives each run its own database.
      await ensureRole(c, LOCAL_DB.owner.user, LOCAL_DB.owner.password, 'CREATEDB NOSUPERUSER NOBYPASSRLS');
      await ensureRole(c, LOCAL_DB.app.user, LOCAL_DB.app.password, 'NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE');
      // The outbox relay reads every tenant's unpublished events, and nothing else (grants in migrations).
      await ensureRole(c, LOCAL_DB.relay.user, LOCAL_DB.relay.password, 'NOSUPERUSER BYPASSRLS NOCREATEDB NOCREATEROLE');
      // Lets the owner drop a test database while killed test processes' connections linger.
      await c.query(`GRANT pg_signal_backend TO ${LOCAL_DB.owner.user}`);
      const db = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [LOCAL_DB.database]);
      if (!db.rowCount) await c.query(`CREATE DATABASE ${LOCAL_DB.database} OWNER ${LOCAL_DB.owner.user}`);
    } finally {
      await c.end();
    }
  },

  // Before `configure` runs on a fresh cluster the owner role does not exist yet: wait on the superuser socket.
  async ready(ctx) {
    const c = superuserClient(ctx);
    try {
      await withTimeout(3000, 'postgres socket query', c.connect().then(() => c.query('SELECT 1')));
    } finally {
      await c.end().catch(() => undefined);
    }
  },
};
