/**
 * The credit model check (models/credit/compare.py, run by `npm test` through train.py --check) passes a retrain
 * that differs from the committed model only in the last bits of its floats, as one from another CPU does, and fails
 * for every real change: a threshold, a tree, a leaf value, a feature, a count, the decision policy. Also: the model
 * version survives last-bit noise; without training data the check is skipped with a reason; the training file can
 * be rebuilt from the full UCI dataset's rows.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(__dirname, '../..');
const modelDir = path.join(root, 'models/credit');
const sharedCsv = path.join(root, '../shared/data/credit-default-taiwan.train.csv');
const checked = ['artifacts/credit-scorecard.onnx', 'artifacts/contributions.json', 'artifacts/parity-vectors.json', 'artifacts/metrics.json',
  'artifacts/roc.png', 'artifacts/calibration.png', 'artifacts/shape-functions.png', 'MODEL_CARD.md'];

let python: string;
let tmp: string;
let candidate: string; // a copy of the committed model, changed by each test

beforeAll(() => {
  // The pinned venv (built once, cached; `npm test` has built it already for the model check).
  const venv = execFileSync('bash', [path.join(root, 'scripts/python-venv.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000 });
  python = path.join(venv.trim().split('\n').pop()!, 'bin/python');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'finflow-model-check-'));
}, 600_000);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

beforeEach(() => {
  candidate = fs.mkdtempSync(path.join(tmp, 'candidate-'));
  for (const f of checked) {
    fs.mkdirSync(path.dirname(path.join(candidate, f)), { recursive: true });
    fs.copyFileSync(path.join(modelDir, f), path.join(candidate, f));
  }
});

function py(args: string[], env: NodeJS.ProcessEnv = {}) {
  const run = spawnSync(python, args, { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000 });
  return { status: run.status, out: `${run.stdout}${run.stderr}` };
}
const compare = () => py([path.join(modelDir, 'compare.py'), modelDir, candidate]);
const versionOf = (dir: string) => py([path.join(modelDir, 'compare.py'), '--version-of', path.join(dir, 'artifacts/contributions.json')]).out.trim();

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
const readJson = (f: string) => JSON.parse(fs.readFileSync(path.join(candidate, f), 'utf8')) as Record<string, Json>;
const writeJson = (f: string, v: unknown) => fs.writeFileSync(path.join(candidate, f), `${JSON.stringify(v, null, 2)}\n`);

/** The next double toward +infinity (one unit in the last place), as another CPU's rounding may give. */
function nextUp(x: number): number {
  const f = new Float64Array([x]);
  const bits = new BigInt64Array(f.buffer);
  bits[0] = x >= 0 ? bits[0]! + 1n : bits[0]! - 1n;
  return f[0]!;
}
/** Every non-integer number in a JSON value moved by one ulp. Returns how many were moved. */
function nudgeFloats(v: Json, counter = { n: 0 }): [Json, number] {
  const walk = (x: Json): Json => {
    if (typeof x === 'number' && !Number.isInteger(x)) { counter.n++; return nextUp(x); }
    if (Array.isArray(x)) return x.map(walk);
    if (x && typeof x === 'object') return Object.fromEntries(Object.entries(x).map(([k, y]) => [k, walk(y)]));
    return x;
  };
  return [walk(v), counter.n];
}

interface Table { feature: string; thresholds: number[]; values: number[] }

