/**
 * The OpenAPI 3.1 document: valid, complete, and enforced. A body or path parameter that violates the documented
 * schema is answered with the documented 400 and an RFC 9457 problem naming the offending field, on ids that exist
 * (so a 404 for a missing resource cannot stand in for the validation).
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import fc from 'fast-check';
import type { Response } from 'supertest';
import { apiRoutes } from '../../api/app';
import { parseInput } from '../../api/validation';
import { EXAMPLE_APPLICATION } from '../../api/credit/routes';
import { invoiceWorkflowId } from '../../workflows/invoices/invoice-lifecycle.contract';
import { creditWorkflowId } from '../../workflows/credit/credit-application.contract';
import { paymentWorkflowId } from '../../workflows/payments/payment.contract';
import { bearer, OPERATOR_TOKEN, registerTenant, startApi, type RegisteredTenant, type TestApi } from '../support/api';
import { arbitraryFor, type JsonSchema as GeneratedSchema } from '../support/json-schema-arbitrary';

interface JsonSchema {
  type?: string;
  required?: string[];
  properties?: Record<string, JsonSchema>;
  /** A body of several shapes (the credit decision): each names its fields, and a constant tells them apart. */
  oneOf?: JsonSchema[];
  const?: unknown;
}
interface Operation {
  requestBody?: { content: { 'application/json': { schema: JsonSchema } } };
  parameters: { in: string; name: string; required: boolean }[];
  responses: Record<string, unknown>;
  'x-platform-operator'?: boolean;
  'x-permission'?: string;
}

let api: TestApi;
let tenant: RegisteredTenant;
let doc: { openapi: string; paths: Record<string, Record<string, Operation>> };
/** An existing resource of this tenant for each path with an id. */
let existing: Record<string, string>;

beforeAll(async () => {
  // No worker runs here: creations answer 202 at once instead of waiting for an outcome.
  api = startApi({ PAYMENT_SYNC_WAIT_MS: '0', CREDIT_SYNC_WAIT_MS: '0' });
  tenant = await registerTenant(api);
  doc = (await api.http().get('/api/openapi.json').expect(200)).body;
  const asAdmin = bearer(tenant.admin.accessToken);
  const created = async (statuses: number[], req: ReturnType<ReturnType<TestApi['http']>['post']>, auth = asAdmin) => {
    const res = await req.set(auth);
    expect(statuses).toContain(res.status);
    return res.body.id as string;
  };
  existing = {
    '/api/payments/{id}': await created(
      [201, 202],
      api.http().post('/api/payments').set('Idempotency-Key', randomUUID()).send({ amountMinor: 100, currency: 'EUR', customerId: 'cus_oa', paymentMethod: 'pm_card_visa' }),
    ),
    '/api/credit/applications/{id}': await created([201, 202], api.http().post('/api/credit/applications').set('Idempotency-Key', randomUUID()).send(EXAMPLE_APPLICATION)),
    '/api/credit/deny-list/{id}': await created([201], api.http().post('/api/credit/deny-list').send({ country: 'TW', nationalId: 'Q12345678', reason: 'test' })),
    '/api/api-keys/{id}': await created([201], api.http().post('/api/api-keys').send({ name: 'openapi', role: 'client' })),
    '/api/smoke/{id}': await created([202], api.http().post('/api/smoke').send({ message: 'openapi' }), bearer(OPERATOR_TOKEN)),
    '/api/accounting/drafts/{id}': await created(
      [201],
      api.http().post('/api/accounting/drafts').send({ accountingDate: '2025-01-31', description: 'openapi', postings: [{ accountCode: '1000', currency: 'EUR', amountMinor: 1 }, { accountCode: '4000', currency: 'EUR', amountMinor: -1 }] }),
    ),
    '/api/accounting/reports/accounts/{id}': (await api.http().get('/api/accounting/accounts').set(asAdmin).expect(200)).body.data[0].id,
    '/api/accounting/periods/{start}': (await api.http().get('/api/accounting/periods').set(asAdmin).expect(200)).body.data[0].periodStart,
    '/api/accounting/closes/{start}': (await api.http().get('/api/accounting/periods').set(asAdmin).expect(200)).body.data[0].periodStart,
    '/api/users/{id}': (await api.http().get('/api/me').set(asAdmin).expect(200)).body.user.id,
    '/api/platform/tenants/{id}': tenant.tenantId,
    '/api/invoices/{id}': await created([201], api.http().post('/api/invoices').set('Idempotency-Key', randomUUID()).send({ customerId: 'cus_oa', currency: 'EUR', lines: [{ description: 'openapi', quantity: 1, unitPriceMinor: 100, taxRateBp: 0 }] })),
  };
  // Their workflows would wait for a worker forever: end them, so a request that got past validation by mistake
  // is answered at once (409, 404...) instead of hanging.
  await Promise.all(
    [
      paymentWorkflowId(tenant.tenantId, existing['/api/payments/{id}']!),
      creditWorkflowId(tenant.tenantId, existing['/api/credit/applications/{id}']!),
      invoiceWorkflowId(tenant.tenantId, existing['/api/invoices/{id}']!),
    ].map((id) =>
      api.deps.temporal.workflow.getHandle(id).terminate('openapi test: no worker here'),
    ),
  );
});
afterAll(() => api.close());

