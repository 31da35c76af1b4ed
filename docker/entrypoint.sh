#!/bin/bash
# Source ROS 2 Humble, the Interbotix workspace and this workspace, then run the command.
set -e
source /opt/ros/humble/setup.bash
source /opt/interbotix_ws/install/setup.bash
source /opt/cog_ws/install/setup.bash
exec "$@"
