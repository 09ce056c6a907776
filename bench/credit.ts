/**
 * npm run bench:credit — single-row scoring latency of the credit scorecard (p50, p90, p99) in Node with
 * onnxruntime-node, next to the same model scored with ONNX Runtime in Python (models/credit/bench.py, in the
 * pinned virtual environment) in the same run, and their ratio. Both sides use one intra-op thread and score the
 * committed parity vectors one row at a time. Two alternating rounds each, so a noisy moment hits both sides.
 *
 * Node is measured twice: the raw `session.run` (what Python's figure is comparable to) and the product path
 * `CreditScorer.score` (input tensor built from a vector, outputs copied into a Score).
 * BENCH_CREDIT_ITERATIONS=<n> sets the rows per round (default 5000).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { CreditScorer, defaultModelPath, SESSION_OPTIONS } from '../activities/credit/scorer';

const ITERATIONS = Number(process.env.BENCH_CREDIT_ITERATIONS ?? 5000);
const WARMUP = 500;
const ROUNDS = 2;
const root = path.resolve(__dirname, '..');
const modelPath = defaultModelPath();
const vectorsPath = path.join(path.dirname(modelPath), 'parity-vectors.json');

interface Latency {
  runtime: string;
  p50_us: number;
  p90_us: number;
  p99_us: number;
  mean_us: number;
}

function percentiles(runtime: string, nanos: bigint[]): Latency {
  const us = nanos.map((n) => Number(n) / 1000).sort((a, b) => a - b);
  const at = (q: number) => us[Math.min(us.length - 1, Math.floor(q * us.length))]!;
  return { runtime, p50_us: at(0.5), p90_us: at(0.9), p99_us: at(0.99), mean_us: us.reduce((a, b) => a + b, 0) / us.length };
}

async function time(runtime: string, vectors: number[][], run: (v: number[]) => Promise<unknown>): Promise<Latency> {
  for (let i = 0; i < WARMUP; i++) await run(vectors[i % vectors.length]!);
  const samples: bigint[] = [];
  for (let i = 0; i < ITERATIONS; i++) {
    const v = vectors[i % vectors.length]!;
    const t0 = process.hrtime.bigint();
    await run(v);
    samples.push(process.hrtime.bigint() - t0);
  }
  return percentiles(runtime, samples);
}

function python(): Latency & { version: string } {
  const venv = execFileSync('bash', [path.join(root, 'scripts/python-venv.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').pop()!;
  const out = execFileSync(
    path.join(venv, 'bin', 'python'),
    [path.join(root, 'models/credit/bench.py'), '--model', modelPath, '--vectors', vectorsPath, '--iterations', String(ITERATIONS), '--warmup', String(WARMUP)],
    { encoding: 'utf8' },
  );
  return JSON.parse(out.trim().split('\n').pop()!) as Latency & { version: string };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main() {
  const { vectors } = JSON.parse(fs.readFileSync(vectorsPath, 'utf8')) as { vectors: number[][] };
  const scorer = await CreditScorer.load(modelPath);
  const session = await InferenceSession.create(modelPath, SESSION_OPTIONS);
  const raw = (v: number[]) => session.run({ features: new Tensor('float32', Float32Array.from(v), [1, v.length]) });

  const rounds: { nodeRaw: Latency; nodeScorer: Latency; python: Latency & { version: string } }[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const nodeRaw = await time('onnxruntime-node session.run', vectors, raw);
    const nodeScorer = await time('onnxruntime-node CreditScorer.score', vectors, (v) => scorer.score(v));
    rounds.push({ nodeRaw, nodeScorer, python: python() });
  }
  await Promise.all([scorer.close(), session.release()]);

  const ortNode = (require('onnxruntime-node/package.json') as { version: string }).version;
  console.log(`credit scorecard ${scorer.modelVersion}: single-row latency, ${ITERATIONS} rows x ${ROUNDS} rounds, 1 thread each`);
  console.log(`onnxruntime-node ${ortNode}; onnxruntime (Python) ${rounds[0]!.python.version}\n`);
  console.log('round  runtime                                   p50 µs    p90 µs    p99 µs   mean µs');
  rounds.forEach((round, i) => {
    for (const l of [round.nodeRaw, round.nodeScorer, round.python]) {
      console.log(`${String(i + 1).padEnd(6)} ${l.runtime.padEnd(40)} ${[l.p50_us, l.p90_us, l.p99_us, l.mean_us].map((x) => x.toFixed(1).padStart(9)).join(' ')}`);
    }
  });
  const p = (pick: (r: (typeof rounds)[number]) => Latency, q: 'p50_us' | 'p99_us') => median(rounds.map((r) => pick(r)[q]));
  const ratios = Object.fromEntries(
    (['p50_us', 'p99_us'] as const).map((q) => [q.slice(0, 3), { sessionRun: p((r) => r.nodeRaw, q) / p((r) => r.python, q), creditScorer: p((r) => r.nodeScorer, q) / p((r) => r.python, q) }]),
  );
  console.log('');
  for (const [q, r] of Object.entries(ratios)) {
    console.log(`ratio ${q} Node/Python: session.run ${r.sessionRun.toFixed(2)}, CreditScorer.score ${r.creditScorer.toFixed(2)} (below 1: Node is faster)`);
  }
  fs.mkdirSync(path.join(root, '.stack'), { recursive: true });
  fs.writeFileSync(path.join(root, '.stack/bench-credit.json'), JSON.stringify({ modelVersion: scorer.modelVersion, iterations: ITERATIONS, rounds, ratios }, null, 2));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