const operations = () =>
  Object.entries(doc.paths).flatMap(([p, methods]) => Object.entries(methods).map(([method, op]) => ({ path: p, method: method as 'get' | 'post' | 'delete', op })));

/** The path with its parameters filled: existing ids, or `raw` in every parameter when given. */
function concrete(template: string, raw?: string): string {
  if (raw !== undefined) return template.replace(/\{[^}]+\}/g, raw);
  if (!template.includes('{')) return template;
  if (template === '/api/docs/assets/{file}') return '/api/docs/assets/swagger-ui.css';
  const base = Object.keys(existing).find((k) => template === k || template.startsWith(`${k}/`));
  if (!base) throw new Error(`no existing resource for ${template}: create one in beforeAll`);
  return template.replace(/\{[^}]+\}/, existing[base]!);
}

/** A credential that may call the operation: a platform operator's for operator-only routes, else the tenant admin's. */
const callerOf = (op: Operation) => bearer(op['x-platform-operator'] && !op['x-permission'] ? OPERATOR_TOKEN : tenant.admin.accessToken);

/** Valid values for the headers an operation requires, so that only the body can be what is refused. */
function requiredHeaders(op: Operation): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const prm of op.parameters.filter((x) => x.in === 'header' && x.required)) {
    if (prm.name !== 'idempotency-key') throw new Error(`no valid value known for header ${prm.name}`);
    headers[prm.name] = randomUUID();
  }
  return headers;
}

/** A value of the wrong JSON type for a property of the given schema type. */
const wrongTypeFor = (type: string | undefined): unknown => (type === 'string' ? 42 : 'not-a-number-object-or-array');

function expectValidationProblem(res: Response, url: string, what: string) {
  expect(`${what} -> ${res.status}`).toBe(`${what} -> 400`);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ type: 'urn:finflow:problem:validation-error', title: 'The request is not valid', status: 400, instance: url.split('?')[0] });
  return res.body.errors as { path: string; message: string }[];
}

