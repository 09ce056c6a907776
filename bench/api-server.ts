/**
 * One server of `npm run bench:api`, in its own process so the load generator does not share its event loop:
 * `finflow` is the real API app (api/app.ts, every middleware, rate limits on), `bare` is a Koa app that does one
 * Redis INCR and one PostgreSQL query per request. Both read the same config (the bench's private database and
 * Redis prefix). Prints `listening <port>` on stdout once it accepts connections; stops on SIGTERM.
 */
import Koa from 'koa';
import Redis from 'ioredis';
import type { Server } from 'node:http';
import { createApp } from '../api/app';
import { createApiDeps } from '../api/deps';
import { loadConfig } from '../platform/config';
import { createPool } from '../platform/db/pool';
import { createLogger } from '../platform/logger';

async function main() {
  const mode = process.argv[2];
  const cfg = loadConfig(process.env);
  let server: Server;
  let close: () => Promise<void>;
  if (mode === 'finflow') {
    const deps = createApiDeps(cfg, createLogger({ level: cfg.LOG_LEVEL, service: 'bench-api' }));
    server = createApp(deps).listen(0, '127.0.0.1');
    close = () => deps.close();
  } else if (mode === 'bare') {
    const redis = new Redis(cfg.REDIS_URL);
    const db = createPool(cfg.DATABASE_URL, cfg.DATABASE_POOL_MAX);
    const key = `${cfg.REDIS_KEY_PREFIX}bench:bare`;
    const app = new Koa();
    app.use(async (ctx) => {
      const n = await redis.incr(key);
      const { rows } = await db.query<{ n: string }>('SELECT $1::bigint AS n', [n]);
      ctx.body = { n: rows[0]!.n };
    });
    server = app.listen(0, '127.0.0.1');
    close = async () => {
      redis.disconnect();
      await db.end();
    };
  } else {
    throw new Error(`bench/api-server.ts: mode must be finflow or bare, not ${mode}`);
  }
  await new Promise((r) => server.once('listening', r));
  console.log(`listening ${(server.address() as { port: number }).port}`);
  process.once('SIGTERM', () => server.close(() => void close().then(() => process.exit(0))));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
