/** A tenant's time zone: chosen at registration, its accounting periods exist from the start, bad zones refused. */
import { randomUUID } from 'node:crypto';
import { createPool, withTenant, type Pool } from '../../platform/db/pool';
import { timeZone } from '../../api/schemas';
import { PASSWORD, startApi, type TestApi } from '../support/api';
import { testConfig } from '../support/env';

let api: TestApi;
let owner: Pool; // the schema owner: reads the new tenant's rows
beforeAll(() => {
  api = startApi();
  owner = createPool(testConfig().DATABASE_MIGRATION_URL, 2);
});
afterAll(async () => {
  await api.close();
  await owner.end();
});

const body = (timeZone?: string) => {
  const slug = `tz-${randomUUID().slice(0, 12)}`;
  return {
    organisation: { name: 'Taipei Trading', slug, defaultCurrency: 'TWD', ...(timeZone === undefined ? {} : { timeZone }) },
    admin: { email: `ada@${slug}.test`, password: PASSWORD, displayName: 'Ada' },
  };
};

describe('registering an organisation with a time zone', () => {
  it('stores the zone and opens this month’s period and the next twelve', async () => {
    const res = await api.http().post('/api/auth/register').send(body('Asia/Taipei'));
    expect(res.status).toBe(201);
    const tenantId = res.body.tenantId as string;
    const { zone, periods } = await withTenant(owner, tenantId, async (tx) => ({
      zone: (await tx.query<{ time_zone: string }>('SELECT time_zone FROM tenants')).rows[0]!.time_zone,
      periods: (await tx.query<{ s: string; status: string }>("SELECT to_char(period_start, 'YYYY-MM-DD') AS s, status FROM accounting_periods ORDER BY 1")).rows,
    }));
    expect(zone).toBe('Asia/Taipei');
    expect(periods).toHaveLength(13);
    expect(periods.every((p) => p.status === 'open' && p.s.endsWith('-01'))).toBe(true);
    // The first is this month in Taipei.
    const taipeiMonth = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Taipei', year: 'numeric', month: '2-digit' }).format(new Date()).slice(0, 7);
    expect(periods[0]!.s.slice(0, 7)).toBe(taipeiMonth);
  });

  it('defaults to UTC', async () => {
    const res = await api.http().post('/api/auth/register').send(body());
    expect(res.status).toBe(201);
    const zone = await withTenant(owner, res.body.tenantId as string, async (tx) => (await tx.query<{ time_zone: string }>('SELECT time_zone FROM tenants')).rows[0]!.time_zone);
    expect(zone).toBe('UTC');
  });

  it.each(['Mars/Olympus_Mons', 'Europe/Berlin; DROP TABLE tenants', '', 'x'.repeat(65)])('refuses %p with a 400 naming the field, and registers nothing', async (tz) => {
    const b = body(tz);
    const res = await api.http().post('/api/auth/register').send(b);
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain('body.organisation.timeZone');
    // Nothing was registered: the same slug and email are still free.
    const again = await api.http().post('/api/auth/register').send({ ...b, organisation: { ...b.organisation, timeZone: 'Europe/Berlin' } });
    expect(again.status).toBe(201);
  });
});

describe('a time zone the runtime knows and PostgreSQL does not', () => {
  // Dropped from the tz database in 2020b; ICU (so Node) still takes it as a link, PostgreSQL's zone list no longer has it.
  const ZONE = 'US/Pacific-New';

  beforeAll(async () => {
    // What makes this test mean something: Node takes the name, PostgreSQL does not.
    expect(() => new Intl.DateTimeFormat('en', { timeZone: ZONE })).not.toThrow();
    expect((await owner.query('SELECT count(*)::int AS n FROM pg_timezone_names WHERE name = $1', [ZONE])).rows[0].n).toBe(0);
  });

  it('is refused at registration with a 400 naming the field, and registers nothing', async () => {
    const b = body(ZONE);
    const res = await api.http().post('/api/auth/register').send(b);
    expect(`${res.status} ${res.headers['content-type']}`).toMatch(/^400 application\/problem\+json/);
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain('body.organisation.timeZone');
    await api.http().post('/api/auth/register').send({ ...b, organisation: { ...b.organisation, timeZone: 'Asia/Taipei' } }).expect(201);
  });

  it('is refused as the books’ new zone with a 400 naming the field, and the zone stays', async () => {
    const registered = await api.http().post('/api/auth/register').send(body('Asia/Taipei')).expect(201);
    const auth = { Authorization: `Bearer ${registered.body.tokens.accessToken}` };
    const res = await api.http().patch('/api/accounting/settings').set(auth).send({ timeZone: ZONE });
    expect(`${res.status} ${res.headers['content-type']}`).toMatch(/^400 application\/problem\+json/);
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain('body.timeZone');
    expect((await api.http().get('/api/accounting/settings').set(auth).expect(200)).body.timeZone).toBe('Asia/Taipei');
  });

  it('is not in the document; every zone the document lists is one PostgreSQL knows and the API takes', async () => {
    const doc = (await api.http().get('/api/openapi.json').expect(200)).body;
    const listed = doc.paths['/api/auth/register'].post.requestBody.content['application/json'].schema.properties.organisation.properties.timeZone.enum as string[];
    expect(listed.length).toBeGreaterThan(300);
    expect(listed).not.toContain(ZONE);
    expect(doc.paths['/api/accounting/settings'].patch.requestBody.content['application/json'].schema.properties.timeZone.enum).toEqual(listed);
    const { rows } = await owner.query<{ name: string }>('SELECT name FROM unnest($1::text[]) AS z(name) WHERE NOT EXISTS (SELECT 1 FROM pg_timezone_names p WHERE p.name = z.name)', [listed]);
    expect(rows.map((r) => r.name)).toEqual([]);
    expect(listed.filter((z) => !timeZone.safeParse(z).success)).toEqual([]);
  });
});
