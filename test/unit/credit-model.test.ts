/**
 * The committed scorecard in Node (onnxruntime-node) against the Python model that trained it: the parity vectors
 * are generated (not dataset rows) and scored in Python by the booster itself, in float64, when the model is built
 * (models/credit/train.py). Also: the additive identity, and the load-time failures that must stop a worker.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CreditModelLoadError, CreditScorer, defaultModelPath, tableContributions, type ContributionTables, type Score } from '../../activities/credit/scorer';
import { MODEL_FEATURES } from '../../core/credit/features';
import { reasonCodes } from '../../core/credit/reasons';
import { expectStrongestReasons } from '../support/credit-reasons';

interface ParityVectors {
  modelVersion: string;
  features: string[];
  vectors: number[][];
  pd: number[];
  logit: number[];
  contributions: number[][];
}

const modelPath = defaultModelPath();
const artifacts = path.dirname(modelPath);
const parity = JSON.parse(fs.readFileSync(path.join(artifacts, 'parity-vectors.json'), 'utf8')) as ParityVectors;
let scorer: CreditScorer;
let scores: Score[];

beforeAll(async () => {
  scorer = await CreditScorer.load(modelPath);
  scores = await scorer.scoreBatch(parity.vectors);
});
afterAll(() => scorer.close());

const maxAbs = (xs: number[]) => Math.max(...xs.map(Math.abs));

describe('the credit scorecard in Node', () => {
  it('is the model the parity vectors were scored with, on FinFlow’s features', () => {
    expect(scorer.modelVersion).toBe(parity.modelVersion);
    expect(parity.features).toEqual([...MODEL_FEATURES]);
    expect(parity.vectors.length).toBeGreaterThanOrEqual(200);
  });

  it('matches the Python model’s probability of default within 1e-6 on every generated vector', () => {
    const diffs = scores.map((s, i) => s.probabilityOfDefault - parity.pd[i]!);
    expect(maxAbs(diffs)).toBeLessThanOrEqual(1e-6);
    // And the scores spread: a constant model would pass the line above on a degenerate fixture.
    expect(Math.max(...parity.pd) - Math.min(...parity.pd)).toBeGreaterThan(0.3);
  });

  it('matches the Python model’s logit and per-feature contributions', () => {
    expect(maxAbs(scores.map((s, i) => s.logit - parity.logit[i]!))).toBeLessThanOrEqual(1e-5);
    expect(maxAbs(scores.flatMap((s, i) => s.contributions.map((c, j) => c - parity.contributions[i]![j]!)))).toBeLessThanOrEqual(1e-5);
  });

  it('is additive: contributions plus the intercept equal the logit, and the contribution tables give the same contributions', () => {
    for (const [i, s] of scores.entries()) {
      const sum = s.contributions.reduce((a, b) => a + b, scorer.tables.intercept);
      expect(Math.abs(sum - s.logit)).toBeLessThanOrEqual(1e-5);
      expect(Math.abs(1 / (1 + Math.exp(-s.logit)) - s.probabilityOfDefault)).toBeLessThanOrEqual(1e-6);
      const fromTables = tableContributions(scorer.tables, parity.vectors[i]!);
      expect(maxAbs(fromTables.map((c, j) => c - s.contributions[j]!))).toBeLessThanOrEqual(1e-5);
      // In float64 the identity is exact up to rounding: the Python side's numbers.
      const python = parity.contributions[i]!.reduce((a, b) => a + b, scorer.tables.intercept);
      expect(Math.abs(python - parity.logit[i]!)).toBeLessThanOrEqual(1e-9);
    }
  });

  it('gives each row the groups whose contributions push furthest toward default as its reasons, strongest first', () => {
    const risky = scores.filter((s) => s.probabilityOfDefault >= 0.5);
    expect(risky.length).toBeGreaterThan(5);
    for (const [i, s] of scores.entries()) {
      const reasons = reasonCodes(parity.vectors[i]!, s.contributions);
      if (s.probabilityOfDefault >= 0.5) expect(reasons.length).toBeGreaterThanOrEqual(1);
      expectStrongestReasons(parity.vectors[i]!, s.contributions, reasons);
    }
  });

  it('scores one row the same as a batch', async () => {
    const one = await scorer.score(parity.vectors[7]!);
    expect(one).toEqual(scores[7]);
  });

  it('refuses a vector with a missing or non-finite feature', async () => {
    await expect(scorer.score(parity.vectors[0]!.slice(1))).rejects.toThrow(RangeError);
    await expect(scorer.score([...parity.vectors[0]!.slice(1), Number.NaN])).rejects.toThrow(RangeError);
  });
});

describe('loading a model that is not right', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'finflow-model-'));
    for (const f of ['credit-scorecard.onnx', 'contributions.json']) fs.copyFileSync(path.join(artifacts, f), path.join(dir, f));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const load = () => CreditScorer.load(path.join(dir, 'credit-scorecard.onnx'));

  it('fails with a clear error when the model file is missing', async () => {
    fs.rmSync(path.join(dir, 'credit-scorecard.onnx'));
    await expect(load()).rejects.toThrow(CreditModelLoadError);
    await expect(load()).rejects.toThrow(/cannot be loaded by ONNX Runtime/);
  });

  it('fails when the model file is corrupt', async () => {
    const file = path.join(dir, 'credit-scorecard.onnx');
    const bytes = fs.readFileSync(file);
    fs.writeFileSync(file, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await expect(load()).rejects.toThrow(CreditModelLoadError);
  });

  it('fails when the contribution tables are missing or from another model', async () => {
    const tablesFile = path.join(dir, 'contributions.json');
    const tables = JSON.parse(fs.readFileSync(tablesFile, 'utf8')) as ContributionTables;
    fs.writeFileSync(tablesFile, JSON.stringify({ ...tables, intercept: tables.intercept + 0.5 }));
    await expect(load()).rejects.toThrow(/self-check/);
    fs.writeFileSync(tablesFile, JSON.stringify({ ...tables, features: [...tables.features].reverse() }));
    await expect(load()).rejects.toThrow(/features/);
    fs.rmSync(tablesFile);
    await expect(load()).rejects.toThrow(/contribution tables/);
  });
});
