#!/usr/bin/env bash
# `npm run bench:<name>`: brings the stack up (when the benchmark needs it) and runs bench/<name>.ts (ratios against a same-run baseline).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-node-deps.sh
# The credit model benchmark talks to no server.
[ "$1" = credit ] || node_modules/.bin/tsx deploy/local/stack.ts up > /dev/null
exec node_modules/.bin/tsx "bench/$1.ts"
