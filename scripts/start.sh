#!/usr/bin/env bash
# `npm start`: everything FinFlow needs, from a fresh clone, then the platform in the foreground.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-node-deps.sh
node_modules/.bin/tsx deploy/local/stack.ts up
node_modules/.bin/tsx scripts/migrate.ts
echo "[build] compiling TypeScript"
node_modules/.bin/tsc -p tsconfig.build.json
exec node dist/scripts/run-platform.js
