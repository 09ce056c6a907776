#!/usr/bin/env bash
# `npm start`: everything FinFlow needs, from a fresh clone, then the platform in the foreground.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-node-deps.sh
# Your overrides (see .env.example); variables already in the environment win.
if [ -f .env ]; then
  while IFS= read -r line; do
    [[ "$line" =~ ^([A-Z][A-Z0-9_]*)=([^#]*[^#[:space:]])?[[:space:]]*(#.*)?$ ]] || continue
    name=${BASH_REMATCH[1]}
    [ -n "${!name:-}" ] || export "$name=${BASH_REMATCH[2]}"
  done < .env
fi
node_modules/.bin/tsx deploy/local/stack.ts up
node_modules/.bin/tsx scripts/migrate.ts
echo "[build] compiling TypeScript"
node_modules/.bin/tsc -p tsconfig.build.json
exec node dist/scripts/run-platform.js
