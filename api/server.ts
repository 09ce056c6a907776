/** API process: listens on API_HOST:API_PORT; drains and closes its clients on SIGINT/SIGTERM. */
import { configWarnings, loadComponentConfigOrExit } from '../platform/config';
import { createLogger } from '../platform/logger';
import { createApp } from './app';
import { createApiDeps } from './deps';

async function main() {
  const config = loadComponentConfigOrExit('api');
  const log = createLogger({ level: config.LOG_LEVEL, service: 'api' });
  // The API does not hold the Stripe key (the workers do); the warning is for a local run, where both are set.
  for (const warning of configWarnings(process.env)) log.warn(warning);
  const deps = createApiDeps(config, log);
  const server = createApp(deps).listen(config.API_PORT, config.API_HOST, () => {
    log.info({ url: `http://${config.API_HOST}:${config.API_PORT}` }, 'api listening');
  });
  server.once('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EADDRINUSE' && err.code !== 'EACCES') throw err;
    const why = err.code === 'EADDRINUSE' ? 'is already in use' : 'may not be bound by this user';
    console.error(`api not started: ${config.API_HOST}:${config.API_PORT} ${why}; set API_PORT to a free port (README: Configuration)`);
    process.exit(1);
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log.info({ signal }, 'api stopping');
      server.close(() => void deps.close().then(() => process.exit(0)));
    });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
