/** The tenant's chart of accounts: reading it, and adding the tenant's own (suffixed) accounts. */
import type { AccountType, ChartAccount, Subtype } from '../../core/accounting';
import { translatePg, type PoolClient } from './db';

interface AccountRow {
  id: string;
  code: string;
  name: string;
  type: AccountType;
  subtype: Subtype;
  is_cash: boolean;
  system_key: string | null;
  normal_balance: 'debit' | 'credit';
}

const COLUMNS = 'id, code, name, type, subtype, is_cash, system_key, normal_balance';

const view = (r: AccountRow): ChartAccount => ({
  id: r.id,
  code: r.code,
  name: r.name,
  type: r.type,
  subtype: r.subtype,
  isCash: r.is_cash,
  systemKey: r.system_key,
  normalBalance: r.normal_balance,
});

export async function chartOfAccounts(tx: PoolClient): Promise<ChartAccount[]> {
  const { rows } = await tx.query<AccountRow>(`SELECT ${COLUMNS} FROM ledger_accounts ORDER BY code`);
  return rows.map(view);
}

export async function accountById(tx: PoolClient, id: string): Promise<ChartAccount | undefined> {
  const { rows } = await tx.query<AccountRow>(`SELECT ${COLUMNS} FROM ledger_accounts WHERE id = $1`, [id]);
  return rows[0] && view(rows[0]);
}

export interface NewAccount {
  code: string;
  name: string;
  type: AccountType;
  subtype: Subtype;
  isCash: boolean;
}

export async function insertAccount(tx: PoolClient, tenantId: string, a: NewAccount): Promise<ChartAccount> {
  const { rows } = await tx
    .query<AccountRow>(`INSERT INTO ledger_accounts (tenant_id, code, name, type, subtype, is_cash) VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${COLUMNS}`, [
      tenantId,
      a.code,
      a.name,
      a.type,
      a.subtype,
      a.isCash,
    ])
    .catch(translatePg);
  return view(rows[0]!);
}

/** Account ids for references by id or by code; the references that match nothing are returned too. */
export async function resolveAccounts(tx: PoolClient, refs: { accountId?: string; accountCode?: string }[]) {
  const ids = refs.flatMap((r) => (r.accountId ? [r.accountId] : []));
  const codes = refs.flatMap((r) => (r.accountCode ? [r.accountCode] : []));
  const { rows } = await tx.query<{ id: string; code: string }>('SELECT id, code FROM ledger_accounts WHERE id = ANY($1::uuid[]) OR code = ANY($2::text[])', [ids, codes]);
  const byId = new Set(rows.map((r) => r.id));
  const byCode = new Map(rows.map((r) => [r.code, r.id]));
  return refs.map((r) => (r.accountId ? (byId.has(r.accountId) ? r.accountId : undefined) : byCode.get(r.accountCode!)));
}
