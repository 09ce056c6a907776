/**
 * A worker that serves the credit queue loads the scorecard before it polls: a model that cannot load stops the
 * process at start-up with an error naming the file, never a worker that scores with a default.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { testConfig } from '../support/env';

testConfig(); // the run's environment (private database, queues, secrets) is in process.env

const root = path.resolve(__dirname, '../..');
function startWorker(modelPath: string) {
  return spawnSync(path.join(root, 'node_modules/.bin/tsx'), [path.join(root, 'workers/main.ts')], {
    env: { ...process.env, WORKER_TASK_QUEUES: 'credit', CREDIT_MODEL_PATH: modelPath, LOG_LEVEL: 'silent' },
    encoding: 'utf8',
    timeout: 60_000,
  });
}

describe('the credit worker at start-up', () => {
  it('exits with a clear error when the model file is missing', () => {
    const missing = path.join(os.tmpdir(), 'no-such-dir', 'credit-scorecard.onnx');
    const res = startWorker(missing);
    expect(res.status).toBe(1);
    expect(res.stderr).toContain(`worker not started: credit model ${missing}`);
  });

  it('exits with a clear error when the model file is corrupt', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'finflow-bad-model-'));
    try {
      fs.writeFileSync(path.join(dir, 'credit-scorecard.onnx'), 'not an onnx model');
      fs.copyFileSync(path.join(root, 'models/credit/artifacts/contributions.json'), path.join(dir, 'contributions.json'));
      const res = startWorker(path.join(dir, 'credit-scorecard.onnx'));
      expect(res.status).toBe(1);
      expect(res.stderr).toMatch(/worker not started: credit model .*cannot be loaded by ONNX Runtime/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
