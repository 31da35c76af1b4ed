#!/usr/bin/env bash
# Set up (idempotently), check and run the test suite: ruff, mypy and the import-graph check
# (scripts/check_imports.py), then pytest. Extra args go to pytest, e.g. `bash scripts/test.sh -m slow`
# for the opt-in slow tests. COG_SKIP_CHECKS=1 skips the three checks (quick reruns of a test file).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/bootstrap.sh"
cd "$ROOT"
export MUJOCO_GL="${MUJOCO_GL:-egl}"
if [ "${COG_SKIP_CHECKS:-0}" != "1" ]; then
  echo "[checks] ruff"
  "$ROOT/.venv/bin/ruff" check --quiet .
  echo "[checks] mypy"
  "$ROOT/.venv/bin/mypy" --no-error-summary --hide-error-context
  echo "[checks] import graph"
  "$ROOT/.venv/bin/python" scripts/check_imports.py
fi
exec "$ROOT/.venv/bin/python" -m pytest "$@"
