"""Scripted data collection: camera -> localizer -> collector -> rosbag2.

    ros2 launch cog_bringup collect.launch.py                       # built-in MuJoCo sim
    ros2 launch cog_bringup collect.launch.py preset:=drawer-task episodes:=50 bag_dir:=data/bags/drawer_task
    ros2 launch cog_bringup collect.launch.py backend:=interbotix camera_source:=0 \
        calibration_yaml:=calib/camera.yaml camera_pose_yaml:=calib/pose.yaml
    ros2 launch cog_bringup sim.launch.py scene:=drawer &           # Gazebo first, then
    ros2 launch cog_bringup collect.launch.py backend:=gazebo preset:=drawer-prior rate_hz:=5.0

With backend:=sim the collector runs the simulator in-process and publishes its camera
(camera/image_raw, camera/camera_info, camera/pose) and joint_states itself; with
backend:=interbotix camera_node publishes the same topics from a real camera; with
backend:=gazebo the nodes read the world camera of sim.launch.py (/cog/camera/*). Every argument
is checked before anything starts (cog_collect.launch_support); the launch ends when the collector
has recorded every episode, or when it fails.
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.substitutions import FindPackageShare

ARGS = [
    ("backend", "sim", "arm backend: sim | interbotix | gazebo (start sim.launch.py first)"),
    ("robot_model", "wx250s", "Interbotix robot model"),
    ("preset", "drawer-prior", "collection preset (see `cogrl collect --help`)"),
    ("episodes", "10", "episodes to record (>= 1)"),
    ("seed", "0", "seed of the behaviour draws and action noise"),
    ("prior_profile", "paper", "scripted behaviours' settings: paper | state-table (the node's noise_std follows it)"),
    ("max_steps", "60", "cap on one episode's length"),
    ("rate_hz", "20.0", "control rate (sim: as fast as the machine allows up to this; real arm: 5)"),
    ("bag_dir", "auto", "output bag directory (new or empty); auto = ./cog_bags/collect_<run id>"),
    ("storage", "mcap", "rosbag2 storage: mcap | sqlite3 (sqlite3 for Humble's default tools)"),
    ("image_size", "48", "logged observation image size (48 or 64)"),
    ("camera_source", "0", "real camera: device index, /dev/videoN, file or URL"),
    ("camera_width", "320", "camera width (sim render; real: 0 = as delivered)"),
    ("camera_height", "240", "camera height (sim render; real: 0 = as delivered)"),
    ("camera_rate_hz", "15.0", "camera frames per second"),
    ("calibration_yaml", "", "real camera: camera_info YAML"),
    ("camera_pose_yaml", "", "real camera: camera pose YAML (`cogrl calibrate extrinsics`); gazebo: generated"),
    ("use_localizer", "true", "run the background-subtraction localizer"),
    ("object_source", "sim", "object position for the behaviours: sim (ground truth) | localizer (/cog/object)"),
    ("rviz", "false", "start rviz2 with the COG view"),
    ("params_file", PathJoinSubstitution([FindPackageShare("cog_bringup"), "config", "sim.yaml"]),
     "parameter file of the setup (config/sim.yaml, config/wx250s_real.yaml)"),
]


def _graph(context, *args, **kwargs):
    from cog_collect import launch_support
    from cog_collect.launch_actions import node_actions

    values = {name: LaunchConfiguration(name).perform(context) for name, _, _ in ARGS}
    launch_support.validate("collect.launch.py", values, bag_optional=False)  # raises before any node starts
    values["rviz_config"] = PathJoinSubstitution([FindPackageShare("cog_bringup"), "rviz", "cog.rviz"]).perform(context)
    return node_actions(launch_support.collect_graph(values))


def generate_launch_description() -> LaunchDescription:
    """The collection graph for the chosen backend."""
    return LaunchDescription(
        [DeclareLaunchArgument(name, default_value=default, description=desc) for name, default, desc in ARGS]
        + [OpaqueFunction(function=_graph)]
    )
