/**
 * The Koa application, built from its dependencies so tests can drive `app.callback()` with real clients and
 * `server.ts` can listen. Middleware order: problem details first (catches everything), then request id, body.
 */
import Koa from 'koa';
import type { Client } from '@temporalio/client';
import type { Config } from '../platform/config';
import type { DependencyName, Probe } from '../platform/health/checks';
import type { Logger } from '../platform/logger';
import { DomainError } from './errors';
import { jsonBody } from './middleware/json-body';
import { problemDetails } from './middleware/problem';
import { requestId } from './middleware/request-id';
import { healthRoutes } from './routes/health';
import { smokeRoutes } from './routes/smoke';

export interface ApiDeps {
  config: Config;
  log: Logger;
  temporal: Client;
  probes: Record<DependencyName, Probe>;
}

export function createApp(deps: ApiDeps): Koa {
  const app = new Koa({ proxy: false });
  app.silent = true; // errors are logged once, by the problem middleware
  app.use(problemDetails(deps.log));
  app.use(requestId());
  for (const mw of jsonBody({ limit: '100kb' })) app.use(mw);

  for (const router of [healthRoutes(deps.probes), smokeRoutes(deps)]) {
    app.use(router.routes());
    app.use(
      router.allowedMethods({
        throw: true,
        methodNotAllowed: () => new DomainError('method-not-allowed', 'This resource does not support that method'),
        notImplemented: () => new DomainError('method-not-allowed', 'Unknown method'),
      }),
    );
  }
  return app;
}
