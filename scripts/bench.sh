#!/usr/bin/env bash
# `npm run bench:<name>`: brings the stack up and runs bench/<name>.ts (ratios against a same-run baseline).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-node-deps.sh
node_modules/.bin/tsx deploy/local/stack.ts up > /dev/null
exec node_modules/.bin/tsx "bench/$1.ts"
