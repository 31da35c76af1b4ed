#!/usr/bin/env bash
# Run a command in the ROS 2 environment of this workspace (built first if needed, see
# scripts/ros_bootstrap.sh): the .venv-ros interpreter with rclpy, and .ros/install sourced, so
# `ros2`-style entry points, cog_msgs and the installed packages are what Python imports.
#   bash scripts/ros.sh python -c "from cog_msgs.msg import Step; print(Step())"
#   bash scripts/ros.sh .ros/install/lib/cog_collect/collector_node --ros-args -p episodes:=2
#   bash scripts/ros.sh colcon test --base-paths src --build-base .ros/build --install-base .ros/install --merge-install
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${COG_ROS_VENV:-$ROOT/.venv-ros}"
WS="${COG_ROS_WS:-$ROOT/.ros}"
if [ "$#" -eq 0 ]; then
  echo "usage: bash scripts/ros.sh CMD [ARGS...]   (runs CMD in the built ROS 2 workspace)" >&2
  exit 2
fi
COG_ROS_QUIET="${COG_ROS_QUIET:-1}" bash "$ROOT/scripts/ros_bootstrap.sh"
# shellcheck disable=SC1091
source "$VENV/bin/activate"
export AMENT_PREFIX_PATH="$VENV${AMENT_PREFIX_PATH:+:$AMENT_PREFIX_PATH}"
export CMAKE_PREFIX_PATH="$VENV${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}"
export MUJOCO_GL="${MUJOCO_GL:-egl}"
set +u  # colcon's setup scripts read unset variables
# shellcheck disable=SC1091
source "$WS/install/setup.bash"
set -u
exec "$@"