describe('the credit model check', () => {
  it('passes the committed model against itself', () => {
    const r = compare();
    expect(r).toMatchObject({ status: 0 });
    expect(r.out).toContain('check: 8 of 8 files match');
  });

  it('passes a retrain whose floats differ in the last bit, and keeps its model version', () => {
    let moved = 0;
    for (const f of ['artifacts/contributions.json', 'artifacts/metrics.json', 'artifacts/parity-vectors.json']) {
      const [v, n] = nudgeFloats(readJson(f));
      writeJson(f, v);
      moved += n;
    }
    expect(moved).toBeGreaterThan(5_000); // the tables, metrics and parity vectors: every float moved
    const r = compare();
    expect(r.out).toContain('check: 8 of 8 files match');
    expect(r.status).toBe(0);
    const committed = readJson('artifacts/metrics.json').modelVersion;
    expect(versionOf(candidate)).toBe(committed);
    expect(versionOf(modelDir)).toBe(committed);
  });

  it('fails when one split threshold moves, and the model version changes', () => {
    const c = readJson('artifacts/contributions.json') as unknown as { tables: Table[] };
    c.tables[0]!.thresholds[0]! += 1;
    writeJson('artifacts/contributions.json', c);
    const r = compare();
    expect(r.status).toBe(1);
    expect(r.out).toMatch(/differs: models\/credit\/artifacts\/contributions\.json: tables\[0\]\.thresholds\[0\]/);
    expect(versionOf(candidate)).not.toBe(versionOf(modelDir));
  });

  it('fails when one contribution value changes by a millionth', () => {
    const c = readJson('artifacts/contributions.json') as unknown as { tables: Table[] };
    c.tables[3]!.values[1]! *= 1 + 1e-6;
    writeJson('artifacts/contributions.json', c);
    const r = compare();
    expect(r.status).toBe(1);
    expect(r.out).toContain('tables[3].values[1]');
    expect(versionOf(candidate)).not.toBe(versionOf(modelDir));
  });

  it('fails when a feature is dropped', () => {
    const c = readJson('artifacts/contributions.json') as unknown as { features: string[]; tables: Table[] };
    c.features = c.features.slice(1);
    c.tables = c.tables.slice(1);
    writeJson('artifacts/contributions.json', c);
    const r = compare();
    expect(r.status).toBe(1);
    expect(r.out).toMatch(/contributions\.json: features: length 19 != 18/);
  });

  it('fails when the decision policy or the boosting rounds change', () => {
    const m = readJson('artifacts/metrics.json') as { thresholds: { approveBelowPd: number }; training: { rounds: number } };
    m.thresholds.approveBelowPd = 0.2;
    m.training.rounds += 1;
    writeJson('artifacts/metrics.json', m);
    const r = compare();
    expect(r.status).toBe(1);
    expect(r.out).toContain('thresholds.approveBelowPd');
    expect(r.out).toContain('training.rounds');
  });

  it('fails when a tree in the ONNX graph splits elsewhere or a leaf weight changes', () => {
    const mutate = (attr: string, change: string) => {
      const onnxFile = path.join(candidate, 'artifacts/credit-scorecard.onnx');
      fs.copyFileSync(path.join(modelDir, 'artifacts/credit-scorecard.onnx'), onnxFile);
      const script = [
        'import sys, onnx',
        'm = onnx.load(sys.argv[1])',
        `a = next(a for a in m.graph.node[0].attribute if a.name == "${attr}")`,
        `i = next(i for i, v in enumerate(a.floats) if v != 0.0); a.floats[i] = ${change}`,
        'onnx.save(m, sys.argv[1])',
      ].join('\n');
      expect(py(['-c', script, onnxFile]).status).toBe(0);
      return compare();
    };
    const split = mutate('nodes_values', 'a.floats[i] + 1');
    expect(split.status).toBe(1);
    expect(split.out).toMatch(/credit-scorecard\.onnx: node step_functions\.nodes_values: values differ/);
    const leaf = mutate('target_weights', 'a.floats[i] * 1.001');
    expect(leaf.status).toBe(1);
    expect(leaf.out).toMatch(/credit-scorecard\.onnx: node step_functions\.target_weights/);
  });

  it('reads the model card number by number: a last-place rounding edge passes, a changed count or word fails', () => {
    const card = fs.readFileSync(path.join(modelDir, 'MODEL_CARD.md'), 'utf8');
    const auc = /\| AUC \| (0\.\d{4}) \|/.exec(card)![1]!;
    const edge = (Number(auc) + 0.0001).toFixed(4);
    fs.writeFileSync(path.join(candidate, 'MODEL_CARD.md'), card.replace(`| AUC | ${auc} |`, `| AUC | ${edge} |`));
    expect(compare()).toMatchObject({ status: 0 });

    const far = (Number(auc) + 0.0002).toFixed(4);
    fs.writeFileSync(path.join(candidate, 'MODEL_CARD.md'), card.replace(`| AUC | ${auc} |`, `| AUC | ${far} |`));
    const r1 = compare();
    expect(r1.status).toBe(1);
    expect(r1.out).toContain(`${auc} != ${far}`);

    const rounds = /boosting rounds[^\d]*(\d+)|(\d+) rounds/.exec(card);
    const countLine = rounds ? rounds[0] : null;
    expect(countLine).not.toBeNull();
    fs.writeFileSync(path.join(candidate, 'MODEL_CARD.md'), card.replace(countLine!, countLine!.replace(/\d+/, (d) => String(Number(d) + 1))));
    expect(compare().status).toBe(1);

    fs.writeFileSync(path.join(candidate, 'MODEL_CARD.md'), card.replace('Approve: PD <', 'Approve: PD ≤'));
    expect(compare()).toMatchObject({ status: 1 });
  });

  it('fails when a plot changes', () => {
    const script = [
      'import sys; from PIL import Image, ImageDraw',
      'im = Image.open(sys.argv[1]); im.load(); d = ImageDraw.Draw(im)',
      'd.rectangle([0, 0, im.size[0] // 4, im.size[1] // 4], fill=(255, 0, 0, 255) if im.mode == "RGBA" else (255, 0, 0))',
      'im.save(sys.argv[1])',
    ].join('\n');
    expect(py(['-c', script, path.join(candidate, 'artifacts/roc.png')]).status).toBe(0);
    const r = compare();
    expect(r.status).toBe(1);
    expect(r.out).toMatch(/roc\.png: \d+ pixels/);
  });
});

