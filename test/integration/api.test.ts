/**
 * The API over HTTP against the real local stack: readiness, the smoke workflow run by a real worker for a platform
 * operator, what Temporal stores of it (ciphertext only), idempotent starts, and bad input answered with
 * problem+json. Smoke runs are the platform's (other files may add some): each check looks at its own run.
 */
import { randomUUID } from 'node:crypto';
import type { NativeConnection, Worker } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import request from 'supertest';
import { createApp } from '../../api/app';
import { createApiDeps } from '../../api/deps';
import type { Config } from '../../platform/config';
import { createPool, withTenant, type Pool } from '../../platform/db/pool';
import { createLogger } from '../../platform/logger';
import { ENCRYPTED_ENCODING, KEY_ID_METADATA, PLATFORM_TENANT_ID } from '../../platform/temporal/codec';
import { smokeWorkflowId } from '../../workflows/platform/smoke.contract';
import { connectWorker, createWorkers, workerDeps } from '../../workers/create-workers';
import { OPERATOR_TOKEN, registerTenant, startApi, userWithRole, type RegisteredTenant } from '../support/api';
import { testConfig } from '../support/env';
import { eventually } from '../support/eventually';

const log = createLogger({ level: 'silent', service: 'test' });
const cfg = testConfig();
const testApi = startApi();
const deps = testApi.deps;
/** A tenant, whose ops user may not run the smoke probe nor decode the platform's payloads. */
let tenant: RegisteredTenant;
/** Requests as a platform operator (the smoke routes are theirs). */
const api = () => {
  const agent = testApi.http();
  const withAuth = <T extends request.Test>(t: T) => t.set('Authorization', `Bearer ${OPERATOR_TOKEN}`);
  return {
    get: (path: string) => withAuth(agent.get(path)),
    post: (path: string) => withAuth(agent.post(path)),
    delete: (path: string) => withAuth(agent.delete(path)),
  };
};
let db: Pool;
let worker: Worker;
let workerRun: Promise<void>;
let connection: NativeConnection;

beforeAll(async () => {
  tenant = await registerTenant(testApi);
  db = createPool(cfg.DATABASE_URL, 2);
  connection = await connectWorker(cfg);
  worker = (await createWorkers(cfg, connection, await workerDeps(cfg, db, ['platform']), ['platform']))[0]!;
  workerRun = worker.run();
});

afterAll(async () => {
  worker?.shutdown();
  await workerRun;
  await connection?.close();
  await testApi.close();
  await db.end();
});

/** Rows recorded for the run started with this Idempotency-Key. */
const smokeRowsOf = async (key: string) =>
  withTenant(db, PLATFORM_TENANT_ID, async (tx) => Number((await tx.query('SELECT count(*) FROM smoke_runs WHERE workflow_id = $1', [smokeWorkflowId(PLATFORM_TENANT_ID, key)])).rows[0].count));

/** The run's outcome once it has one (a loaded machine may take a while: the deadline is generous). */
function waitForSmoke(id: string): Promise<Record<string, unknown>> {
  return eventually(
    `smoke run ${id} finished`,
    async () => {
      const res = await api().get(`/api/smoke/${id}`).expect(200);
      return res.body.status !== 'running' && (res.body as Record<string, unknown>);
    },
    60_000,
  );
}

/** Every Payload in a raw (undecoded) history: any object carrying `metadata` and `data`. */
function payloadsIn(node: unknown, found: temporal.api.common.v1.IPayload[] = []): temporal.api.common.v1.IPayload[] {
  if (!node || typeof node !== 'object' || ArrayBuffer.isView(node)) return found;
  const o = node as Record<string, unknown>;
  if ('metadata' in o && 'data' in o && o.metadata && typeof o.metadata === 'object') found.push(o as temporal.api.common.v1.IPayload);
  else for (const v of Object.values(o)) payloadsIn(v, found);
  return found;
}

async function rawHistory(workflowId: string) {
  const { history } = await deps.temporal.workflowService.getWorkflowExecutionHistory({ namespace: cfg.TEMPORAL_NAMESPACE, execution: { workflowId } });
  return history!;
}

function expectAllEncrypted(history: temporal.api.history.v1.IHistory, secret: string) {
  const payloads = payloadsIn(history);
  expect(payloads.length).toBeGreaterThan(0);
  for (const p of payloads) {
    expect(Buffer.from(p.metadata!.encoding!).toString()).toBe(ENCRYPTED_ENCODING);
    // The platform's own key (smoke runs are the platform's), never the former namespace-wide one.
    expect(Buffer.from(p.metadata![KEY_ID_METADATA]!).toString()).toBe(`tenant/${PLATFORM_TENANT_ID}/${cfg.PAYLOAD_ENCRYPTION_KEY_ID}`);
  }
  const bytes = Buffer.from(temporal.api.history.v1.History.encode(history).finish());
  expect(bytes.includes(Buffer.from(secret))).toBe(false);
  return payloads.length;
}

