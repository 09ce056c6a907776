/** Redis from Debian's packages, as the stack's own instance: own port, no persistence (sessions and limits only). */
import fs from 'node:fs';
import Redis from 'ioredis';
import { LOCAL_STACK_PORTS } from '../../../platform/config/local-stack';
import { aptInstall } from '../lib/apt';
import { dataDir, logFile, pidFile, type Component } from '../lib/component';
import { StackError, startDaemon, withTimeout } from '../lib/process';

const NAME = 'redis';
const port = LOCAL_STACK_PORTS.redis;
const BIN = '/usr/bin/redis-server';

export const redis: Component = {
  name: NAME,
  port,
  endpoint: `redis://127.0.0.1:${port}`,
  startTimeoutSeconds: 20,

  async install(ctx, say) {
    if (fs.existsSync(BIN)) return;
    await aptInstall(ctx, NAME, ['redis-server'], say);
  },

  async start(ctx) {
    const dir = dataDir(ctx, NAME);
    fs.mkdirSync(dir, { recursive: true });
    startDaemon(NAME, {
      cmd: BIN,
      args: ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no'],
      logFile: logFile(ctx, NAME),
      pidFile: pidFile(ctx, NAME),
    });
  },

  async health() {
    const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
    client.on('error', () => undefined); // failures surface through connect() and ping() below
    try {
      await withTimeout(3000, 'redis', client.connect());
      const pong = await withTimeout(3000, 'redis PING', client.ping());
      if (pong !== 'PONG') throw new StackError(NAME, 'health check', `PING answered ${pong}`);
      const info = await client.info('server');
      if (!/redis_version:/.test(info)) throw new StackError(NAME, 'health check', 'INFO has no redis_version: not a Redis server');
    } finally {
      client.disconnect();
    }
  },
};
