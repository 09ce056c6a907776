/**
 * The Koa application, built from its dependencies so tests can drive it with real clients and `server.ts` can
 * listen. Middleware order: the request log first (it sees the final status), problem details (it catches
 * everything), request id, security headers, CORS, the front door (the per-IP rate limit, login included,
 * authentication and the per-tenant limit, before any body is read: api/middleware/front-door.ts), JSON bodies,
 * then the declared routes.
 */
import cors from '@koa/cors';
import Koa from 'koa';
import type { Client } from '@temporalio/client';
import type Redis from 'ioredis';
import type { Pool } from 'pg';
import type { JwtKeySet } from '../platform/auth/jwt';
import type { SessionStore } from '../platform/auth/sessions';
import type { ApiConfig } from '../platform/config';
import type { DependencyName, Probe } from '../platform/health/checks';
import type { Logger } from '../platform/logger';
import { AccountStatus } from '../platform/auth/account-status';
import { LoginThrottle } from '../platform/auth/login-throttle';
import { OperatorTokens } from '../platform/auth/operators';
import { createPayloadCodec } from '../platform/temporal/client';
import { accountingRoutes } from './accounting/routes';
import { periodCloseRoutes } from './accounting/closes.routes';
import { PeriodCloseService } from './accounting/closes.service';
import { AccountingService } from './accounting/service';
import { DomainError } from './errors';
import { identityRoutes } from './identity/routes';
import { IdentityService } from './identity/service';
import { creditRoutes } from './credit/routes';
import { CreditService } from './credit/service';
import { invoiceRoutes } from './invoices/routes';
import { InvoicesService } from './invoices/service';
import { paymentRoutes } from './payments/routes';
import { PaymentsService } from './payments/service';
import { jsonBody } from './middleware/json-body';
import { problemDetails } from './middleware/problem';
import { frontDoor } from './middleware/front-door';
import type { Limit } from './middleware/rate-limit';
import { requestId } from './middleware/request-id';
import { requestLog } from './middleware/request-log';
import { securityHeaders } from './middleware/security-headers';
import { codecRoutes } from './routes/codec';
import { docsRoutes } from './routes/docs';
import { healthRoutes } from './routes/health';
import { smokeRoutes } from './routes/smoke';
import { buildRouter, openApiDocument, type AnyRoute } from './routing';
import { webhookRoutes } from './webhooks/routes';
import { StripeWebhooks } from './webhooks/stripe-service';

/** `C`: the API's own configuration (ComponentConfig<'api'>), or a test's, which holds every variable. */
export interface ApiDeps<C extends ApiConfig = ApiConfig> {
  config: C;
  log: Logger;
  temporal: Client;
  db: Pool;
  redis: Redis;
  jwt: JwtKeySet;
  sessions: SessionStore;
  probes: Record<DependencyName, Probe>;
}

/** Every route of the API, in one list: mounted, documented and walked by the route-by-role test. */
export function apiRoutes(deps: ApiDeps): AnyRoute[] {
  const loginThrottle = new LoginThrottle(deps.redis, deps.config.REDIS_KEY_PREFIX, {
    freeAttempts: deps.config.AUTH_LOGIN_FREE_ATTEMPTS,
    backoffSeconds: deps.config.AUTH_LOGIN_BACKOFF_SECONDS,
    maxBackoffSeconds: deps.config.AUTH_LOGIN_MAX_BACKOFF_SECONDS,
  });
  const identity = new IdentityService({ db: deps.db, jwt: deps.jwt, sessions: deps.sessions, config: deps.config, loginThrottle, accounts: accountStatus(deps) });
  const registrations: Limit = {
    redis: deps.redis,
    prefix: deps.config.REDIS_KEY_PREFIX,
    scope: 'registration',
    limit: deps.config.RATE_LIMIT_REGISTRATIONS_PER_HOUR,
    windowSeconds: 3600,
    per: 'from this address',
    addHeaders: true,
  };
  // Unencrypted payloads sent to the endpoint come back as they are: nothing is revealed by that.
  const codec = createPayloadCodec(deps.config, { allowUnencrypted: true });
  const payments = new PaymentsService({ db: deps.db, temporal: deps.temporal, config: deps.config });
  const credit = new CreditService({ db: deps.db, temporal: deps.temporal, config: deps.config });
  const accounting = new AccountingService({ db: deps.db });
  const stripeWebhooks = new StripeWebhooks({ db: deps.db, temporal: deps.temporal, secret: deps.config.STRIPE_WEBHOOK_SECRET, log: deps.log });
  const routes: AnyRoute[] = [
    ...healthRoutes(deps.probes),
    ...identityRoutes(identity, deps.jwt, { registrations }),
    ...paymentRoutes(payments),
    ...webhookRoutes(stripeWebhooks),
    ...creditRoutes(credit),
    ...accountingRoutes(accounting),
    ...invoiceRoutes(new InvoicesService({ db: deps.db, temporal: deps.temporal, config: deps.config })),
    ...periodCloseRoutes(new PeriodCloseService({ db: deps.db, temporal: deps.temporal, config: deps.config })),
    ...smokeRoutes(deps),
    ...codecRoutes({ codec, db: deps.db, log: deps.log }),
  ];
  let document: unknown;
  const docs = docsRoutes(() => (document ??= openApiDocument([...routes, ...docs], { title: 'FinFlow API', version: '0.1.0' })));
  return [...routes, ...docs];
}

