/**
 * The credit model's inputs: how an application's credit profile becomes the model's feature vector, in the
 * model's order (models/credit/MODEL_CARD.md). Pure and workflow-safe.
 *
 * The model was trained on one Taiwanese issuer's 2005 card data in whole New Taiwan dollars, so the profile's
 * amounts must be in TWD; API amounts are integer minor units and are converted here. SEX, MARRIAGE, AGE and
 * EDUCATION are not inputs and are never collected for scoring.
 */
import { minorUnitExponent } from '../money';

export const MODEL_FEATURES = [
  'LIMIT_BAL',
  'PAY_0', 'PAY_2', 'PAY_3', 'PAY_4', 'PAY_5', 'PAY_6',
  'BILL_AMT1', 'BILL_AMT2', 'BILL_AMT3', 'BILL_AMT4', 'BILL_AMT5', 'BILL_AMT6',
  'PAY_AMT1', 'PAY_AMT2', 'PAY_AMT3', 'PAY_AMT4', 'PAY_AMT5', 'PAY_AMT6',
] as const;
export type ModelFeature = (typeof MODEL_FEATURES)[number];

/** The currency the model's amounts are in. */
export const MODEL_CURRENCY = 'TWD';
export const PROFILE_MONTHS = 6;
/** Repayment status codes: -2 no balance/no use, -1 paid in full, 0 revolving (minimum paid), 1..9 months late. */
export const REPAYMENT_STATUS_MIN = -2;
export const REPAYMENT_STATUS_MAX = 9;

/** An applicant's last six statements, most recent first (bureau-style data, as the model was trained on). */
export interface CreditProfile {
  currency: typeof MODEL_CURRENCY;
  /** Total credit limit the applicant holds today (individual and supplementary cards), minor units. */
  creditLimitMinor: number;
  /** Repayment status per month, most recent first. */
  repaymentStatus: number[];
  /** Statement balance per month, most recent first, minor units (negative: a credit balance). */
  billAmountsMinor: number[];
  /** Amount paid per month, most recent first, minor units. */
  paymentAmountsMinor: number[];
}

/** The feature vector, in MODEL_FEATURES order, in whole model-currency units. */
export function featureVector(profile: CreditProfile): number[] {
  const scale = 10 ** minorUnitExponent(MODEL_CURRENCY);
  const major = (minor: number) => minor / scale;
  const v = [major(profile.creditLimitMinor), ...profile.repaymentStatus, ...profile.billAmountsMinor.map(major), ...profile.paymentAmountsMinor.map(major)];
  if (v.length !== MODEL_FEATURES.length || v.some((x) => !Number.isFinite(x))) {
    throw new RangeError(`a credit profile has ${MODEL_FEATURES.length} finite features; got ${v.length}`);
  }
  return v;
}

/** A named view of a feature vector. */
export function featureMap(vector: readonly number[]): Record<ModelFeature, number> {
  return Object.fromEntries(MODEL_FEATURES.map((f, i) => [f, vector[i]!])) as Record<ModelFeature, number>;
}
