/**
 * Routes are declared once, as data: method, path, the permission they need (or `public`), and zod schemas for
 * params, query, headers, body and responses. The same declaration validates requests, authorises them, and
 * generates the OpenAPI 3.1 document, so the document cannot drift from what the code accepts. A route that
 * declares no access rule stops the app from starting.
 */
import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { can, type Permission } from '../core/identity/rbac';
import { DomainError } from './errors';
import type { Operator } from '../platform/auth/operators';
import type { Principal } from './middleware/authenticate';
import { parseInput, STORABLE_TEXT_PATTERN } from './validation';

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
export type Access = 'public' | 'operator' | { permission: Permission; operators?: true };
type Schema = z.ZodType;

export interface RouteSpec<P extends Schema = Schema, Q extends Schema = Schema, H extends Schema = Schema, B extends Schema = Schema> {
  method: Method;
  /** Koa-style path: `/api/api-keys/:id`. */
  path: string;
  summary: string;
  tag: string;
  /**
   * `public`: no credential needed; `operator`: platform operators only; otherwise the permission every tenant
   * caller must hold, and `operators: true` when platform operators may call the route too.
   */
  access: Access;
  params?: P;
  query?: Q;
  headers?: H;
  body?: B;
  /** Success responses by status code (a schema, or null for no body). Error responses are added for all. */
  responses: Record<number, { description: string; schema: Schema | null; alsoAs?: readonly string[] }>;
  /** A valid request, used by the docs and by the route-by-role test. */
  example?: { body?: unknown };
  handler(
    ctx: Context,
    input: { params: z.output<P>; query: z.output<Q>; headers: z.output<H>; body: z.output<B>; principal: Principal | undefined; operator: Operator | undefined },
  ): Promise<void>;
}

export type AnyRoute = RouteSpec<Schema, Schema, Schema, Schema>;

/** Keeps each route's input types while collecting them in one list. */
export function route<P extends Schema, Q extends Schema, H extends Schema, B extends Schema>(spec: RouteSpec<P, Q, H, B>): AnyRoute {
  return spec as unknown as AnyRoute;
}

export function buildRouter(routes: readonly AnyRoute[]): Router {
  const router = new Router();
  for (const spec of routes) {
    const access = (spec as { access?: unknown }).access;
    if (access !== 'public' && access !== 'operator' && !(access && typeof access === 'object' && 'permission' in access)) {
      throw new Error(`Route ${spec.method.toUpperCase()} ${spec.path} declares no access rule ('public', 'operator' or a permission)`);
    }
    router[spec.method](spec.path, async (ctx) => {
      const principal = ctx.state.principal as Principal | undefined;
      const operator = ctx.state.operator as Operator | undefined;
      authorise(spec.access, principal, operator);
      const params = spec.params ? parseInput(spec.params, ctx.params, 'params') : undefined;
      const query = spec.query ? parseInput(spec.query, ctx.query, 'query') : undefined;
      const headers = spec.headers ? parseInput(spec.headers, ctx.headers, 'headers') : undefined;
      const body = spec.body ? parseInput(spec.body, ctx.request.body, 'body') : undefined;
      await spec.handler(ctx, { params, query, headers, body, principal, operator });
    });
  }
  return router;
}

function authorise(access: Access, principal: Principal | undefined, operator: Operator | undefined): void {
  if (access === 'public') return;
  if (operator) {
    if (access === 'operator' || access.operators) return;
    throw new DomainError('forbidden', 'Platform operators act on the platform, not inside a tenant');
  }
  if (!principal) throw new DomainError('unauthenticated', 'Send a valid access token or API key as a Bearer credential');
  if (access === 'operator') throw new DomainError('forbidden', 'Only a platform operator may call this route');
  if (!can(principal.role, access.permission)) {
    throw new DomainError('forbidden', `Your role (${principal.role}) lacks the ${access.permission} permission`);
  }
}

// ---------------------------------------------------------------- OpenAPI 3.1