const accountStatus = (deps: ApiDeps) => new AccountStatus(deps.redis, deps.db, deps.config.REDIS_KEY_PREFIX, deps.config.AUTH_STATUS_CACHE_SECONDS);

export function createApp(deps: ApiDeps, routes: AnyRoute[] = apiRoutes(deps)): Koa {
  const { config } = deps;
  // ctx.ip: the address the outermost trusted proxy saw (Koa reads the last `hops` entries of X-Forwarded-For).
  const hops = config.TRUST_PROXY_HOPS ?? (config.TRUST_PROXY ? 1 : 0);
  const app = new Koa({ proxy: hops > 0, maxIpsCount: hops });
  app.silent = true; // errors are logged once, by the problem middleware
  const router = buildRouter(routes);

  app.use(requestLog(deps.log));
  app.use(problemDetails(deps.log));
  app.use(requestId());
  app.use(securityHeaders());
  if (config.CORS_ORIGINS) {
    const allowed = new Set(config.CORS_ORIGINS);
    app.use(cors({ origin: (ctx) => (allowed.has(ctx.get('origin')) ? ctx.get('origin') : ''), allowHeaders: ['Authorization', 'Content-Type', 'Idempotency-Key', 'X-Request-Id', 'X-Namespace'], maxAge: 600 }));
  }
  // The per-IP limit, authentication and the per-tenant limit (api/middleware/front-door.ts), before any body is
  // read. Probes must report on every dependency, Redis included, so they never wait on the IP limiter.
  const limit = (scope: 'ip' | 'tenant', perMinute: number): Limit => ({
    redis: deps.redis,
    prefix: config.REDIS_KEY_PREFIX,
    scope,
    limit: perMinute,
    windowSeconds: 60,
    per: scope === 'ip' ? 'from this address' : 'from this tenant',
  });
  const operators = new OperatorTokens(config.PLATFORM_OPERATORS);
  app.use(
    frontDoor({
      auth: { db: deps.db, jwt: deps.jwt, sessions: deps.sessions, apiKeyPepper: config.AUTH_API_KEY_PEPPER, operators, accounts: accountStatus(deps) },
      redis: deps.redis,
      ip: limit('ip', config.RATE_LIMIT_IP_PER_MINUTE),
      tenant: limit('tenant', config.RATE_LIMIT_TENANT_PER_MINUTE),
      exempt: new Set(['/health', '/ready']),
    }),
  );
  for (const mw of jsonBody({ limit: `${config.API_BODY_LIMIT_KB}kb` })) app.use(mw);
  app.use(router.routes());
  app.use(
    router.allowedMethods({
      throw: true,
      methodNotAllowed: () => new DomainError('method-not-allowed', 'This resource does not support that method'),
      notImplemented: () => new DomainError('method-not-allowed', 'Unknown method'),
    }),
  );
  return app;
}
