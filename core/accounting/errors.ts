/**
 * The accounting context's refusals, one type with a code. The API maps each code to an HTTP problem type
 * (api/accounting/service.ts); nothing here knows about HTTP.
 */
export type AccountingErrorCode =
  | 'not-found' // an account, draft or entry this tenant does not have
  | 'conflict' // a code taken, a draft already decided, a closed period
  | 'four-eyes' // the maker of a manual entry deciding it
  | 'invalid' // well-formed but unacceptable (unbalanced draft, an account of another currency...)
  | 'missing-rate' // no exchange rate on or before the report date for a currency pair
  | 'too-large'; // a figure beyond 2^53 - 1 minor units cannot be written as a JSON number

export class AccountingError extends Error {
  constructor(
    readonly code: AccountingErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'AccountingError';
  }
}