describe('GET /api/openapi.json', () => {
  it('is a valid OpenAPI 3.1 document', () => {
    const run = spawnSync(process.execPath, [path.join(__dirname, '../support/validate-openapi.mjs')], { input: JSON.stringify(doc), encoding: 'utf8' });
    expect(run.stderr).toBe('');
    const result = JSON.parse(run.stdout);
    expect(result).toEqual({ valid: true, version: '3.1', errors: [] });
  });

  it('lists every route with its error responses', () => {
    const documented = new Set(operations().map((o) => `${o.method} ${o.path}`));
    for (const route of apiRoutes(api.deps)) {
      const key = `${route.method} ${route.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`;
      expect(documented).toContain(key);
      const op = doc.paths[route.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}')]![route.method]!;
      for (const status of ['400', '429', '500']) expect(op.responses).toHaveProperty(status);
      if (route.access !== 'public') for (const status of ['401', '403']) expect(op.responses).toHaveProperty(status);
      if (route.body) expect(op.requestBody).toBeDefined();
    }
  });

  it('is served with a browsable docs page', async () => {
    const page = await api.http().get('/api/docs').expect(200);
    expect(page.text).toContain('/api/docs/init.js');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    const init = await api.http().get('/api/docs/init.js').expect(200);
    expect(init.text).toContain("url: '/api/openapi.json'");
    await api.http().get('/api/docs/assets/swagger-ui-bundle.js').expect(200);
  });
});

describe('every documented route', () => {
  const withBodies = () => operations().filter((o) => o.op.requestBody);

  it('answers an unknown field with 400 naming it, and names every missing required field', async () => {
    expect(withBodies().length).toBeGreaterThanOrEqual(7);
    for (const { path: p, method, op } of withBodies()) {
      const url = concrete(p);
      // A body of several shapes is told apart by a constant (the credit decision's `decision`): name the first shape.
      const body = op.requestBody!.content['application/json'].schema;
      const shape = body.oneOf?.[0] ?? body;
      const chosen = Object.fromEntries(Object.entries(shape.properties ?? {}).flatMap(([k, v]) => (v.const !== undefined ? [[k, v.const]] : [])));
      const res = await api.http()[method](url).set(callerOf(op)).set(requiredHeaders(op)).send({ ...chosen, unexpected: true });
      const errors = expectValidationProblem(res, url, `${method} ${p} with an unknown field`);
      expect(op.responses).toHaveProperty('400');
      expect(errors).toContainEqual({ path: 'body', message: expect.stringContaining('"unexpected"') });
      const required = (shape.required ?? []).filter((field) => !(field in chosen));
      for (const field of required) expect(errors.map((e) => `${method} ${p}: ${e.path}`)).toContain(`${method} ${p}: body.${field}`);
    }
  });

  it('answers a JSON array where an object belongs with 400 naming the body', async () => {
    for (const { path: p, method, op } of withBodies()) {
      const url = concrete(p);
      const res = await api.http()[method](url).set(callerOf(op)).set(requiredHeaders(op)).send([]);
      expect(expectValidationProblem(res, url, `${method} ${p} with an array`)).toEqual([{ path: 'body', message: expect.stringContaining('expected object') }]);
    }
  });

  it('answers a field of the wrong type with 400 naming that field', async () => {
    for (const { path: p, method, op } of withBodies()) {
      const url = concrete(p);
      const body = op.requestBody!.content['application/json'].schema;
      const [field, schema] = Object.entries((body.properties ?? body.oneOf![0]!.properties)!)[0]!;
      const res = await api
        .http()
        [method](url)
        .set(callerOf(op))
        .set(requiredHeaders(op))
        .send({ [field]: wrongTypeFor(schema.type) });
      const errors = expectValidationProblem(res, url, `${method} ${p} with ${field} of the wrong type`);
      expect(errors.map((e) => `${method} ${p}: ${e.path}`)).toContain(`${method} ${p}: body.${field}`);
    }
  });

  it('answers a path parameter that violates its schema with 400 naming the parameter', async () => {
    const withParams = operations().filter((o) => o.op.parameters.some((prm) => prm.in === 'path'));
    expect(withParams.length).toBeGreaterThanOrEqual(3);
    for (const { path: p, method, op } of withParams) {
      const url = concrete(p, '1%27%20OR%201%3D1--');
      const res = await api.http()[method](url).set(callerOf(op)).set(requiredHeaders(op)).send(method === 'get' || method === 'delete' ? undefined : {});
      const errors = expectValidationProblem(res, url, `${method} ${p} with a hostile path parameter`);
      const names = op.parameters.filter((prm) => prm.in === 'path').map((prm) => `params.${prm.name}`);
      expect(errors.map((e) => e.path)).toEqual(names);
    }
  });
});

