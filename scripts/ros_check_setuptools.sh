#!/usr/bin/env bash
# Check that the Python packages of the workspace build and install correctly with colcon under the
# setuptools of ROS 2 Humble (59.6.0, Ubuntu 22.04, Python 3.10) and Jazzy (68.1.2, Ubuntu 24.04,
# Python 3.12) -- the full build with today's setuptools is scripts/ros_bootstrap.sh's. For each one:
# a small venv (colcon + that setuptools, cached under .ros/), `colcon build` of cog_core,
# cog_collect, cog_policy and cog_bringup into a fresh install folder, then checks that every module,
# entry point, launch file, parameter file and ament index entry is where ROS expects it
# (scripts/check_colcon_install.py), that colcon's own test-step selection picks pytest for every
# package, that `colcon build --symlink-install` works too, and that `pip install -e src/cog_core`
# works with that setuptools. cog_msgs needs the ROS wheels (CPython 3.11 only) and
# is built by ros_bootstrap.sh.
#   bash scripts/ros_check_setuptools.sh            # both
#   bash scripts/ros_check_setuptools.sh 59.6.0:3.10:0.37.1      # setuptools:python:wheel
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WS="${COG_ROS_WS:-$ROOT/.ros}"
COLCON_PIN="colcon-common-extensions==0.3.0"
CASES=("$@")
# setuptools:python:wheel as Ubuntu 22.04 (Humble) and 24.04 (Jazzy) ship them (python3-setuptools, python3-wheel)
[ "${#CASES[@]}" -gt 0 ] || CASES=("59.6.0:3.10:0.37.1" "68.1.2:3.12:0.42.0")

log() { printf '\033[1;35m[setuptools-check]\033[0m %s\n' "$*" >&2; }

find_python() {  # a working pythonX.Y, else the default python3 (the check still means something)
  local want="$1" cand
  for cand in "python$want" "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$want".*/bin/python"$want"; do
    if "$cand" -c "import sys; sys.exit(sys.version_info[:2] != tuple(map(int, '$want'.split('.'))))" >/dev/null 2>&1; then
      echo "$cand"; return
    fi
  done
  echo python3
}

failed=0
for case in "${CASES[@]}"; do
  IFS=: read -r st pyver wheel <<<"$case"
  PY="$(find_python "$pyver")"
  got="$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
  [ "$got" = "$pyver" ] || log "python$pyver not found; checking setuptools $st on Python $got instead"
  VENV="$WS/venv-setuptools-$st-py$got"
  if [ ! -f "$VENV/.ok" ]; then
    rm -rf "$VENV"
    "$PY" -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q "setuptools==$st" "wheel==${wheel:-0.42.0}" "$COLCON_PIN" 2> >(grep -v "is ignored: it is neither" >&2)
    touch "$VENV/.ok"
  fi
  OUT="$WS/setuptools-check/$st"
  rm -rf "$OUT"
  mkdir -p "$OUT"
  t0=$SECONDS
  if ! (cd "$ROOT" && env -u AMENT_PREFIX_PATH -u CMAKE_PREFIX_PATH -u PYTHONPATH PATH="$VENV/bin:$PATH" \
        colcon --log-base "$OUT/log" build --base-paths src --packages-ignore cog_msgs \
          --build-base "$OUT/build" --install-base "$OUT/install" --merge-install \
          --event-handlers console_cohesion- console_direct- status- summary+ >"$OUT/build.log" 2>&1); then
    tail -n 40 "$OUT/build.log" >&2
    log "FAIL: colcon build with setuptools $st (Python $got); log: $OUT/build.log"
    failed=1
    continue
  fi
  if ! "$VENV/bin/python" -c "import setuptools, sys; sys.exit(setuptools.__version__ != '$st')" \
     || ! "$VENV/bin/python" "$ROOT/scripts/check_colcon_install.py" "$OUT/install"
  then
    log "FAIL: the install made with setuptools $st (Python $got) is incomplete (above)"
    failed=1
    continue
  fi
  # the README's `colcon build --symlink-install` (setup.py develop + symlinked data files)
  if ! (cd "$ROOT" && env -u AMENT_PREFIX_PATH -u CMAKE_PREFIX_PATH -u PYTHONPATH PATH="$VENV/bin:$PATH" \
        colcon --log-base "$OUT/log" build --base-paths src --packages-ignore cog_msgs --symlink-install \
          --build-base "$OUT/build-symlink" --install-base "$OUT/install-symlink" --merge-install \
          --event-handlers console_cohesion- console_direct- status- summary+ >"$OUT/build-symlink.log" 2>&1) \
     || ! (set +u; source "$OUT/install-symlink/setup.bash"; set -u; "$VENV/bin/python" - "$ROOT" "$OUT/install-symlink" <<'EOF'
import importlib, sys
from pathlib import Path
root, install = Path(sys.argv[1]), Path(sys.argv[2])
missing = [str(p) for p in (install / "bin" / "cogrl", install / "lib" / "cog_collect" / "collector_node",
                            install / "lib" / "cog_policy" / "policy_node") if not p.is_file()]
for pkg, sub in (("cog_bringup", "launch"), ("cog_bringup", "config"), ("cog_bringup", "rviz"), ("cog_policy", "launch")):
    for src in (root / "src" / pkg / sub).iterdir():
        if not (install / "share" / pkg / sub / src.name).resolve().samefile(src):
            missing.append(f"share/{pkg}/{sub}/{src.name}")
for mod in ("cog_core", "cog_collect", "cog_policy"):
    if not Path(importlib.import_module(mod).__file__).resolve().is_relative_to(root / "src" / mod):
        missing.append(f"{mod} does not resolve to the source tree")
if missing:
    sys.exit("symlink install incomplete: " + ", ".join(missing))
EOF
     ); then
    tail -n 30 "$OUT/build-symlink.log" >&2
    log "FAIL: colcon build --symlink-install with setuptools $st (Python $got)"
    failed=1
    continue
  fi
  # `pip install -e src/cog_core` with this setuptools (no build isolation, no dependencies: the packaging
  # alone), then uninstalled again
  if ! (cd "$OUT" && "$VENV/bin/python" -m pip install -q --no-build-isolation --no-deps -e "$ROOT/src/cog_core" \
          2> >(grep -v "is ignored: it is neither" >&2) \
        && "$VENV/bin/python" -c "
import importlib.metadata as md, importlib.util
assert md.version('cog_core') == '0.1.0', md.version('cog_core')
origin = importlib.util.find_spec('cog_core').origin
assert origin.startswith('$ROOT/src/cog_core/'), origin
print('editable cog_core', md.version('cog_core'), 'at', origin)
" && "$VENV/bin/python" -m pip uninstall -q -y cog_core) >"$OUT/editable.log" 2>&1; then
    cat "$OUT/editable.log" >&2
    log "FAIL: pip install -e src/cog_core with setuptools $st (Python $got)"
    "$VENV/bin/python" -m pip uninstall -q -y cog_core >/dev/null 2>&1 || true
    failed=1
    continue
  fi
  log "ok: setuptools $st (Python $got): colcon build (+ --symlink-install), install layout, pytest selection, pip install -e ($((SECONDS - t0)) s)"
done
exit "$failed"
