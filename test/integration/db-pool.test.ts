/** The connection pool after a failed transaction, and /ready under a burst of calls. */
import { createApp } from '../../api/app';
import { healthRoutes } from '../../api/routes/health';
import request from 'supertest';
import { createPool, inTransaction, type Pool } from '../../platform/db/pool';
import { startApi, type TestApi } from '../support/api';
import { testConfig } from '../support/env';

const cfg = testConfig();

describe('a transaction whose connection died', () => {
  let pool: Pool;
  let killer: Pool;
  beforeAll(() => {
    pool = createPool(cfg.DATABASE_URL, 1); // one connection: the next transaction gets whatever was returned
    killer = createPool(cfg.DATABASE_MIGRATION_URL, 1);
  });
  afterAll(async () => {
    await pool.end();
    await killer.end();
  });

  it('is not handed to the next transaction: the pool opens a new connection', async () => {
    const failed = inTransaction(pool, async (tx) => {
      const { rows } = await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      await killer.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
      await tx.query('SELECT 1'); // the server is gone: this fails, and so will the ROLLBACK
    });
    await expect(failed).rejects.toThrow();
    // The next transaction on the same one-connection pool works.
    await expect(inTransaction(pool, (tx) => tx.query('SELECT 1 AS ok'))).resolves.toMatchObject({ rows: [{ ok: 1 }] });
  });
});

describe('a transaction whose ROLLBACK failed on a live connection', () => {
  let pool: Pool;
  beforeAll(() => {
    pool = createPool(cfg.DATABASE_URL, 1); // one connection: the next transaction gets whatever was returned
  });
  afterAll(() => pool.end());

  it('is destroyed, not handed to the next transaction with its transaction still open', async () => {
    const marker = `finflow-test-${Date.now()}`;
    let failedPid = 0;
    const failed = inTransaction(pool, async (tx) => {
      failedPid = (await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      await tx.query("SELECT set_config('application_name', $1, false)", [marker]);
      // The ROLLBACK is lost (as on a client-side timeout): the server still holds this open transaction.
      const query = tx.query.bind(tx) as (text: unknown, ...rest: unknown[]) => Promise<unknown>;
      (tx as unknown as { query: typeof query }).query = (text, ...rest) => (text === 'ROLLBACK' ? Promise.reject(new Error('rollback lost')) : query(text, ...rest));
      throw new Error('the work failed');
    });
    await expect(failed).rejects.toThrow('the work failed');
    const next = await inTransaction(pool, (tx) =>
      tx.query<{ pid: number; app: string }>("SELECT pg_backend_pid() AS pid, current_setting('application_name') AS app"),
    );
    expect(next.rows[0]!.pid).not.toBe(failedPid);
    expect(next.rows[0]!.app).not.toBe(marker);
    expect(pool.totalCount).toBe(1);
  });
});

describe('/ready under a burst', () => {
  let api: TestApi;
  beforeAll(() => {
    api = startApi();
  });
  afterAll(() => api.close());

  it('runs one round of probes for many calls within a second, and a new one after', async () => {
    let rounds = 0;
    const real = api.deps.probes.postgres;
    api.deps.probes.postgres = async () => {
      rounds++;
      await real();
    };
    const answers = await Promise.all(Array.from({ length: 30 }, () => api.http().get('/ready')));
    expect(answers.every((r) => r.status === 200)).toBe(true);
    expect(rounds).toBe(1);
    await new Promise((r) => setTimeout(r, 1100));
    await api.http().get('/ready').expect(200);
    expect(rounds).toBe(2);
  });
});

describe('/ready from one address', () => {
  let api: TestApi;
  beforeAll(() => {
    api = startApi({ TRUST_PROXY_HOPS: '1' }); // the address is the one the (trusted) proxy names
  });
  afterAll(() => api.close());

  it('is limited per client address: past its burst a 429 problem with Retry-After, another address unaffected', async () => {
    // A burst of 5 that refills one call in 1000 s: the limit is reached within this test, whatever the machine's pace.
    const app = createApp(api.deps, healthRoutes(api.deps.probes, 2000, 1000, { burst: 5, perSecond: 0.001 }));
    const server = request(app.callback());
    const from = (address: string) => server.get('/ready').set('X-Forwarded-For', address);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await from('203.0.113.7')).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
    const refused = await from('203.0.113.7');
    expect(refused.status).toBe(429);
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    await from('203.0.113.8').expect(200);
  });
});
