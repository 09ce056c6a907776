/**
 * Guards on money and decisions that PostgreSQL enforces itself, hit directly through the application role (the
 * role the API and workers use): what the database refuses, no code path can do.
 */
import { randomUUID } from 'node:crypto';
import { createPool, scopeToTenant, withTenant, type Pool, type PoolClient } from '../../platform/db/pool';
import { money } from '../../core/money';
import { accountBalance, postJournalEntry, type JournalEntryInput } from '../../platform/ledger';
import { createTenant, testConfig } from '../support/env';
import { eventually } from '../support/eventually';
import { insertCreditApplication, insertPayment, writeDecision, type DecisionWrite } from '../support/rows';

const cfg = testConfig();
let app: Pool;
let ours: string;
let theirs: string;

beforeAll(async () => {
  app = createPool(cfg.DATABASE_URL, 5);
  [ours, theirs] = [await createTenant(app), await createTenant(app)];
  for (const t of [ours, theirs]) await withTenant(app, t, (tx) => tx.query('SELECT create_default_chart($1)', [t]));
});
afterAll(async () => {
  await app.end();
});

const asTenant = <T>(tenantId: string, fn: (tx: PoolClient) => Promise<T>) => withTenant(app, tenantId, fn);
const decisionOf = (id: string) =>
  asTenant(ours, async (tx) => (await tx.query('SELECT decision, underwriter_id FROM credit_applications WHERE id = $1', [id])).rows[0]);
const failureOf = (p: Promise<unknown>) => p.then(() => { throw new Error('expected the database to refuse'); }, (e: unknown) => e as Error & { code?: string });

