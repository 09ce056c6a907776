#!/usr/bin/env bash
# Installs node modules when they are missing or older than package-lock.json.
# Not `npm ci`: npm 11 on these machines writes a lock without the other platforms' optional binaries (swc,
# unrs-resolver) and then its own `npm ci` refuses that lock. `npm install --no-save` installs the locked
# versions and leaves package.json and the lock untouched.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=node_modules/.finflow-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "[setup] installing node modules"
  npm install --no-save --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
fi
