/**
 * The worked example of test/fixtures/accounting/worked-example.md: its JSON block (the steps and the figures worked
 * out by hand), and a runner that books the steps for a fresh tenant the way the product does: accounts, drafts,
 * approvals and rates over HTTP; platform entries through platform/ledger (as the workflows post them); the close
 * of January through the period function.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Currency } from '../../core/money';
import { withTenant, type Pool } from '../../platform/db/pool';
import { postJournalEntry, reverseJournalEntry, setPeriodStatus } from '../../platform/ledger';
import { bearer, PASSWORD, userWithRole, type TestApi } from './api';

type PostingRow = [code: string, currency: Currency, amountMinor: number];
export type Step =
  | { rate: { base: string; quote: string; date: string; rate: string } }
  | { entry: string; at: string; description: string; kind?: 'closing'; postings?: PostingRow[]; reverses?: string }
  | { draft: string; kind: 'standard' | 'adjusting'; date: string; maker: Actor; checker?: Actor; rejectedBy?: Actor; selfApprovalTried?: boolean; description: string; postings: PostingRow[] }
  | { close: string }
  | { ratesCsv: string };
type Actor = 'admin' | 'finance';

export interface WorkedExample {
  tenant: { name: string; timeZone: string; reportingCurrency: Currency };
  accounts: { code: string; name: string; type: string; subtype: string; isCash?: boolean }[];
  steps: Step[];
  // The expected figures, shaped as the document lays them out (read by the tests).
  expected: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export const WORKED_EXAMPLE_PATH = path.join(__dirname, '../fixtures/accounting/worked-example.md');

export function loadWorkedExample(): WorkedExample {
  const md = fs.readFileSync(WORKED_EXAMPLE_PATH, 'utf8');
  const m = /```json worked-example\n([\s\S]*?)\n```/.exec(md);
  if (!m) throw new Error(`${WORKED_EXAMPLE_PATH} has no \`\`\`json worked-example block`);
  return JSON.parse(m[1]!) as WorkedExample;
}

export interface BookedExample {
  tenantId: string;
  tokens: Record<Actor, string>;
  /** `user:<id>` of each actor, as the journal shows makers and checkers. */
  principals: Record<Actor, string>;
  accountIds: Map<string, string>;
  entryIds: Map<string, string>;
  draftIds: Map<string, string>;
  /** What each refused step answered (the self-approvals). */
  refusals: { step: string; status: number; body: Record<string, unknown> }[];
}

/** Registers the example's tenant (its name, zone and reporting currency) and books every step in order. */
export async function bookWorkedExample(api: TestApi, app: Pool, owner: Pool, example: WorkedExample): Promise<BookedExample> {
  const slug = `kestrel-${randomUUID().slice(0, 8)}`;
  const reg = await api
    .http()
    .post('/api/auth/register')
    .send({ organisation: { name: example.tenant.name, slug, defaultCurrency: 'EUR' }, admin: { email: `admin@${slug}.test`, password: PASSWORD, displayName: 'Admin' } })
    .expect(201);
  const tenantId = reg.body.tenantId as string;
  // No API sets these yet: the owner does, as an operator would.
  await withTenant(owner, tenantId, (tx) => tx.query('UPDATE tenants SET time_zone = $2, reporting_currency = $3 WHERE id = $1', [tenantId, example.tenant.timeZone, example.tenant.reportingCurrency]));
  const registered = { tenantId, slug, adminEmail: `admin@${slug}.test`, admin: reg.body.tokens };
  const tokens: Record<Actor, string> = { admin: reg.body.tokens.accessToken, finance: await userWithRole(api, registered, 'finance') };
  const principals = {} as Record<Actor, string>;
  for (const actor of ['admin', 'finance'] as const) {
    const me = await api.http().get('/api/me').set(bearer(tokens[actor])).expect(200);
    principals[actor] = `user:${me.body.principal.id}`;
  }
  const http = (actor: Actor) => ({
    post: (url: string, body?: unknown) => api.http().post(url).set(bearer(tokens[actor])).send(body as object),
    put: (url: string, body: unknown) => api.http().put(url).set(bearer(tokens[actor])).send(body as object),
  });

  for (const a of example.accounts) await http('finance').post('/api/accounting/accounts', a).expect(201);
  const chart = await api.http().get('/api/accounting/accounts').set(bearer(tokens.finance)).expect(200);
  const accountIds = new Map<string, string>(chart.body.data.map((a: { code: string; id: string }) => [a.code, a.id]));
  const account = (code: string) => accountIds.get(code) ?? fail(`the example names account ${code}, which the chart lacks`);

  const booked: BookedExample = { tenantId, tokens, principals, accountIds, entryIds: new Map(), draftIds: new Map(), refusals: [] };
  for (const step of example.steps) {
    if ('rate' in step) {
      await http('finance').put('/api/accounting/fx-rates', step.rate).expect(201);
    } else if ('ratesCsv' in step) {
      await http('finance').post('/api/accounting/fx-rates/import', { csv: step.ratesCsv }).expect(201);
    } else if ('close' in step) {
      await withTenant(app, tenantId, (tx) => setPeriodStatus(tx, { periodStart: step.close, action: 'close', actor: principals.admin }));
    } else if ('entry' in step) {
      const id = randomUUID();
      booked.entryIds.set(step.entry, id);
      const common = { id, tenantId, effectiveAt: new Date(step.at), description: `${step.entry} ${step.description}`, source: { type: 'worked_example', id: step.entry } };
      const result = await withTenant(app, tenantId, (tx) =>
        step.reverses
          ? reverseJournalEntry(tx, { ...common, entryId: booked.entryIds.get(step.reverses) ?? fail(`${step.entry} reverses an unknown entry`) })
          : postJournalEntry(tx, {
              ...common,
              kind: step.kind ?? 'standard',
              postings: step.postings!.map(([code, currency, amountMinor]) => ({ account: { accountId: account(code) }, amount: { currency, amountMinor } })),
            }),
      );
      if (result !== 'posted') fail(`${step.entry} was ${result}`);
    } else {
      const draft = await http(step.maker)
        .post('/api/accounting/drafts', {
          kind: step.kind,
          accountingDate: step.date,
          description: `${step.draft} ${step.description}`,
          postings: step.postings.map(([accountCode, currency, amountMinor]) => ({ accountCode, currency, amountMinor })),
        })
        .expect(201);
      booked.draftIds.set(step.draft, draft.body.id);
      if (step.selfApprovalTried) {
        const refused = await http(step.maker).post(`/api/accounting/drafts/${draft.body.id}/approve`);
        booked.refusals.push({ step: step.draft, status: refused.status, body: refused.body });
      }
      if (step.checker) {
        const approved = await http(step.checker).post(`/api/accounting/drafts/${draft.body.id}/approve`).expect(200);
        if (approved.body.status !== 'posted') fail(`${step.draft} is ${approved.body.status} after approval`);
        booked.entryIds.set(step.draft, approved.body.entryId);
      } else if (step.rejectedBy) {
        await http(step.rejectedBy).post(`/api/accounting/drafts/${draft.body.id}/reject`, { reason: 'not a double payment: the bank statement shows one' }).expect(200);
      }
    }
  }
  return booked;
}

function fail(message: string): never {
  throw new Error(message);
}