describe('training data', () => {
  it('is optional for the check: without it the check is skipped with a one-line reason', () => {
    // A copy of models/credit with no ../shared beside it and an empty cache, as in a user's clone.
    const clone = path.join(tmp, 'clone/main/models/credit');
    fs.mkdirSync(path.join(clone, 'data'), { recursive: true });
    for (const f of ['train.py', 'compare.py', 'dataset.py', 'data/train-ids.txt']) fs.copyFileSync(path.join(modelDir, f), path.join(clone, f));
    const r = py([path.join(clone, 'train.py'), '--check'], { FINFLOW_CACHE_DIR: path.join(tmp, 'empty-cache') });
    expect(r.status).toBe(0);
    expect(r.out.trim().split('\n')).toHaveLength(1);
    expect(r.out).toMatch(/^model check skipped: no training data/);
    // Training without data is an error, and says what to do.
    const t = py([path.join(clone, 'train.py'), '--out', path.join(tmp, 'out')], { FINFLOW_CACHE_DIR: path.join(tmp, 'empty-cache') });
    expect(t.status).toBe(1);
    expect(t.out).toMatch(/no training data .* pass --data PATH or --fetch/);
  });

  it('says so when the dataset cannot be downloaded', () => {
    const r = py([path.join(modelDir, 'train.py'), '--fetch'], { FINFLOW_CACHE_DIR: path.join(tmp, 'fetch-cache'), FINFLOW_UCI_350_URL: 'http://127.0.0.1:9/350.zip' });
    expect(r.status).toBe(1);
    expect(r.out).toMatch(/cannot download UCI dataset 350 from http:\/\/127\.0\.0\.1:9\/350\.zip .* pass --data PATH/);
    expect(fs.existsSync(path.join(tmp, 'fetch-cache/credit-data'))).toBe(false);
  });

  const withData = fs.existsSync(sharedCsv) ? it : it.skip;
  withData('is rebuilt byte for byte from the full dataset’s rows (the pinned sha256 covers the download)', () => {
    // The 24,000 training rows plus stand-ins for the 6,000 kept back, shuffled: what the UCI workbook yields.
    const script = [
      'import csv, hashlib, random, sys',
      `sys.path.insert(0, ${JSON.stringify(modelDir)})`,
      'import dataset',
      'rows = [[int(v) for v in r] for r in list(csv.reader(open(sys.argv[1])))[1:]]',
      'held = sorted(set(range(1, 30001)) - dataset.train_ids())',
      'full = rows + [[i] + [7] * 24 for i in held]',
      'random.Random(1).shuffle(full)',
      'body = dataset.training_csv(dataset.HEADER, full)',
      'print(len(held), hashlib.sha256(body).hexdigest() == dataset.DATA_SHA256)',
    ].join('\n');
    const r = py(['-c', script, sharedCsv]);
    expect(r).toMatchObject({ status: 0, out: '6000 True\n' });
  });
});
