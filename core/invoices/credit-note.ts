/**
 * A credit note against an issued invoice reverses revenue and tax pro rata: its gross amount is split between
 * net and tax in the proportion of the invoice's own subtotal and tax, without losing or inventing a minor unit
 * (core/money allocate). What is still owed is reduced first; whatever the credit exceeds that by (the invoice was
 * paid) becomes the customer's credit balance. Pure and workflow-safe.
 */
import { allocate, type Currency } from '../money';

export interface CreditSplit {
  netMinor: number;
  taxMinor: number;
  /** Taken off what the customer still owes (receivable). */
  againstOutstandingMinor: number;
  /** Owed back to the customer: their credit balance, usable on a later invoice. */
  toCustomerCreditMinor: number;
}

export function splitCredit(input: { amountMinor: number; subtotalMinor: number; taxMinor: number; outstandingMinor: number; currency: Currency }): CreditSplit {
  const { amountMinor, subtotalMinor, taxMinor, outstandingMinor, currency } = input;
  const [net, tax] = subtotalMinor + taxMinor === 0 ? [{ amountMinor }, { amountMinor: 0 }] : allocate({ amountMinor, currency }, [subtotalMinor, taxMinor]);
  const againstOutstandingMinor = Math.min(amountMinor, Math.max(outstandingMinor, 0));
  return { netMinor: net!.amountMinor, taxMinor: tax!.amountMinor, againstOutstandingMinor, toCustomerCreditMinor: amountMinor - againstOutstandingMinor };
}
