/** Transactions of the accounting module: tenant-scoped writes, and reports read from one consistent snapshot. */
import { withTenant, type Pool, type PoolClient } from '../../platform/db/pool';
import { AccountingError } from '../../core/accounting';
import { LedgerError } from '../../platform/ledger';

export { withTenant, type Pool, type PoolClient };

/**
 * A report's queries (chart, balances, rates, postings) in one REPEATABLE READ, READ ONLY transaction: every figure
 * comes from the same state of the books, even while entries are being posted.
 */
export function readSnapshot<T>(db: Pool, tenantId: string, fn: (tx: PoolClient) => Promise<T>): Promise<T> {
  return withTenant(db, tenantId, fn, 'snapshot');
}

/** PostgreSQL refusals of the accounting functions (their HINT) and constraints, as AccountingErrors. */
export function translatePg(err: unknown): never {
  const e = err as { code?: string; hint?: string; message?: string; constraint?: string };
  const message = e.message ?? 'refused';
  // platform/ledger has already read the HINT into a LedgerError's code.
  const hint = err instanceof LedgerError ? err.code : e.hint;
  switch (hint) {
    case 'four-eyes':
      throw new AccountingError('four-eyes', message);
    case 'unknown-entry':
    case 'unknown-period':
      throw new AccountingError('not-found', message);
    case 'invalid-transition':
    case 'closed-period':
    case 'conflicting-entry':
    case 'already-reversed':
      throw new AccountingError('conflict', message);
    case 'unbalanced':
    case 'invalid-entry':
    case 'unknown-account':
      throw new AccountingError('invalid', message);
  }
  if (e.code === '23505') throw new AccountingError('conflict', e.constraint === 'ledger_accounts_tenant_id_code_key' ? 'That account code is taken' : message);
  if (e.code === '23514') throw new AccountingError('invalid', `refused by ${e.constraint ?? 'a check'}`);
  throw err;
}
