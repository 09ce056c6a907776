#!/usr/bin/env bash
# `npm run model:credit` retrains the credit scorecard into models/credit (artifacts + MODEL_CARD.md);
# `npm run model:credit:check` retrains into a temporary folder and compares with the committed files within stated
# tolerances (models/credit/compare.py). Both run in the pinned virtual environment (scripts/python-venv.sh). Data:
# `--data PATH`, else ../shared/data, else a copy fetched earlier with `npm run model:credit -- --fetch`; without any,
# the check is skipped with a one-line reason (see models/credit/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
venv="$(bash scripts/python-venv.sh | tail -n 1)"
mode="${1:-train}"
shift || true
case "$mode" in
  train) exec "$venv/bin/python" models/credit/train.py "$@" ;;
  check) exec "$venv/bin/python" models/credit/train.py --check "$@" ;;
  *) echo "usage: $0 train|check [train.py options]" >&2; exit 2 ;;
esac
