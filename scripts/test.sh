#!/usr/bin/env bash
# Set up (idempotently), check and run the test suite: ruff, mypy and the import-graph check
# (scripts/check_imports.py), then pytest. Extra args go to pytest, e.g. `bash scripts/test.sh -m slow`
# for the opt-in slow tests. COG_SKIP_CHECKS=1 skips the three checks (quick reruns of a test file).
# Without args it also runs the ROS part (scripts/ros_test.sh): the workspace built with colcon in
# its own venv (cog_msgs included), `colcon test` of the ROS packages against that install, and
# colcon builds with Humble's and Jazzy's setuptools. COG_ROS=off skips it, COG_ROS=require makes a
# machine that cannot install the ROS 2 wheels a failure instead of a skip.
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
t0=$SECONDS
"$ROOT/.venv/bin/python" -m pytest "$@"
if [ "$#" -eq 0 ]; then
  t_py=$((SECONDS - t0))
  bash "$ROOT/scripts/ros_test.sh"
  printf '\033[1;34m[test]\033[0m Python suite %d s, ROS part %d s\n' "$t_py" "$((SECONDS - t0 - t_py))"
fi
