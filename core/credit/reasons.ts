/**
 * Reason codes: the specific principal reasons for a credit decision, as an adverse-action notice gives them
 * (US Regulation B, 12 CFR 1002.9). The model is additive, so each feature's contribution to the decision logit is
 * exact; contributions are centred on the training population, so a positive one means "riskier than the average
 * applicant". Related features form one reason (six months of balances are one reason, not six), a reason's weight
 * is the sum of its features' contributions, and the wording is fixed per code and picked by the applicant's own
 * values, never the raw feature names. Pure and workflow-safe.
 */
import { featureMap, type ModelFeature } from './features';

export interface ReasonCode {
  code: ReasonCodeId;
  text: string;
  /** How far this reason pushed the logit toward default (always > 0). */
  impact: number;
  features: ModelFeature[];
}

type Values = Record<ModelFeature, number>;

/** Every code and its wording, for documentation and the API's consumers. */
export const REASON_CATALOGUE = {
  D01: 'Most recent payment 2 or more months late',
  D02: 'Most recent payment 1 month late',
  D03: 'Only the minimum paid on the most recent statement',
  D04: 'No recent use of credit',
  D05: 'Most recent repayment record',
  D11: 'A payment 2 or more months late in the previous five months',
  D12: 'A payment 1 month late in the previous five months',
  D13: 'Only minimum payments in the previous five months',
  D14: 'Little use of credit in the previous five months',
  D15: 'Repayment record in the previous five months',
  L01: 'Total credit limit is low',
  B01: 'Balances close to the credit limit',
  B02: 'No outstanding balances in the last six months',
  B03: 'Level of outstanding balances in the last six months',
  P01: 'No payment made last month',
  P02: 'Amount paid last month is low',
  P11: 'No payments made in the previous five months',
  P12: 'Amounts paid in the previous five months are low',
  K01: 'Unable to verify identity',
  K02: 'Incomplete identity information',
  K03: 'Applicant does not meet the minimum age',
  R01: 'Application could not be reviewed before its deadline',
} as const;
export type ReasonCodeId = keyof typeof REASON_CATALOGUE;

/** A code with its fixed wording. */
export const reason = (code: ReasonCodeId) => ({ code, text: REASON_CATALOGUE[code] });

interface ReasonGroup {
  features: ModelFeature[];
  /** The reason code for these values (its wording is in REASON_CATALOGUE). */
  describe(v: Values): ReasonCodeId;
}

const EARLIER_STATUS: ModelFeature[] = ['PAY_2', 'PAY_3', 'PAY_4', 'PAY_5', 'PAY_6'];
const BALANCES: ModelFeature[] = ['BILL_AMT1', 'BILL_AMT2', 'BILL_AMT3', 'BILL_AMT4', 'BILL_AMT5', 'BILL_AMT6'];
const EARLIER_PAYMENTS: ModelFeature[] = ['PAY_AMT2', 'PAY_AMT3', 'PAY_AMT4', 'PAY_AMT5', 'PAY_AMT6'];

export const REASON_GROUPS: readonly ReasonGroup[] = [
  {
    features: ['PAY_0'],
    describe: ({ PAY_0: s }) =>
      s >= 2 ? 'D01'
      : s === 1 ? 'D02'
      : s === 0 ? 'D03'
      : s === -2 ? 'D04'
      : 'D05',
  },
  {
    features: EARLIER_STATUS,
    describe: (v) => {
      const worst = Math.max(...EARLIER_STATUS.map((f) => v[f]));
      if (worst >= 2) return 'D11';
      if (worst === 1) return 'D12';
      if (worst === 0) return 'D13';
      if (EARLIER_STATUS.some((f) => v[f] === -2)) return 'D14';
      return 'D15';
    },
  },
  {
    features: ['LIMIT_BAL'],
    describe: () => 'L01',
  },
  {
    features: BALANCES,
    describe: (v) => {
      if (v.BILL_AMT1 >= 0.8 * v.LIMIT_BAL) return 'B01';
      if (BALANCES.every((f) => v[f] <= 0)) return 'B02';
      return 'B03';
    },
  },
  {
    features: ['PAY_AMT1'],
    describe: (v) => (v.PAY_AMT1 === 0 ? 'P01' : 'P02'),
  },
  {
    features: EARLIER_PAYMENTS,
    describe: (v) =>
      EARLIER_PAYMENTS.every((f) => v[f] === 0)
        ? 'P11'
        : 'P12',
  },
];


export const MAX_REASONS = 4;
/** Contributions this small are float noise, not a reason. */
const MIN_IMPACT = 1e-6;

/**
 * Up to four reasons, strongest first: the groups whose summed contribution pushed the logit furthest toward
 * default. `contributions` are per feature, in MODEL_FEATURES order, as the model outputs them.
 */
export function reasonCodes(vector: readonly number[], contributions: readonly number[], max = MAX_REASONS): ReasonCode[] {
  const values = featureMap(vector);
  const index = featureMap(contributions.map((_, i) => i));
  return REASON_GROUPS.map((g) => ({ ...reason(g.describe(values)), impact: g.features.reduce((s, f) => s + contributions[index[f]]!, 0), features: g.features }))
    .filter((r) => r.impact > MIN_IMPACT)
    .sort((a, b) => b.impact - a.impact)
    .slice(0, max);
}
