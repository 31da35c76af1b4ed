#!/usr/bin/env bash
# The ROS part of the test suite (scripts/test.sh runs it after the Python suite):
#  1. build the workspace with colcon in its own venv (scripts/ros_bootstrap.sh: cog_msgs included);
#  2. `colcon test` of the ROS packages against that install (entry points from install/lib/<pkg>,
#     launch and parameter files from install/share; the nodes as processes), plus a slice of
#     cog_core's suite to show colcon runs pytest there too; every package must report tests > 0;
#  3. colcon builds with the setuptools of Humble (59.6) and Jazzy (68.1.2)
#     (scripts/ros_check_setuptools.sh).
# COG_ROS=auto (default): skip, saying why, where the ROS wheels cannot be installed;
# COG_ROS=require: that is a failure; COG_ROS=off: skip.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WS="${COG_ROS_WS:-$ROOT/.ros}"
MODE="${COG_ROS:-auto}"
log() { printf '\033[1;35m[ros-test]\033[0m %s\n' "$*" >&2; }

if [ "$MODE" = "off" ]; then
  log "SKIPPED: COG_ROS=off"
  exit 0
fi
t0=$SECONDS
set +e
bash "$ROOT/scripts/ros_bootstrap.sh"
rc=$?
set -e
if [ "$rc" -eq 3 ]; then
  if [ "$MODE" = "require" ]; then
    log "FAILED: COG_ROS=require but the ROS environment cannot be set up here (reason above)"
    exit 1
  fi
  log "SKIPPED: the ROS part (colcon build, colcon test, the nodes as processes) needs the ROS 2 wheels; reason above"
  exit 0
fi
[ "$rc" -eq 0 ] || exit "$rc"
t_build=$((SECONDS - t0))

colcon_test() {
  COG_ROS_QUIET=1 bash "$ROOT/scripts/ros.sh" colcon --log-base "$WS/log" test --base-paths src \
    --build-base "$WS/build" --install-base "$WS/install" --merge-install --executor sequential \
    --event-handlers console_cohesion- console_direct- status- summary+ "$@"
}
t1=$SECONDS
log "colcon test: cog_collect cog_policy cog_bringup (against $WS/install)"
rm -f "$WS"/build/*/pytest.xml
colcon_test --packages-select cog_collect cog_policy cog_bringup
# cog_core's own suite runs in .venv (scripts/test.sh); here a slice, through colcon, from the install
colcon_test --packages-select cog_core --pytest-args tests/bag/test_schema.py tests/bag/test_recorder.py tests/stations/test_sim.py
t_test=$((SECONDS - t1))

# every package ran tests (colcon test reports success for 0 tests) and none failed
if ! python3 - "$WS/build" <<'EOF'
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

build = Path(sys.argv[1])
bad = []
for pkg in ("cog_core", "cog_collect", "cog_policy", "cog_bringup"):
    path = build / pkg / "pytest.xml"
    if not path.is_file():
        bad.append(f"{pkg}: no test results ({path})")
        continue
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    n = {k: sum(int(s.get(k, 0)) for s in suites) for k in ("tests", "failures", "errors", "skipped")}
    print(f"[ros-test] {pkg}: {n['tests']} tests, {n['failures']} failed, {n['errors']} errors, {n['skipped']} skipped",
          file=sys.stderr)
    failed = [c.get("name") for c in root.iter("testcase") if c.find("failure") is not None or c.find("error") is not None]
    if n["tests"] - n["skipped"] <= 0:
        bad.append(f"{pkg}: no test ran")
    if failed:
        bad.append(f"{pkg}: failed: {', '.join(failed)}")
if bad:
    print("\n".join(f"[ros-test] FAIL {b}" for b in bad), file=sys.stderr)
    sys.exit(1)
EOF
then
  COG_ROS_QUIET=1 bash "$ROOT/scripts/ros.sh" colcon test-result --test-result-base "$WS/build" --verbose >&2 || true
  exit 1
fi

t2=$SECONDS
bash "$ROOT/scripts/ros_check_setuptools.sh"
t_st=$((SECONDS - t2))
log "ok in $((SECONDS - t0)) s: environment + colcon build ${t_build} s, colcon test ${t_test} s, Humble/Jazzy setuptools builds ${t_st} s"
