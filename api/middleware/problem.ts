import type { Middleware } from 'koa';
import type { Logger } from '../../platform/logger';
import { DomainError, problemTypeUri, type ProblemType } from '../errors';

const TITLES: Record<ProblemType, string> = {
  'validation-error': 'The request is not valid',
  'malformed-json': 'The body is not valid JSON',
  unauthenticated: 'Authentication required',
  forbidden: 'Not allowed',
  'not-found': 'Not found',
  'method-not-allowed': 'Method not allowed',
  conflict: 'Conflict',
  'payload-too-large': 'The body is too large',
  'unsupported-media-type': 'Unsupported media type',
  'unprocessable-entity': 'Unprocessable request',
  'rate-limited': 'Too many requests',
  'not-ready': 'Not ready',
  'dependency-unavailable': 'A dependency is unavailable',
  internal: 'Internal error',
};

/**
 * First in the chain: turns every error into RFC 9457 problem+json. 4xx bodies say what was wrong; 5xx bodies say
 * only that something failed and give the request id to quote; the cause goes to the log, never to the client.
 */
export function problemDetails(log: Logger): Middleware {
  return async function problemDetailsMiddleware(ctx, next) {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) throw new DomainError('not-found', `No route for ${ctx.method} ${ctx.path}`);
    } catch (err) {
      const known = err instanceof DomainError ? err : undefined;
      const type: ProblemType = known?.type ?? 'internal';
      const status = known?.status ?? 500;
      if (status >= 500) log.error({ err, requestId: ctx.state.requestId, path: ctx.path }, 'request failed');
      ctx.status = status;
      // 429 and 503 say when to come back.
      if (typeof known?.extensions.retryAfterSeconds === 'number') ctx.set('Retry-After', String(known.extensions.retryAfterSeconds));
      ctx.type = 'application/problem+json';
      ctx.body = {
        type: problemTypeUri(type),
        title: TITLES[type],
        status,
        // A DomainError's message is written for the client; anything else stays in the log.
        ...(known && type !== 'internal' ? { detail: known.message, ...known.extensions } : {}),
        instance: ctx.path,
        requestId: ctx.state.requestId,
      };
    }
  };
}