const problemSchema = {
  type: 'object',
  required: ['type', 'title', 'status'],
  properties: {
    type: { type: 'string', format: 'uri' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    instance: { type: 'string' },
    requestId: { type: 'string' },
    errors: { type: 'array', items: { type: 'object', properties: { path: { type: 'string' }, message: { type: 'string' } } } },
  },
};

const ERRORS: Record<number, string> = {
  400: 'The request is not valid (problem+json lists each field)',
  413: 'The body is too large',
  415: 'The body is not application/json',
  429: 'Too many requests (see Retry-After and RateLimit headers)',
  500: 'Internal error (no details; quote the requestId)',
};

const jsonSchema = (s: Schema) => z.toJSONSchema(s, { target: 'draft-2020-12', unrepresentable: 'any', io: 'input' }) as Record<string, unknown>;

/**
 * A pattern that cannot match NUL or a lone surrogate: anchored, one branch, only literals and positive classes
 * (no `.`, `[^`, `\S`...). Conservative: a pattern it cannot vouch for gets the storable pattern beside it.
 */
const excludesUnstorable = (pattern: string) => {
  const unescaped = pattern.replace(/\\[^SWDP]/g, 'x');
  const outsideClasses = unescaped.replace(/\[[^\]]*\]/g, 'x');
  return /^\^.*\$$/.test(unescaped) && !/\\[SWDP]|\[\^/.test(unescaped) && !/[.|]/.test(outsideClasses);
};

/**
 * What parseInput refuses in every string of a request (NUL, lone surrogates), said in the document too, so a
 * client or fuzzer of the document never sends a string it calls valid and gets a 400.
 */
function storableStrings(node: unknown): void {
  if (Array.isArray(node)) return node.forEach(storableStrings);
  if (!node || typeof node !== 'object') return;
  const n = node as Record<string, unknown>;
  if (n.type === 'string' && n.format === undefined && n.enum === undefined && n.const === undefined) {
    if (typeof n.pattern !== 'string') n.pattern = STORABLE_TEXT_PATTERN;
    else if (!excludesUnstorable(n.pattern)) n.allOf = [...((n.allOf as unknown[]) ?? []), { pattern: STORABLE_TEXT_PATTERN }];
  }
  for (const [k, v] of Object.entries(n)) if (k !== 'allOf') storableStrings(v);
}
const requestSchema = (s: Schema) => {
  const js = jsonSchema(s);
  storableStrings(js);
  return js;
};

function parameters(spec: AnyRoute) {
  const out: Record<string, unknown>[] = [];
  const add = (where: 'path' | 'query' | 'header', s: Schema | undefined) => {
    if (!s) return;
    const js = requestSchema(s) as { properties?: Record<string, unknown>; required?: string[] };
    for (const [name, schema] of Object.entries(js.properties ?? {})) {
      out.push({ name, in: where, required: where === 'path' || (js.required ?? []).includes(name), schema });
    }
  };
  add('path', spec.params);
  add('query', spec.query);
  add('header', spec.headers);
  return out;
}

export function openApiDocument(routes: readonly AnyRoute[], info: { title: string; version: string }) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const spec of routes) {
    const path = spec.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    const responses: Record<string, unknown> = {};
    for (const [status, r] of Object.entries(spec.responses)) {
      // `alsoAs`: other media types the route answers on request (a printable text/html page), documented as text.
      const others = Object.fromEntries((r.alsoAs ?? []).map((type) => [type, { schema: { type: 'string' } }]));
      responses[status] = r.schema ? { description: r.description, content: { 'application/json': { schema: jsonSchema(r.schema) }, ...others } } : { description: r.description };
    }
    const errors: Record<number, string> = { ...ERRORS };
    if (spec.access !== 'public') {
      errors[401] = 'Missing, invalid, expired or revoked credential';
      errors[403] = spec.access === 'operator' ? 'The caller is not a platform operator' : `The caller's role lacks ${spec.access.permission}`;
    }
    // A route that names a resource in its path answers 404 when there is none (or none the caller may see).
    if (spec.params) errors[404] = 'No such resource, or none the caller may see';
    for (const [status, description] of Object.entries(errors)) {
      responses[status] ??= { description, content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } };
    }
    // Rules between query parameters (api/schemas.ts documentedRules) bind the whole query: said on the operation.
    const queryRules = spec.query ? ((jsonSchema(spec.query)['x-rules'] as string[] | undefined) ?? []) : [];
    paths[path] ??= {};
    paths[path]![spec.method] = {
      summary: spec.summary,
      tags: [spec.tag],
      operationId: `${spec.method}${path.replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
      ...(spec.access === 'public'
        ? { security: [] }
        : spec.access === 'operator'
          ? { 'x-platform-operator': true }
          : { 'x-permission': spec.access.permission, ...(spec.access.operators ? { 'x-platform-operator': true } : {}) }),
      parameters: parameters(spec),
      ...(queryRules.length ? { 'x-rules': queryRules } : {}),
      ...(spec.body
        ? {
            requestBody: {
              required: true,
              content: { 'application/json': { schema: requestSchema(spec.body), ...(spec.example?.body ? { example: spec.example.body } : {}) } },
            },
          }
        : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: { ...info, description: 'FinFlow REST API. Errors are RFC 9457 problem+json.' },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'An access token (JWT from /api/auth/login) or a tenant API key (ffk_...)' },
      },
      schemas: { Problem: problemSchema },
    },
    paths,
  };
}
