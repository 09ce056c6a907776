/**
 * Per-account login throttling with exponential backoff, in Redis, keyed by a hash of the (normalised) email, so
 * unknown emails are throttled exactly like real ones and no address is stored. An attempt is counted before the
 * password is checked, atomically with the check for a running wait: parallel guesses cannot all slip in before
 * the first failure is recorded. The `freeAttempts`-th attempt in a row and each one after it start a wait that
 * doubles (`backoffSeconds`, twice that, ... up to `maxBackoffSeconds`), during which every attempt, the right
 * password included, is refused and not counted. A successful login clears the count and the wait; failures are
 * forgotten a day after the last attempt.
 */
import { createHash } from 'node:crypto';
import type Redis from 'ioredis';

// KEYS[1] the account's hash; ARGV: now (ms), free attempts, first wait (s), max wait (s), memory (s).
// Returns the wait left in ms (refused), or 0 (counted and allowed).
const ATTEMPT = `
local now = tonumber(ARGV[1])
local locked = tonumber(redis.call('HGET', KEYS[1], 'lockedUntil') or '0')
if locked > now then return locked - now end
local n = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
local free = tonumber(ARGV[2])
if n >= free then
  local wait = math.min(tonumber(ARGV[3]) * 2 ^ (n - free), tonumber(ARGV[4]))
  redis.call('HSET', KEYS[1], 'lockedUntil', now + wait * 1000)
end
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 0`;

const MEMORY_SECONDS = 24 * 3600;

export type AttemptOutcome = { allowed: true } | { allowed: false; retryAfterSeconds: number };

export class LoginThrottle {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly opts: { freeAttempts: number; backoffSeconds: number; maxBackoffSeconds: number },
  ) {}

  private key = (email: string) => `${this.prefix}login:${createHash('sha256').update(email).digest('hex')}`;

  /** Counts an attempt for the account, or refuses it while a wait runs. */
  async attempt(email: string): Promise<AttemptOutcome> {
    const waitMs = Number(await this.redis.eval(ATTEMPT, 1, this.key(email), Date.now(), this.opts.freeAttempts, this.opts.backoffSeconds, this.opts.maxBackoffSeconds, MEMORY_SECONDS));
    return waitMs > 0 ? { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) } : { allowed: true };
  }

  /** The right password: the account's count starts again. */
  async succeeded(email: string): Promise<void> {
    await this.redis.del(this.key(email));
  }
}
