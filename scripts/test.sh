#!/usr/bin/env bash
# Set up (idempotently) and run the test suite. Extra args go to pytest,
# e.g. `bash scripts/test.sh -m slow` for the opt-in slow tests.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/bootstrap.sh"
cd "$ROOT"
export MUJOCO_GL="${MUJOCO_GL:-egl}"
exec "$ROOT/.venv/bin/python" -m pytest "$@"
