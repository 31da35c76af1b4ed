#!/usr/bin/env bash
# Idempotently prepare everything this project needs on a Debian/Ubuntu machine:
# system packages for headless MuJoCo rendering, a venv at .venv, and the Python deps.
# Safe to run again: each step is skipped when already done.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="${PYTHON:-python3}"
STAMP="$VENV/.cog-bootstrap-stamp"
WANT_HASH="$(cat "$ROOT/scripts/bootstrap.sh" "$ROOT/src/cog_core/pyproject.toml" "$ROOT/src/cog_core/setup.cfg" "$ROOT/requirements-dev.txt" | sha256sum | cut -d' ' -f1)"

log() { printf '\033[1;34m[bootstrap]\033[0m %s\n' "$*"; }

need_apt=()
# Headless OpenGL for MuJoCo (EGL first, OSMesa as the fallback), and ffmpeg for videos.
for pkg in libegl1 libegl-mesa0 libgl1-mesa-dri libopengl0 libgbm1 libosmesa6 python3-venv; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ "${#need_apt[@]}" -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  log "installing system packages: ${need_apt[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

if [ ! -x "$VENV/bin/python" ]; then
  log "creating virtual environment at $VENV"
  "$PY" -m venv "$VENV"
fi

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT_HASH" ]; then
  log "environment up to date ($VENV)"
  exit 0
fi

log "installing Python packages (torch pinned to 2.13.0, CPU build where available)"
"$VENV/bin/python" -m pip install -q --upgrade pip
# torch first and pinned: an unpinned torch drags in a multi-GB CUDA build.
"$VENV/bin/python" -m pip install -q "torch==2.13.0"
"$VENV/bin/python" -m pip install -q -r "$ROOT/requirements-dev.txt"
"$VENV/bin/python" -m pip install -q -e "$ROOT/src/cog_core"
# Real rclpy + standard messages (ROS 2 Jazzy builds on PyPI) so the ROS node tests run on a
# machine without ROS. Optional: the wheels are CPython 3.11 Linux builds (manylinux_2_28) only;
# without them the node tests skip with a reason and everything else still runs.
ROS_WHEELS=("ros-jazzy-rclpy[fastrtps]" ros-jazzy-std-msgs ros-jazzy-sensor-msgs ros-jazzy-geometry-msgs
            ros-jazzy-std-srvs ros-jazzy-trajectory-msgs)
if [ "${COG_SKIP_ROS_WHEELS:-0}" = "1" ]; then
  log "COG_SKIP_ROS_WHEELS=1: not installing the rclpy wheels (ROS node tests will skip)"
elif "$VENV/bin/python" -m pip install -q "${ROS_WHEELS[@]}"; then
  log "rclpy wheels installed (ROS node tests will run)"
else
  log "WARNING: could not install the rclpy wheels (${ROS_WHEELS[*]}); the ROS node tests will skip. This is not fatal."
fi
echo "$WANT_HASH" > "$STAMP"
log "done: $VENV/bin/cogrl is ready"
