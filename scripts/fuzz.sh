#!/usr/bin/env bash
# `npm run fuzz`: a property-based fuzz run of the OpenAPI document (Schemathesis) against a platform started here
# (scripts/fuzz.ts says what it starts and checks; FUZZ_SECONDS per credential, default 150; FUZZ_URL=<base> to fuzz
# one already running). Not part of `npm test`. Schemathesis comes from PyPI into a venv in the cache
# (~/.cache/finflow/python/fuzz-<hash of scripts/fuzz-requirements.txt>), built once; a marker written after a
# successful install tells a finished venv from a half-built one.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-node-deps.sh
requirements=scripts/fuzz-requirements.txt
hash="$(sha256sum "$requirements")"
cache="${FINFLOW_CACHE_DIR:-$HOME/.cache/finflow}/python"
venv="$cache/fuzz-${hash:0:12}"
if [[ ! -f "$venv/.finflow-complete" ]]; then
  mkdir -p "$cache"
  exec 9>"$venv.lock"
  flock 9
  if [[ ! -f "$venv/.finflow-complete" ]]; then
    rm -rf "$venv"
    echo "[fuzz] creating $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --no-input --disable-pip-version-check -r "$requirements"
    touch "$venv/.finflow-complete"
  fi
  flock -u 9
fi
[ -n "${FUZZ_URL:-}" ] || node_modules/.bin/tsx deploy/local/stack.ts up > /dev/null
exec node_modules/.bin/tsx scripts/fuzz.ts "$venv/bin/st"
