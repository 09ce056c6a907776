/**
 * Card numbers (PANs) never enter FinFlow: free text that carries one is refused before it is stored, logged or
 * echoed. A PAN here is a run of 13 to 19 digits, optionally grouped by single spaces or dashes, that passes the Luhn
 * check. Only whole runs are tested (a 25-digit reference is not searched for a card inside it), so an order number
 * that fails Luhn, or a longer numeric id, passes. Pure and workflow-safe.
 */
const DIGIT_RUN = /\d(?:[ -]?\d)*/g;
/**
 * A run of 13 or more digits (single spaces or dashes between them): every card number is one, so a string without
 * such a run holds none. The OpenAPI document states free text this way, a little stricter than the Luhn check.
 */
export const CARD_NUMBER_CANDIDATE = '\\d(?:[ -]?\\d){12,}';

export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

export function containsCardNumber(text: string): boolean {
  for (const run of text.match(DIGIT_RUN) ?? []) {
    const digits = run.replace(/[ -]/g, '');
    if (digits.length >= 13 && digits.length <= 19 && luhnValid(digits)) return true;
  }
  return false;
}
