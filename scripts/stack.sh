#!/usr/bin/env bash
# `npm run stack -- up|down|status|logs`: works on a fresh clone (installs node modules first).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-node-deps.sh
exec node_modules/.bin/tsx deploy/local/stack.ts "$@"
