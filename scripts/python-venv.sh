#!/usr/bin/env bash
# Creates (once) the pinned Python environment for models/credit and prints its path as the last line of stdout;
# everything else goes to stderr. The venv lives in the cache, keyed by the hash of models/credit/requirements.txt,
# so changing a pin builds a new one. A marker file written after a successful install tells a finished venv from a
# half-built one, which is removed and rebuilt. Usage: venv="$(bash scripts/python-venv.sh | tail -n 1)"
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
requirements="$root/models/credit/requirements.txt"
[[ -f "$requirements" ]] || { echo "python-venv: $requirements not found" >&2; exit 1; }

if command -v sha256sum >/dev/null 2>&1; then hash="$(sha256sum "$requirements")"; else hash="$(shasum -a 256 "$requirements")"; fi
cache="${FINFLOW_CACHE_DIR:-$HOME/.cache/finflow}/python"
venv="$cache/credit-${hash:0:12}"
marker="$venv/.finflow-complete"

build() {
  [[ -f "$marker" ]] && return 0 # another process finished it while we waited for the lock
  rm -rf "$venv"
  echo "python-venv: creating $venv" >&2
  python3 -m venv "$venv" >&2
  "$venv/bin/python" -m pip install --quiet --no-input --disable-pip-version-check -r "$requirements" >&2
  touch "$marker"
}

if [[ ! -f "$marker" ]]; then
  mkdir -p "$cache"
  if command -v flock >/dev/null 2>&1; then
    # Serialise concurrent builds of the same venv (e.g. two test runners starting at once).
    exec 9>"$venv.lock"
    flock 9
    build
    flock -u 9
  else
    build
  fi
fi
echo "$venv"
