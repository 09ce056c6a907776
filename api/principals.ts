/**
 * Who made a thing and who may check it. A principal is written as 'user:<id>' or 'api_key:<id>' wherever a
 * resource records its maker (payments.created_by, credit_applications.submitted_by, drafts' created_by). A key
 * acts for the person who made it: that person's keys and sessions are one person when duties are separated.
 */
import type { PoolClient } from 'pg';
import { DomainError } from './errors';
import type { Principal } from './middleware/authenticate';

export const principalRef = (p: Principal) => (p.kind === 'user' ? `user:${p.userId}` : `api_key:${p.apiKeyId}`);

/** The person behind a principal ref: the user, or the user who made the key (read in the caller's tenant transaction). */
async function personOf(tx: PoolClient, ref: string): Promise<string> {
  const [kind, id] = ref.split(':');
  if (kind !== 'api_key') return ref;
  const { rows } = await tx.query<{ created_by: string }>('SELECT created_by FROM api_keys WHERE id = $1', [id]);
  return rows[0] ? `user:${rows[0].created_by}` : ref;
}

/**
 * Refuses (403, reason `four-eyes`) a checker who is the maker, directly or through a key either of them made.
 * A resource with no recorded maker (made before makers were recorded) is not refused.
 */
export async function refuseMakerAsChecker(tx: PoolClient, maker: string | null, checker: Principal, what: string): Promise<void> {
  if (!maker) return;
  if ((await personOf(tx, maker)) !== (await personOf(tx, principalRef(checker)))) return;
  throw new DomainError('forbidden', `You made this ${what}: another person must decide it`, { reason: 'four-eyes' });
}