describe('the document is no looser than the API', () => {
  /**
   * What the API checks before a handler runs: the route's own schemas through parseInput, as api/routing.ts does.
   * A refusal passes only when each of its reasons is a rule the operation's document states in words (`x-rules`:
   * what JSON Schema cannot say, such as "in the future" or "from must not be after to"), not a hidden one.
   */
  const accepts = (schema: Parameters<typeof parseInput>[0], value: unknown, operation: string, where: 'body' | 'query', rules: string[]) => {
    try {
      parseInput(schema, structuredClone(value), where);
      return true;
    } catch (err) {
      const errors = ((err as { extensions?: { errors?: { message: string }[] } }).extensions?.errors ?? []).map((e) => e.message);
      const documented = (m: string) => rules.some((r) => m === r || m.startsWith(`${r}: `));
      if (errors.length && errors.every(documented)) return true;
      throw new Error(`${operation} refused ${JSON.stringify(value)}: ${(err as Error).message}`);
    }
  };
  /** Every `x-rules` entry anywhere in the operation (its body's schemas, its parameters, the operation itself). */
  const rulesOf = (node: unknown): string[] =>
    !node || typeof node !== 'object'
      ? []
      : Object.entries(node).flatMap(([k, v]) => (k === 'x-rules' && Array.isArray(v) ? (v as string[]) : rulesOf(v)));
  const specOf = (method: string, p: string) => apiRoutes(api.deps).find((r) => r.method === method && r.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}') === p)!;
  const withBody = () => operations().filter((o) => o.op.requestBody);
  const withQuery = () => operations().filter((o) => o.op.parameters.some((prm) => prm.in === 'query'));

  /** The query parameters as one object schema, each parameter's schema as documented. */
  const querySchema = (op: Operation): GeneratedSchema => {
    const prms = op.parameters.filter((prm) => prm.in === 'query') as unknown as { name: string; required: boolean; schema: GeneratedSchema }[];
    return { type: 'object', properties: Object.fromEntries(prms.map((prm) => [prm.name, prm.schema])), required: prms.filter((prm) => prm.required).map((prm) => prm.name) };
  };
  /** A query as a URL carries it to the route: every value a string (Koa's ctx.query). */
  const asQueryString = (q: Record<string, unknown>) => Object.fromEntries(Object.entries(q).map(([k, v]) => [k, String(v)]));

  it('covers every operation with a body or a query', () => {
    expect(withBody().length).toBeGreaterThanOrEqual(20);
    expect(withQuery().length).toBeGreaterThanOrEqual(8);
  });

  // A fuzzer of the document sends these. Login, register, the credit decision and refunds were refused with 400
  // although the document called them valid; then API-key expiry, credit applications and accounting drafts.
  it.each(['body', 'query'] as const)('every %s the document calls valid passes validation, on every operation that takes one', (where) => {
    const refused: string[] = [];
    for (const { path: p, method, op } of where === 'body' ? withBody() : withQuery()) {
      const spec = specOf(method, p);
      const schema = where === 'body' ? (op.requestBody!.content['application/json'].schema as GeneratedSchema) : querySchema(op);
      const rules = rulesOf(op);
      const run = fc.check(
        fc.property(arbitraryFor(schema), (value) =>
          accepts(where === 'body' ? spec.body! : spec.query!, where === 'body' ? value : asQueryString(value as Record<string, unknown>), `${method} ${p}`, where, rules),
        ),
        { numRuns: 300 },
      );
      if (run.failed) refused.push(`${(run.errorInstance as Error).message} (seed ${run.seed}, path ${run.counterexamplePath})`);
    }
    // Every operation's shrunk counterexample at once, not only the first operation's.
    expect(refused).toEqual([]);
  });
});
