#!/usr/bin/env bash
# Set up (idempotently) and run the main job. Extra args go to `cogrl demo`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/bootstrap.sh"
cd "$ROOT"
export MUJOCO_GL="${MUJOCO_GL:-egl}"
exec "$ROOT/.venv/bin/cogrl" demo "$@"
