/**
 * The credit scorecard in the worker: one ONNX Runtime session per process, loaded once at start-up. The model
 * (models/credit/artifacts) outputs per-feature contributions, the calibrated logit and the probability of default
 * in one run; its contribution tables sit beside it as JSON. Loading checks that the two agree on probe vectors, so
 * a model file and tables from different trainings, a corrupt file or a wrong input layout stop the worker with a
 * clear error instead of scoring anything.
 */
import fs from 'node:fs';
import path from 'node:path';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { MODEL_FEATURES } from '../../core/credit/features';

export interface ContributionTable {
  feature: string;
  /** Ascending split points: x <= thresholds[0] takes values[0], ..., x > the last takes the last value. */
  thresholds: number[];
  values: number[];
}

export interface ContributionTables {
  modelVersion: string;
  features: string[];
  intercept: number;
  tables: ContributionTable[];
}

export interface Score {
  probabilityOfDefault: number;
  logit: number;
  /** Per feature, in MODEL_FEATURES order: positive = riskier than the average applicant. */
  contributions: number[];
  modelVersion: string;
}

export class CreditModelLoadError extends Error {
  override name = 'CreditModelLoadError';
}

/** Default model location: the committed artifacts, from the repository root (source or dist layout). */
export function defaultModelPath(): string {
  const candidates = [path.resolve(__dirname, '../..'), path.resolve(__dirname, '../../..')];
  const root = candidates.find((d) => fs.existsSync(path.join(d, 'models', 'credit'))) ?? candidates[0]!;
  return path.join(root, 'models', 'credit', 'artifacts', 'credit-scorecard.onnx');
}

/** The step function of each feature, summed: what the ONNX model computes, in float64. */
export function tableContributions(t: ContributionTables, vector: readonly number[]): number[] {
  return t.tables.map((table, i) => {
    const x = vector[i]!;
    let k = 0;
    while (k < table.thresholds.length && x > table.thresholds[k]!) k++;
    return table.values[k]!;
  });
}

/** Probe vectors for the load-time self-check: low, typical and high risk profiles. */
const PROBES = [
  [500000, -1, -1, -1, -1, -1, -1, 3000, 2500, 2000, 1800, 1500, 1200, 3000, 2500, 2000, 1800, 1500, 1200],
  [50000, 0, 0, 0, 0, 0, 0, 45000, 44000, 43000, 42000, 41000, 40000, 2000, 2000, 1800, 1800, 1700, 1700],
  [20000, 3, 2, 2, 2, 2, 2, 19000, 18500, 18000, 17500, 17000, 16500, 0, 0, 0, 0, 0, 0],
];
const SELF_CHECK_TOLERANCE = 1e-4;
/** One row at a time on one thread: a worker scores one application per activity; parallelism is across workers. */
export const SESSION_OPTIONS: InferenceSession.SessionOptions = { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' };

export class CreditScorer {
  private constructor(
    private readonly session: InferenceSession,
    readonly tables: ContributionTables,
  ) {}

  get modelVersion(): string {
    return this.tables.modelVersion;
  }

  /** Loads the model and its tables (contributions.json beside it) and checks them; throws CreditModelLoadError. */
  static async load(modelPath: string): Promise<CreditScorer> {
    const fail = (what: string, cause?: unknown): never => {
      throw new CreditModelLoadError(`credit model ${modelPath}: ${what}${cause instanceof Error ? `: ${cause.message}` : ''}`, { cause });
    };
    const tablesPath = path.join(path.dirname(modelPath), 'contributions.json');
    let tables: ContributionTables;
    try {
      tables = JSON.parse(fs.readFileSync(tablesPath, 'utf8')) as ContributionTables;
    } catch (err) {
      return fail(`cannot read its contribution tables ${tablesPath}`, err);
    }
    if (JSON.stringify(tables.features) !== JSON.stringify(MODEL_FEATURES) || tables.tables?.length !== MODEL_FEATURES.length || !tables.modelVersion) {
      fail(`the tables' features are not FinFlow's ${MODEL_FEATURES.length} model features in order`);
    }
    let session: InferenceSession;
    try {
      session = await InferenceSession.create(modelPath, SESSION_OPTIONS);
    } catch (err) {
      return fail('cannot be loaded by ONNX Runtime', err);
    }
    for (const name of ['contributions', 'logit', 'pd']) if (!session.outputNames.includes(name)) fail(`has no "${name}" output`);
    if (session.inputNames.join() !== 'features') fail('must have exactly one input, "features"');
    const scorer = new CreditScorer(session, tables);
    try {
      const scores = await scorer.scoreBatch(PROBES);
      scores.forEach((s, i) => {
        const expected = tableContributions(tables, PROBES[i]!);
        const worst = Math.max(...expected.map((c, j) => Math.abs(c - s.contributions[j]!)), Math.abs(tables.intercept + expected.reduce((a, b) => a + b, 0) - s.logit));
        if (!(worst <= SELF_CHECK_TOLERANCE)) throw new Error(`the model and its tables disagree by ${worst} on probe ${i}`);
      });
    } catch (err) {
      await session.release();
      return fail('failed its self-check', err);
    }
    return scorer;
  }

  async score(vector: readonly number[]): Promise<Score> {
    return (await this.scoreBatch([vector]))[0]!;
  }

  async scoreBatch(vectors: readonly (readonly number[])[]): Promise<Score[]> {
    const n = vectors.length;
    const width = MODEL_FEATURES.length;
    const input = new Float32Array(n * width);
    vectors.forEach((v, i) => {
      if (v.length !== width || v.some((x) => !Number.isFinite(x))) throw new RangeError(`vector ${i} must have ${width} finite features`);
      input.set(v, i * width);
    });
    const out = await this.session.run({ features: new Tensor('float32', input, [n, width]) });
    const contributions = out.contributions!.data as Float32Array;
    const logit = out.logit!.data as Float32Array;
    const pd = out.pd!.data as Float32Array;
    return vectors.map((_, i) => ({
      probabilityOfDefault: pd[i]!,
      logit: logit[i]!,
      contributions: Array.from(contributions.subarray(i * width, (i + 1) * width)),
      modelVersion: this.tables.modelVersion,
    }));
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
