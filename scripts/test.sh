#!/usr/bin/env bash
# `npm test`: on a fresh clone, installs what is missing, brings the local stack up, typechecks, lints, checks that
# the credit model retrains to the committed one (within stated tolerances; skipped with a reason when the training
# data is not beside the clone), and runs every jest project (unit, workflow, integration). Extra
# arguments go to jest (e.g. `npm test -- --selectProjects unit`).
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$(date +%s)
bash scripts/ensure-node-deps.sh
mkdir -p .stack

# Typecheck, lint and retrain the credit model (in its pinned Python environment, compared with the committed model,
# card and parity vectors by models/credit/compare.py) while the stack comes up; all must pass before any test runs.
node_modules/.bin/tsc -p tsconfig.json --noEmit > .stack/typecheck.log 2>&1 & tsc_pid=$!
node_modules/.bin/eslint . > .stack/lint.log 2>&1 & lint_pid=$!
bash scripts/credit-model.sh check > .stack/model-check.log 2>&1 & model_pid=$!
node_modules/.bin/tsx deploy/local/stack.ts up
if ! wait "$tsc_pid"; then cat .stack/typecheck.log; echo "[test] typecheck failed"; exit 1; fi
if ! wait "$lint_pid"; then cat .stack/lint.log; echo "[test] lint failed"; exit 1; fi
if ! wait "$model_pid"; then cat .stack/model-check.log; echo "[test] the credit model does not reproduce from models/credit/train.py"; exit 1; fi
echo "[test] $(tail -n 1 .stack/model-check.log)"
echo "[test] typecheck and lint passed, model check done; $(( $(date +%s) - t0 ))s before the first test"

rm -f .stack/jest-results.json
set +e
node_modules/.bin/jest --json --outputFile=.stack/jest-results.json "$@"
rc=$?
set -e
# One plain closing line that any CI reads: "jest: N passed, N failed, N skipped".
node -e '
  const r = require("./.stack/jest-results.json");
  console.log(`jest: ${r.numPassedTests} passed, ${r.numFailedTests + r.numRuntimeErrorTestSuites} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
' 2>/dev/null || echo "jest: 0 passed, 1 failed"
echo "[test] total $(( $(date +%s) - t0 ))s"
exit "$rc"
