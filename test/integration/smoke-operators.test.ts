/**
 * The smoke probe belongs to the people who run the platform: a tenant's admin or ops cannot start or read it (it
 * is no tenant's business, and each run costs a workflow), a configured platform operator can, and starts are
 * limited platform-wide (SMOKE_STARTS_PER_MINUTE), whoever asks. Each API here has a private Redis prefix, so
 * only its own starts count; a platform worker on this run's queues serves the runs.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { NativeConnection, Worker } from '@temporalio/worker';
import { createPool, withTenant, type Pool } from '../../platform/db/pool';
import { PLATFORM_TENANT_ID } from '../../platform/temporal/codec';
import { connectWorker, createWorkers, workerDeps } from '../../workers/create-workers';
import { bearer, registerTenant, startApi, userWithRole, type RegisteredTenant, type TestApi } from '../support/api';
import { testConfig } from '../support/env';
import { eventually } from '../support/eventually';

const LIMIT = 3;
const operatorToken = () => `ffo_${randomBytes(32).toString('base64url')}`;
const OPERATORS = [operatorToken(), operatorToken()];
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

const cfg = testConfig();
const apiOf = () =>
  startApi({
    REDIS_KEY_PREFIX: `finflow:test:smoke:${randomUUID()}:`,
    SMOKE_STARTS_PER_MINUTE: String(LIMIT),
    PLATFORM_OPERATORS: OPERATORS.map((t, i) => `op-${i}:${sha256(t)}`).join(','),
  });

let api: TestApi;
let tenant: RegisteredTenant;
let db: Pool;
let connection: NativeConnection;
let worker: Worker;
let workerRun: Promise<void>;

beforeAll(async () => {
  api = apiOf();
  tenant = await registerTenant(api);
  db = createPool(cfg.DATABASE_URL, 2);
  connection = await connectWorker(cfg);
  worker = (await createWorkers(cfg, connection, await workerDeps(cfg, db, ['platform']), ['platform']))[0]!;
  workerRun = worker.run();
});

afterAll(async () => {
  worker?.shutdown();
  await workerRun;
  await connection?.close();
  await api.close();
  await db.end();
});

const startSmoke = async (token: string, on: TestApi = api) => {
  return on.http().post('/api/smoke').set(bearer(token)).send({ message: 'probe' });
};

describe('the smoke probe', () => {
  it("is refused to a tenant's admin and ops, and to their API keys", async () => {
    const ops = await userWithRole(api, tenant, 'ops');
    const opsKey = (await api.http().post('/api/api-keys').set(bearer(tenant.admin.accessToken)).send({ name: 'ops', role: 'ops' }).expect(201)).body.key;
    for (const token of [tenant.admin.accessToken, ops, opsKey]) {
      const res = await startSmoke(token);
      expect(res.status).toBe(403);
      expect(res.body.type).toBe('urn:finflow:problem:forbidden');
      await api.http().get(`/api/smoke/${randomUUID()}`).set(bearer(token)).expect(403);
    }
  });

  it('runs for a configured platform operator, under the platform, and the operator reads it back', async () => {
    const res = await startSmoke(OPERATORS[0]!);
    expect(res.status).toBe(202);
    expect(res.body.workflowId).toBe(`smoke:${PLATFORM_TENANT_ID}:${res.body.id}`);
    const done = await eventually(
      'the smoke run to complete',
      async () => {
        const status = await api.http().get(`/api/smoke/${res.body.id}`).set(bearer(OPERATORS[1]!)).expect(200);
        return status.body.status !== 'running' && status.body;
      },
      60_000,
    );
    expect(done).toMatchObject({ id: res.body.id, status: 'completed' });
    const rows = await withTenant(db, PLATFORM_TENANT_ID, (tx) => tx.query('SELECT tenant_id FROM smoke_runs WHERE workflow_id = $1', [res.body.workflowId]));
    expect(rows.rows).toEqual([{ tenant_id: PLATFORM_TENANT_ID }]);
  });

  it('is limited platform-wide: every operator counts against one limit, then gets 429 with Retry-After', async () => {
    // Fixed one-minute windows, as the rate limiter: send until refused, alternating operators. The refusal's window
    // holds exactly the LIMIT starts before it, and their remaining counts fall across both operators.
    const own = apiOf(); // a private count: no other test's starts in its windows
    const answers = [];
    let refused;
    try {
      for (let i = 0; i <= 2 * LIMIT + 1 && !refused; i++) {
        const res = await startSmoke(OPERATORS[i % 2]!, own);
        if (res.status === 429) refused = res;
        else answers.push(res);
      }
    } finally {
      await own.close();
    }
    expect(answers.map((r) => r.status)).toEqual(answers.map(() => 202));
    expect(refused?.body).toMatchObject({ type: 'urn:finflow:problem:rate-limited', status: 429 });
    expect(Number(refused!.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    const remaining = (r: { headers: Record<string, string> }) => /"smoke";r=(\d+);t=\d+/.exec(r.headers.ratelimit ?? '')?.[1];
    expect(answers.slice(-LIMIT).map(remaining)).toEqual(['2', '1', '0']);
    expect(remaining(refused!)).toBe('0');
    expect(refused!.headers['ratelimit-policy']).toContain(`"smoke";q=${LIMIT};w=60`);
  });
});
