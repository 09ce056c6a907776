/**
 * One spelling per mailbox. NFKC folds compatibility forms (full-width letters, ligatures) and composes accents
 * (NFD and NFC inputs meet); the result must be plain ASCII, which rules out confusables such as a Cyrillic "а"
 * posing as a Latin "a"; then everything is lower-cased. Internationalised addresses are refused, not guessed at.
 */
/**
 * An address once folded: no two dots in a row, a local part of 1 to 64 characters, a domain of labels. The domain's
 * 253-character bound needs no check of its own: the whole address is at most 254. The OpenAPI document states
 * this pattern (api/identity/schemas.ts).
 */
export const EMAIL_SHAPE = /^(?!.*\.\.)[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;

export type EmailCheck = { ok: true; email: string } | { ok: false; reason: string };

export function normaliseEmail(input: string): EmailCheck {
  const folded = input.normalize('NFKC').trim();
  if (/[^\x00-\x7f]/.test(folded)) return { ok: false, reason: 'must be an ASCII email address' };
  // Length after folding: a ligature is one character as sent and two or three once normalised.
  if (folded.length > 254) return { ok: false, reason: 'must be at most 254 characters' };
  if (!EMAIL_SHAPE.test(folded)) return { ok: false, reason: 'is not a valid email address' };
  return { ok: true, email: folded.toLowerCase() };
}
