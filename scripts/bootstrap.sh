#!/usr/bin/env bash
# Idempotently prepare everything this project needs on a Debian/Ubuntu machine:
# system packages for headless MuJoCo rendering, a venv at .venv, and the Python deps.
# Safe to run again: each step is skipped when already done.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="${PYTHON:-python3}"
STAMP="$VENV/.cog-bootstrap-stamp"
WANT_HASH="$(cat "$ROOT/scripts/bootstrap.sh" "$ROOT/src/cog_core/pyproject.toml" "$ROOT/requirements-dev.txt" | sha256sum | cut -d' ' -f1)"

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
echo "$WANT_HASH" > "$STAMP"
log "done: $VENV/bin/cogrl is ready"
