#!/usr/bin/env bash
# `npm run test:loaded [-- N]`: runs `npm test` N times in a row (default 3) while a busy loop burns each core, the
# way a loaded CI machine runs it. Stops at the first red run; prints one line per run and the busy loops' count.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-3}"
cores="$(nproc)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
for _ in $(seq "$cores"); do (while :; do :; done) & pids+=("$!"); done
echo "[test:loaded] ${#pids[@]} busy loops on ${cores} cores; ${runs} runs"
for i in $(seq "$runs"); do
  log=".stack/test-loaded-$i.log"
  mkdir -p .stack
  if npm test > "$log" 2>&1; then
    echo "[test:loaded] run $i: $(grep -E '^jest: ' "$log" | tail -n 1) ($(grep -E '^\[test\] total' "$log" | tail -n 1 | sed 's/\[test\] //'))"
  else
    echo "[test:loaded] run $i FAILED: $(grep -E '^jest: ' "$log" | tail -n 1); see $log"
    grep -E '✕|● ' "$log" | head -20
    exit 1
  fi
done
