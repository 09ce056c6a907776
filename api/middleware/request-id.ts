import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';

const SAFE_ID = /^[A-Za-z0-9._:-]{8,128}$/;

/** Every request gets an id (the caller's X-Request-Id when it is well formed), echoed on every response. */
export function requestId(): Middleware {
  return async function requestIdMiddleware(ctx, next) {
    const given = ctx.get('x-request-id');
    ctx.state.requestId = SAFE_ID.test(given) ? given : randomUUID();
    ctx.set('X-Request-Id', ctx.state.requestId as string);
    await next();
  };
}
