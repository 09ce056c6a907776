import { featureVector, MODEL_FEATURES, type CreditProfile, type ModelFeature } from '../../core/credit/features';
import { MAX_REASONS, REASON_CATALOGUE, reasonCodes } from '../../core/credit/reasons';

const profile: CreditProfile = {
  currency: 'TWD',
  creditLimitMinor: 5_000_000,
  repaymentStatus: [2, 0, 1, 0, -1, -2],
  billAmountsMinor: [4_500_000, 4_000_000, 3_000_000, 2_000_000, 1_000_000, -50_000],
  paymentAmountsMinor: [0, 150_000, 0, 0, 120_000, 0],
};
const vector = featureVector(profile);

/** Contributions with the given values by feature, zero elsewhere. */
const contributions = (values: Partial<Record<ModelFeature, number>>) => MODEL_FEATURES.map((f) => values[f] ?? 0);

describe('featureVector', () => {
  it('puts the profile in model order, in whole New Taiwan dollars', () => {
    expect(vector).toEqual([50_000, 2, 0, 1, 0, -1, -2, 45_000, 40_000, 30_000, 20_000, 10_000, -500, 0, 1500, 0, 0, 1200, 0]);
    expect(vector).toHaveLength(MODEL_FEATURES.length);
  });

  it('refuses a profile with the wrong number of months', () => {
    expect(() => featureVector({ ...profile, repaymentStatus: [0, 0, 0] })).toThrow(RangeError);
  });
});

describe('reasonCodes', () => {
  it('orders reasons by their impact toward default, strongest first, in fixed human wording', () => {
    const reasons = reasonCodes(vector, contributions({ PAY_0: 0.9, LIMIT_BAL: 0.2, BILL_AMT1: 0.3, PAY_AMT1: 0.5 }));
    expect(reasons.map((r) => r.code)).toEqual(['D01', 'P01', 'B01', 'L01']);
    expect(reasons.map((r) => r.impact)).toEqual([0.9, 0.5, 0.3, 0.2]);
    for (const r of reasons) {
      expect(r.text).toBe(REASON_CATALOGUE[r.code]);
      expect(r.text).not.toMatch(/PAY_|BILL_|LIMIT_/);
    }
    expect(reasons[0]!.text).toBe('Most recent payment 2 or more months late');
  });

  it('sums the months of one kind into one reason', () => {
    const reasons = reasonCodes(vector, contributions({ PAY_2: 0.1, PAY_3: 0.15, PAY_4: 0.1, PAY_0: 0.3 }));
    expect(reasons[0]).toMatchObject({ code: 'D12', features: ['PAY_2', 'PAY_3', 'PAY_4', 'PAY_5', 'PAY_6'] });
    expect(reasons[0]!.impact).toBeCloseTo(0.35, 12);
    expect(reasons[1]!.code).toBe('D01');
  });

  it('gives at most four reasons, and only ones that pushed toward default', () => {
    const all = reasonCodes(vector, contributions({ PAY_0: 0.6, PAY_2: 0.5, LIMIT_BAL: 0.4, BILL_AMT2: 0.3, PAY_AMT1: 0.2, PAY_AMT3: 0.1 }));
    expect(all).toHaveLength(MAX_REASONS);
    expect(all.map((r) => r.code)).toEqual(['D01', 'D12', 'L01', 'B01']);
    expect(reasonCodes(vector, contributions({ PAY_0: -0.4, LIMIT_BAL: -0.1 }))).toEqual([]);
    // A group whose features pull both ways counts by its net effect.
    expect(reasonCodes(vector, contributions({ BILL_AMT1: 0.3, BILL_AMT2: -0.35 }))).toEqual([]);
  });

  it('picks the wording from the applicant’s own values', () => {
    const clean = featureVector({ ...profile, repaymentStatus: [-2, -2, -2, -1, -1, -1], billAmountsMinor: [0, 0, 0, 0, 0, 0], paymentAmountsMinor: [100, 0, 0, 0, 0, 0] });
    const codes = reasonCodes(clean, contributions({ PAY_0: 0.4, PAY_2: 0.3, BILL_AMT1: 0.2, PAY_AMT2: 0.1 })).map((r) => r.code);
    expect(codes).toEqual(['D04', 'D14', 'B02', 'P11']);
  });
});
