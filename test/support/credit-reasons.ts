import { featureMap, MODEL_FEATURES } from '../../core/credit/features';
import { MAX_REASONS, REASON_CATALOGUE, REASON_GROUPS } from '../../core/credit/reasons';

interface GivenReason {
  code: string;
  text: string;
  impact: number;
  features: readonly string[];
}

/**
 * What a decision's reasons must be, by property, whatever model is committed: the reason groups whose summed
 * contributions push the logit furthest toward default, strongest first, each with its fixed wording for the
 * applicant's own values, at most MAX_REASONS of them and only ones that push toward default. The expectation is
 * computed here from the contributions, so a retrained model changes the expected codes with it.
 */
export function expectStrongestReasons(vector: readonly number[], contributions: readonly number[], reasons: readonly GivenReason[]): void {
  const values = featureMap(vector);
  const groups = REASON_GROUPS.map((g) => ({
    features: g.features,
    code: g.describe(values),
    impact: g.features.reduce((s, f) => s + contributions[MODEL_FEATURES.indexOf(f)]!, 0),
  }));
  const pushing = groups.filter((g) => g.impact > 1e-6).sort((a, b) => b.impact - a.impact);
  expect(reasons.length).toBe(Math.min(MAX_REASONS, pushing.length));
  reasons.forEach((r, k) => {
    const expected = pushing[k]!;
    expect({ code: r.code, features: [...r.features] }).toEqual({ code: expected.code, features: expected.features });
    expect(r.impact).toBeCloseTo(expected.impact, 9);
    expect(r.impact).toBeGreaterThan(0);
    expect(r.text).toBe(REASON_CATALOGUE[r.code as keyof typeof REASON_CATALOGUE]);
  });
}