describe('GET /health', () => {
  it('answers while the process is up', async () => {
    await api().get('/health').expect(200, { status: 'ok' });
  });
});

describe('GET /ready', () => {
  it('is 200 and lists every dependency as up', async () => {
    const res = await api().get('/ready').expect(200);
    expect(res.body.status).toBe('ready');
    expect(Object.keys(res.body.checks).sort()).toEqual(['kafka', 'mongodb', 'postgres', 'redis', 'temporal']);
    for (const check of Object.values(res.body.checks)) expect(check).toMatchObject({ status: 'up' });
  });

  const unreachable: [string, Partial<Record<keyof Config, string>>][] = [
    ['temporal', { TEMPORAL_ADDRESS: '127.0.0.1:1' }],
    ['postgres', { DATABASE_URL: 'postgres://finflow_app:finflow_app@127.0.0.1:1/finflow' }],
    ['redis', { REDIS_URL: 'redis://127.0.0.1:1' }],
    ['kafka', { KAFKA_BROKERS: '127.0.0.1:1' }],
    ['mongodb', { MONGO_URL: 'mongodb://127.0.0.1:1' }],
  ];

  it.each(unreachable)('is 503 naming %s, and only it, when it is unreachable', async (name, overrides) => {
    const downDeps = createApiDeps(testConfig(overrides as NodeJS.ProcessEnv), log);
    try {
      const res = await request(createApp(downDeps).callback()).get('/ready').expect(503);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body.down).toEqual([name]);
      expect(res.body.checks[name].status).toBe('down');
    } finally {
      await downDeps.close();
    }
  });
});

describe('POST /api/smoke', () => {
  it('runs the smoke workflow through a worker into Postgres and the outbox', async () => {
    const start = await api().post('/api/smoke').send({ message: 'wiring check' }).expect(202);
    expect(start.headers.location).toBe(`/api/smoke/${start.body.id}`);
    const done = await waitForSmoke(start.body.id);
    expect(done).toMatchObject({ status: 'completed', result: { smokeRunId: expect.any(String), eventId: expect.any(String) } });
    expect(await smokeRowsOf(start.body.id)).toBe(1);
    const outbox = await withTenant(db, PLATFORM_TENANT_ID, (tx) =>
      tx.query('SELECT event_type FROM outbox WHERE aggregate_id = $1', [start.body.workflowId]),
    );
    expect(outbox.rows).toEqual([{ event_type: 'platform.smoke.completed' }]);
  });

  it('stores only ciphertext in Temporal: inputs, activity inputs and results, workflow result', async () => {
    const secret = `secret-${randomUUID()}`;
    const start = await api().post('/api/smoke').send({ message: secret }).expect(202);
    await waitForSmoke(start.body.id);
    const history = await rawHistory(start.body.workflowId);
    // workflow input, activity input, activity result, workflow result
    expect(expectAllEncrypted(history, secret)).toBeGreaterThanOrEqual(4);
  });

  it('stores failure messages encrypted too', async () => {
    const secret = `failure-${randomUUID()}`;
    const start = await api().post('/api/smoke').send({ message: secret, fail: true }).expect(202);
    expect(await waitForSmoke(start.body.id)).toMatchObject({ status: 'failed', failureType: 'SmokeRequestedFailure' });
    const history = await rawHistory(start.body.workflowId);
    const failed = history.events!.find((e) => e.workflowExecutionFailedEventAttributes);
    const failure = failed!.workflowExecutionFailedEventAttributes!.failure!;
    expect(failure.message).toBe('Encoded failure');
    expect(failure.encodedAttributes).toBeTruthy();
    expectAllEncrypted(history, secret);
    // The real failure message lives only inside the encrypted encodedAttributes.
    expectAllEncrypted(history, 'failed on request');
  });

  it('finds the same run for the same Idempotency-Key instead of starting another', async () => {
    const key = randomUUID();
    const first = await api().post('/api/smoke').set('Idempotency-Key', key).send({ message: 'once' }).expect(202);
    await waitForSmoke(key);
    expect(await smokeRowsOf(key)).toBe(1);
    const second = await api().post('/api/smoke').set('Idempotency-Key', key).send({ message: 'once' }).expect(202);
    expect(second.body.workflowId).toBe(first.body.workflowId);
    expect(await waitForSmoke(key)).toMatchObject({ status: 'completed' });
    expect(await smokeRowsOf(key)).toBe(1);
  });

  describe('with bad input', () => {
    const cases: [string, (r: request.Test) => request.Test, number, string][] = [
      ['a non-JSON media type', (r) => r.set('Content-Type', 'text/plain').send('hello'), 415, 'unsupported-media-type'],
      ['malformed JSON', (r) => r.set('Content-Type', 'application/json').send('{"message":'), 400, 'malformed-json'],
      ['an unknown field', (r) => r.send({ message: 'x', admin: true }), 400, 'validation-error'],
      ['a wrong type', (r) => r.send({ message: 42 }), 400, 'validation-error'],
      ['a fractional delay', (r) => r.send({ message: 'x', delaySeconds: 1.5 }), 400, 'validation-error'],
      ['a huge delay', (r) => r.send({ message: 'x', delaySeconds: 1e20 }), 400, 'validation-error'],
      ['an empty message', (r) => r.send({ message: '   ' }), 400, 'validation-error'],
      ['a JSON array body', (r) => r.send([{ message: 'x' }]), 400, 'validation-error'],
      ['an oversized body', (r) => r.send({ message: 'x'.repeat(200_000) }), 413, 'payload-too-large'],
      ['a malformed Idempotency-Key', (r) => r.set('Idempotency-Key', 'not a uuid').send({ message: 'x' }), 400, 'validation-error'],
    ];

    it.each(cases)('answers %s with problem+json and starts nothing', async (_name, build, status, type) => {
      const key = randomUUID();
      const res = await build(api().post('/api/smoke').set('Idempotency-Key', key)).expect(status);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ type: `urn:finflow:problem:${type}`, status, requestId: expect.any(String) });
      expect(res.body.detail).toEqual(expect.any(String));
      await api().get(`/api/smoke/${key}`).expect(404);
      expect(await smokeRowsOf(key)).toBe(0);
    });
  });
});

