import { bodyParser } from '@koa/bodyparser';
import type { Middleware } from 'koa';
import { DomainError } from '../errors';

const METHODS_WITH_BODY = new Set(['POST', 'PUT', 'PATCH']);

/**
 * JSON only: a body in any other media type is 415, one over the limit is 413, malformed JSON is 400, and a
 * top-level value that is not an object or array is refused (strict mode).
 */
export function jsonBody(opts: { limit: string }): Middleware[] {
  const requireJson: Middleware = async function requireJsonContentType(ctx, next) {
    const hasBody = ctx.request.length > 0 || ctx.get('transfer-encoding') !== '';
    if (METHODS_WITH_BODY.has(ctx.method) && hasBody && !ctx.is('application/json', 'application/*+json')) {
      throw new DomainError('unsupported-media-type', 'Send the body as application/json');
    }
    await next();
  };
  const parse = bodyParser({
    enableTypes: ['json'],
    extendTypes: { json: ['application/json', 'application/*+json'] },
    jsonLimit: opts.limit,
    encoding: 'utf-8',
    onError(err: Error & { type?: string; status?: number }) {
      if (err.type === 'entity.too.large' || err.status === 413) throw new DomainError('payload-too-large', `The body exceeds ${opts.limit}`);
      if (err.type === 'encoding.unsupported' || err.type === 'charset.unsupported') throw new DomainError('unsupported-media-type', 'Only UTF-8 JSON is accepted');
      throw new DomainError('malformed-json', 'The body is not valid JSON');
    },
  }) as unknown as Middleware;
  return [requireJson, parse];
}
