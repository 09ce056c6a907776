/** The chart of accounts as the statements see it (mirrors ledger_accounts: type, subtype, normal balance). */
import type { Currency } from '../money';

export const ACCOUNT_TYPES = ['asset', 'liability', 'equity', 'revenue', 'expense'] as const;
export type AccountType = (typeof ACCOUNT_TYPES)[number];

/** Where an account sits in its statement; the database enforces the same pairs (ledger_accounts_subtype). */
export const SUBTYPES_BY_TYPE = {
  asset: ['current_asset', 'non_current_asset', 'contra_asset'],
  liability: ['current_liability', 'non_current_liability'],
  equity: ['equity'],
  revenue: ['revenue', 'contra_revenue', 'other_income'],
  expense: ['cost_of_sales', 'expense', 'other_expense'],
} as const satisfies Record<AccountType, readonly string[]>;
export type Subtype = (typeof SUBTYPES_BY_TYPE)[AccountType][number];
export const SUBTYPES = Object.values(SUBTYPES_BY_TYPE).flat() as Subtype[];

export function subtypeFits(type: AccountType, subtype: string): subtype is Subtype {
  return (SUBTYPES_BY_TYPE[type] as readonly string[]).includes(subtype);
}

export interface ChartAccount {
  id: string;
  code: string;
  name: string;
  type: AccountType;
  subtype: Subtype;
  isCash: boolean;
  systemKey: string | null;
  normalBalance: 'debit' | 'credit';
}

/** One account's balance or movement in one currency: debits minus credits. */
export interface AccountAmount {
  accountId: string;
  currency: Currency;
  dmc: bigint;
}

export const isProfitAndLoss = (a: ChartAccount) => a.type === 'revenue' || a.type === 'expense';

/** The amount in the account's normal direction (a credit-normal account's credit balance is positive). */
export const inNormalDirection = (a: ChartAccount, dmc: bigint) => (a.normalBalance === 'credit' ? -dmc : dmc);
