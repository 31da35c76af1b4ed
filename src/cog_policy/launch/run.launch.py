"""Run an exported policy on the arm: camera -> policy_node -> arm backend.

    ros2 launch cog_policy run.launch.py model:=runs/cog_drawer/export          # built-in sim
    ros2 launch cog_policy run.launch.py model:=... backend:=interbotix rate_hz:=5.0 \
        camera_source:=0 calibration_yaml:=calib/camera.yaml
    ros2 launch cog_policy run.launch.py model:=... backend:=gazebo rate_hz:=5.0  # after sim.launch.py
    ros2 service call /policy/start std_srvs/srv/Trigger     # (unless autostart:=true)
    ros2 service call /policy/stop std_srvs/srv/Trigger

With backend:=sim the policy node hosts the simulator and publishes its camera; with
backend:=interbotix camera_node publishes camera/image_raw; with backend:=gazebo the node reads
the world camera of sim.launch.py (/cog/camera/image_raw). Every argument is checked before
anything starts (cog_collect.launch_support); the node refuses a model whose metadata does not
match image_size or the action convention; the launch ends when the policy node ends.
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration

ARGS = [
    ("model", "", "policy export directory (policy.json + policy.pt from `cogrl export`); required"),
    ("backend", "sim", "arm backend: sim | interbotix | gazebo (start sim.launch.py first)"),
    ("robot_model", "wx250s", "Interbotix robot model"),
    ("rate_hz", "5.0", "control rate (Hz)"),
    ("image_size", "48", "image size the model takes (checked against its metadata)"),
    ("image_timeout_s", "0.5", "stop the arm when the newest image is older than this (sim camera: sim time)"),
    ("max_episode_steps", "60", "stop an episode after this many actions"),
    ("autostart", "false", "start as soon as images arrive (else call ~/start)"),
    ("bag_dir", "auto", "log the policy's episodes here; auto = ./cog_bags/policy_<run id>; none = no log"),
    ("storage", "mcap", "rosbag2 storage: mcap | sqlite3"),
    ("condition", "drawer/open", "sim: initial condition of the episodes"),
    ("camera_source", "0", "real camera: device index, /dev/videoN, file or URL"),
    ("camera_width", "320", "camera width (sim render; real: 0 = as delivered)"),
    ("camera_height", "240", "camera height (sim render; real: 0 = as delivered)"),
    ("camera_rate_hz", "15.0", "camera frames per second"),
    ("calibration_yaml", "", "real camera: camera_info YAML"),
]


def _graph(context, *args, **kwargs):
    from cog_collect import launch_support
    from cog_collect.launch_actions import node_actions

    values = {name: LaunchConfiguration(name).perform(context) for name, _, _ in ARGS}
    launch_support.validate("run.launch.py", values)  # raises before any node starts
    return node_actions(launch_support.run_graph(values))


def generate_launch_description() -> LaunchDescription:
    """The policy graph for the chosen backend."""
    return LaunchDescription(
        [DeclareLaunchArgument(name, default_value=default, description=desc) for name, default, desc in ARGS]
        + [OpaqueFunction(function=_graph)]
    )