describe('a credit decision', () => {
  async function decided(d: DecisionWrite = { decision: 'approved', underwriterId: 'uw-1' }) {
    const id = await asTenant(ours, (tx) => insertCreditApplication(tx, ours));
    await asTenant(ours, (tx) => writeDecision(tx, id, d));
    return id;
  }

  it('refuses a second decision write', async () => {
    const id = await decided();
    const err = await failureOf(asTenant(ours, (tx) => writeDecision(tx, id, { decision: 'declined', underwriterId: 'uw-2' })));
    expect(err.message).toMatch(/is already approved/);
    expect(await decisionOf(id)).toEqual({ decision: 'approved', underwriter_id: 'uw-1' });
  });

  it.each([
    ['undone', "status = 'in_review', decision = NULL, decided_by = NULL, decided_at = NULL, approved_limit_minor = NULL"],
    ['given another status', "status = 'declined'"],
    ['attributed to another decider', "decided_by = 'auto'"],
    ['attributed to another underwriter', "underwriter_id = 'uw-2'"],
    ['given another probability of default', 'probability_of_default = 0.01'],
    ['given another model version', "model_version = 'credit-other'"],
    ['given other reasons', "reasons = '[]'"],
    ['given another limit', 'approved_limit_minor = 2000000'],
    ['redated', "decided_at = now() - interval '1 day'"],
  ])('refuses to have its decision %s', async (_change, assignments) => {
    const id = await decided();
    const before = await asTenant(ours, async (tx) => (await tx.query('SELECT * FROM credit_applications WHERE id = $1', [id])).rows[0]);
    const err = await failureOf(asTenant(ours, (tx) => tx.query(`UPDATE credit_applications SET ${assignments} WHERE id = $1`, [id])));
    expect(err.message).toMatch(/is already approved/);
    const after = await asTenant(ours, async (tx) => (await tx.query('SELECT * FROM credit_applications WHERE id = $1', [id])).rows[0]);
    expect(after).toEqual(before);
  });

  it.each<[string, DecisionWrite['decision'], DecisionWrite['decision']]>([
    ['one approves, the other declines', 'approved', 'declined'],
    ['both approve the same limit', 'approved', 'approved'],
  ])('is written by exactly one of two underwriters deciding at once (%s)', async (_case, first, second) => {
    const id = await asTenant(ours, (tx) => insertCreditApplication(tx, ours));
    const [one, two] = [await app.connect(), await app.connect()];
    try {
      for (const c of [one, two]) {
        await c.query('BEGIN');
        await scopeToTenant(c, ours);
        // Both underwriters see the application undecided.
        expect((await c.query('SELECT decision FROM credit_applications WHERE id = $1', [id])).rows[0]).toEqual({ decision: null });
      }
      await writeDecision(one, id, { decision: first, underwriterId: 'uw-1' });
      const pidTwo = (await two.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      const secondWrite = writeDecision(two, id, { decision: second, underwriterId: 'uw-2' }).then(() => 'written', (e: Error) => e);
      await eventually('the second write to wait on the first one’s row lock', async () =>
        (await app.query('SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1', [pidTwo])).rows[0]?.wait_event_type === 'Lock',
      );
      await one.query('COMMIT');
      const outcome = await secondWrite;
      expect(outcome).toBeInstanceOf(Error);
      expect((outcome as Error).message).toMatch(new RegExp(`is already ${first}`));
      await two.query('ROLLBACK');
    } finally {
      one.release();
      two.release();
    }
    expect(await decisionOf(id)).toEqual({ decision: first, underwriter_id: 'uw-1' });
  });
});

describe("another tenant's rows as references", () => {
  const accountId = (tenantId: string, systemKey: string) =>
    asTenant(tenantId, async (tx) => (await tx.query<{ id: string }>('SELECT id FROM ledger_accounts WHERE system_key = $1', [systemKey])).rows[0]!.id);

  it("refuses a posting to another tenant's ledger account, and their books do not move", async () => {
    const [ourCash, theirCash] = [await accountId(ours, 'cash'), await accountId(theirs, 'cash')];
    const theirsBefore = await asTenant(theirs, (tx) => accountBalance(tx, 'cash', 'EUR'));
    const transfer = (to: string): JournalEntryInput => ({
      id: randomUUID(),
      tenantId: ours,
      effectiveAt: new Date(),
      description: 'transfer',
      source: { type: 'test', id: randomUUID() },
      postings: [
        { account: { accountId: ourCash }, amount: money(-5000, 'EUR') },
        { account: { accountId: to }, amount: money(5000, 'EUR') },
      ],
    });
    // The same write to an account of our own goes through: what is refused below is the other tenant's account.
    const ourEquity = await accountId(ours, 'equity');
    await asTenant(ours, (tx) => postJournalEntry(tx, transfer(ourEquity)));

    const entry = transfer(theirCash);
    await failureOf(asTenant(ours, (tx) => postJournalEntry(tx, entry)));
    // Written by hand, the rows are refused too (by the ledger's grants, and by the (tenant_id, account_id) foreign key).
    await failureOf(
      asTenant(ours, async (tx) => {
        await tx.query(
          "INSERT INTO journal_entries (id, tenant_id, effective_at, description, source_type, source_id) VALUES ($1, $2, now(), 'by hand', 'test', $3)",
          [entry.id, ours, entry.id],
        );
        const post = (account: string, amountMinor: number) =>
          tx.query("INSERT INTO postings (tenant_id, entry_id, account_id, currency, amount_minor) VALUES ($1, $2, $3, 'EUR', $4)", [ours, entry.id, account, amountMinor]);
        await post(ourCash, -5000);
        await post(theirCash, 5000);
      }),
    );
    expect(await asTenant(theirs, (tx) => accountBalance(tx, 'cash', 'EUR'))).toBe(theirsBefore);
    expect(await asTenant(ours, async (tx) => (await tx.query('SELECT 1 FROM journal_entries WHERE id = $1', [entry.id])).rowCount)).toBe(0);
  });

  it("refuses a hold on another tenant's ledger account", async () => {
    const theirClearing = await accountId(theirs, 'provider_clearing');
    const err = await failureOf(
      asTenant(ours, (tx) =>
        tx.query(
          `INSERT INTO ledger_holds (id, tenant_id, account_id, currency, amount_minor, source_type, source_id, expires_at)
           VALUES ($1, $2, $3, 'EUR', 700, 'payment', 'p-1', now() + interval '1 day')`,
          [randomUUID(), ours, theirClearing],
        ),
      ),
    );
    expect(err.code).toBe('23503');
  });

  it("refuses a refund against another tenant's payment", async () => {
    const theirPayment = await asTenant(theirs, (tx) => insertPayment(tx, theirs, { status: 'succeeded', capturedMinor: 1000 }));
    const err = await failureOf(
      asTenant(ours, (tx) =>
        tx.query('INSERT INTO payment_refunds (id, tenant_id, payment_id, idempotency_key, amount_minor) VALUES ($1, $2, $3, $4, 500)', [
          randomUUID(),
          ours,
          theirPayment,
          `refund-${randomUUID()}`,
        ]),
      ),
    );
    expect(err.code).toBe('23503');
  });

  it("refuses a credit line on another tenant's application", async () => {
    const theirApplication = await asTenant(theirs, (tx) => insertCreditApplication(tx, theirs));
    const err = await failureOf(
      asTenant(ours, (tx) =>
        tx.query("INSERT INTO credit_lines (id, tenant_id, application_id, limit_minor, currency) VALUES ($1, $2, $3, 1000000, 'TWD')", [
          randomUUID(),
          ours,
          theirApplication,
        ]),
      ),
    );
    expect(err.code).toBe('23503');
  });
});
