/**
 * A quality floor for the committed credit model, computed here and not read from its metrics: the validation split
 * of the training file is scored in Node (onnxruntime-node, through the worker's CreditScorer) and its AUC, KS and
 * calibration are computed in this file. The split rule is train.py's hash_buckets: sha256 of the comma-joined 19
 * model inputs, first 8 bytes big-endian, mod 100; buckets 80..99 are validation.
 *
 * The training file is not committed (models/credit/README.md): without it at ../shared/data the test is skipped and
 * says so in its name.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { CreditScorer, defaultModelPath } from '../../activities/credit/scorer';
import { MODEL_FEATURES } from '../../core/credit/features';

const root = path.resolve(__dirname, '../..');
const dataFile = path.join(root, '../shared/data/credit-default-taiwan.train.csv');
const TARGET = 'default payment next month';
const VALIDATION_BUCKETS = { from: 80, to: 100 } as const; // [from, to)

/** The floors, and how far calibration may stray from perfect. */
const FLOOR = {
  auc: 0.77,
  ks: 0.4,
  /** |mean PD - observed default rate| */
  calibrationInTheLarge: 0.02,
  /** Slope of the logistic regression of the outcome on logit(PD): 1 is perfect. */
  calibrationSlope: { min: 0.9, max: 1.1 },
  /** Node's AUC against the one train.py wrote (float32 ONNX scores vs float64 Python ones). */
  aucAgreement: 1e-3,
} as const;

interface Metrics {
  split: { validation: number };
  scorecard: { validation: { auc: number } };
}

function hashBucket(inputs: readonly number[]): number {
  const digest = createHash('sha256').update(inputs.map(String).join(',')).digest();
  return Number(digest.readBigUInt64BE(0) % 100n);
}

function validationRows(csv: string): { vectors: number[][]; outcomes: number[] } {
  const [header, ...lines] = csv.trimEnd().split('\n');
  const columns = header!.split(',');
  const featureAt = MODEL_FEATURES.map((f) => columns.indexOf(f));
  const targetAt = columns.indexOf(TARGET);
  if (featureAt.includes(-1) || targetAt === -1) throw new Error(`${dataFile} lacks a model input or the outcome column`);
  const vectors: number[][] = [];
  const outcomes: number[] = [];
  for (const line of lines) {
    const cells = line.split(',').map(Number);
    const vector = featureAt.map((i) => cells[i]!);
    const bucket = hashBucket(vector);
    if (bucket >= VALIDATION_BUCKETS.from && bucket < VALIDATION_BUCKETS.to) {
      vectors.push(vector);
      outcomes.push(cells[targetAt]!);
    }
  }
  return { vectors, outcomes };
}

