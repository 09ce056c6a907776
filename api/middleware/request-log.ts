import type { Middleware } from 'koa';
import type { Logger } from '../../platform/logger';

/**
 * One log line per request, written when it is answered: method, path, status, duration, request id and the tenant
 * (opaque ids only). Refused and failed requests (4xx, 5xx) are logged at info, the others at debug (the hot path
 * pays nothing unless asked). At debug level the line also carries the query, headers and body, for tracing a bad
 * request; the logger redacts every secret and personal field in them (platform/logger.ts), at any depth.
 */
export function requestLog(log: Logger): Middleware {
  return async function requestLogMiddleware(ctx, next) {
    const started = process.hrtime.bigint();
    try {
      await next();
    } finally {
      const level = ctx.status >= 400 ? 'info' : 'debug';
      if (log.isLevelEnabled(level)) {
        const principal = ctx.state.principal as { tenantId?: string } | undefined;
        const line: Record<string, unknown> = {
          requestId: ctx.state.requestId,
          method: ctx.method,
          path: ctx.path,
          status: ctx.status,
          durationMs: Number((process.hrtime.bigint() - started) / 1000n) / 1000,
          tenantId: principal?.tenantId,
        };
        if (log.isLevelEnabled('debug')) {
          line.query = ctx.query;
          line.headers = ctx.headers;
          line.body = (ctx.request as { body?: unknown }).body;
        }
        log[level](line, 'request');
      }
    }
  };
}