describe('GET /api/smoke/:id', () => {
  it('is 400 for an id that is not a UUID', async () => {
    const res = await api().get('/api/smoke/not-a-uuid').expect(400);
    expect(res.body.errors).toEqual([{ path: 'params.id', message: expect.any(String) }]);
  });

  it('is 404 for an unknown run', async () => {
    await api().get(`/api/smoke/${randomUUID()}`).expect(404);
  });
});

describe('every response', () => {
  it('carries a request id, echoing a well-formed one from the caller', async () => {
    const given = `req-${randomUUID()}`;
    const res = await api().get('/health').set('X-Request-Id', given).expect(200);
    expect(res.headers['x-request-id']).toBe(given);
    for (const unsafe of ['<script>alert(1)</script>', 'short', 'x'.repeat(200)]) {
      const generated = await api().get('/health').set('X-Request-Id', unsafe).expect(200);
      expect(generated.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it('is problem+json for an unknown route and a wrong method', async () => {
    const missing = await api().get('/nope').expect(404);
    expect(missing.body.type).toBe('urn:finflow:problem:not-found');
    const wrongMethod = await api().delete('/health').expect(405);
    expect(wrongMethod.body.type).toBe('urn:finflow:problem:method-not-allowed');
  });
});

describe('POST /api/codec/decode', () => {
  it("lets an operator read an encrypted payload of the platform's run from the raw history, and refuses a tenant's ops and a caller without platform:codec", async () => {
    const secret = `codec-${randomUUID()}`;
    const start = await api().post('/api/smoke').send({ message: secret }).expect(202);
    expect(start.body.workflowId).toContain(PLATFORM_TENANT_ID);
    await waitForSmoke(start.body.id);
    const history = await rawHistory(start.body.workflowId);
    const input = history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
    const wire = {
      payloads: [
        {
          metadata: Object.fromEntries(Object.entries(input.metadata!).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
          data: Buffer.from(input.data!).toString('base64'),
        },
      ],
    };
    const decoded = await api().post('/api/codec/decode').send(wire).expect(200);
    expect(Buffer.from(decoded.body.payloads[0].data, 'base64').toString()).toContain(secret);

    const opsToken = await userWithRole(testApi, tenant, 'ops');
    await testApi.http().post('/api/codec/decode').set('Authorization', `Bearer ${opsToken}`).send(wire).expect(403);
    const financeToken = await userWithRole(testApi, tenant, 'finance');
    await testApi.http().post('/api/codec/decode').set('Authorization', `Bearer ${financeToken}`).send(wire).expect(403);
  });
});