/** Rank-sum (Mann-Whitney) AUC, ties counted as half. */
function auc(y: readonly number[], score: readonly number[]): number {
  const order = score.map((s, i) => [s, i] as const).sort((a, b) => a[0] - b[0]);
  let rankSumPositives = 0;
  for (let k = 0; k < order.length; ) {
    let end = k;
    while (end + 1 < order.length && order[end + 1]![0] === order[k]![0]) end++;
    const averageRank = (k + end) / 2 + 1;
    for (let j = k; j <= end; j++) if (y[order[j]![1]] === 1) rankSumPositives += averageRank;
    k = end + 1;
  }
  const positives = y.filter((v) => v === 1).length;
  const negatives = y.length - positives;
  return (rankSumPositives - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** Kolmogorov-Smirnov: the largest gap between the cumulative score distributions of defaulters and the others. */
function ks(y: readonly number[], score: readonly number[]): number {
  const order = score.map((s, i) => [s, i] as const).sort((a, b) => b[0] - a[0]);
  const positives = y.filter((v) => v === 1).length;
  const negatives = y.length - positives;
  let tp = 0;
  let fp = 0;
  let best = 0;
  for (let k = 0; k < order.length; k++) {
    if (y[order[k]![1]] === 1) tp++;
    else fp++;
    // Only between distinct scores: a threshold cannot split tied rows.
    if (k + 1 === order.length || order[k + 1]![0] !== order[k]![0]) best = Math.max(best, tp / positives - fp / negatives);
  }
  return best;
}

/** Unpenalised logistic regression y ~ sigmoid(slope * x + intercept), by Newton's method. */
function logisticFit(x: readonly number[], y: readonly number[]): { slope: number; intercept: number } {
  let a = 0;
  let b = 0;
  for (let iteration = 0; iteration < 100; iteration++) {
    let ga = 0, gb = 0, haa = 0, hab = 0, hbb = 0;
    for (let i = 0; i < x.length; i++) {
      const p = 1 / (1 + Math.exp(-(a * x[i]! + b)));
      const w = p * (1 - p);
      ga += (y[i]! - p) * x[i]!;
      gb += y[i]! - p;
      haa += w * x[i]! * x[i]!;
      hab += w * x[i]!;
      hbb += w;
    }
    const det = haa * hbb - hab * hab;
    const da = (hbb * ga - hab * gb) / det;
    const db = (haa * gb - hab * ga) / det;
    a += da;
    b += db;
    if (Math.max(Math.abs(da), Math.abs(db)) < 1e-12) break;
  }
  return { slope: a, intercept: b };
}

const mean = (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;

if (!fs.existsSync(dataFile)) {
  it.skip(`credit model quality floors: skipped, no training data at ${path.relative(root, dataFile)} (models/credit/README.md)`, () => {});
} else {
  describe('the committed credit model on its validation split, scored in Node', () => {
    let scorer: CreditScorer;
    let outcomes: number[];
    let pd: number[];
    const metrics = JSON.parse(fs.readFileSync(path.join(path.dirname(defaultModelPath()), 'metrics.json'), 'utf8')) as Metrics;

    beforeAll(async () => {
      const split = validationRows(fs.readFileSync(dataFile, 'utf8'));
      outcomes = split.outcomes;
      scorer = await CreditScorer.load(defaultModelPath());
      pd = [];
      for (let k = 0; k < split.vectors.length; k += 1000) {
        pd.push(...(await scorer.scoreBatch(split.vectors.slice(k, k + 1000))).map((s) => s.probabilityOfDefault));
      }
    });
    afterAll(() => scorer?.close());

    it('selects the same validation rows as train.py', () => {
      expect(outcomes).toHaveLength(metrics.split.validation);
      expect(pd.every((p) => p > 0 && p < 1)).toBe(true);
    });

    it(`ranks defaulters above the others: AUC >= ${FLOOR.auc}, KS >= ${FLOOR.ks}`, () => {
      expect(auc(outcomes, pd)).toBeGreaterThanOrEqual(FLOOR.auc);
      expect(ks(outcomes, pd)).toBeGreaterThanOrEqual(FLOOR.ks);
    });

    it(`is calibrated in the large: mean PD within ${FLOOR.calibrationInTheLarge} of the observed default rate`, () => {
      expect(Math.abs(mean(pd) - mean(outcomes))).toBeLessThanOrEqual(FLOOR.calibrationInTheLarge);
    });

    it(`is neither over- nor under-confident: calibration slope within ${FLOOR.calibrationSlope.min}..${FLOOR.calibrationSlope.max}`, () => {
      const { slope } = logisticFit(pd.map((p) => Math.log(p) - Math.log1p(-p)), outcomes);
      expect(slope).toBeGreaterThanOrEqual(FLOOR.calibrationSlope.min);
      expect(slope).toBeLessThanOrEqual(FLOOR.calibrationSlope.max);
    });

    it(`agrees with the validation AUC train.py recorded, within ${FLOOR.aucAgreement}`, () => {
      expect(Math.abs(auc(outcomes, pd) - metrics.scorecard.validation.auc)).toBeLessThanOrEqual(FLOOR.aucAgreement);
    });
  });
}
