/** The connection pool after a failed transaction, and /ready under a burst of calls. */
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
