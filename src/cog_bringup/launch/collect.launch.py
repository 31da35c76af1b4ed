"""Scripted data collection: camera -> localizer -> collector -> rosbag2.

    ros2 launch cog_bringup collect.launch.py                       # built-in MuJoCo sim
    ros2 launch cog_bringup collect.launch.py preset:=drawer-task episodes:=50 bag_dir:=data/bags/drawer_task
    ros2 launch cog_bringup collect.launch.py backend:=interbotix camera_source:=0 \
        calibration_yaml:=calib/camera.yaml camera_pose_yaml:=calib/pose.yaml

With backend:=sim the collector runs the simulator in-process and publishes its camera
(camera/image_raw, camera/camera_info, camera/pose) and joint_states itself; with a robot
backend camera_node publishes the same topics from a real camera. The launch ends when the
collector has recorded every episode.
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, EmitEvent, RegisterEventHandler
from launch.conditions import IfCondition
from launch.event_handlers import OnProcessExit
from launch.events import Shutdown
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution, PythonExpression
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare

ARGS = [
    ("backend", "sim", "arm backend: sim | interbotix | gazebo"),
    ("robot_model", "wx250s", "Interbotix robot model"),
    ("preset", "drawer-prior", "collection preset (see `cogrl collect --help`)"),
    ("episodes", "10", "episodes to record"),
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
    ("camera_pose_yaml", "", "real camera: camera pose YAML (`cogrl calibrate extrinsics`)"),
    ("use_localizer", "true", "run the background-subtraction localizer"),
    ("object_source", "sim", "object position for the behaviours: sim (ground truth) | localizer (/cog/object)"),
    ("rviz", "false", "start rviz2 with the COG view"),
    ("params_file", PathJoinSubstitution([FindPackageShare("cog_bringup"), "config", "sim.yaml"]),
     "parameter file of the setup (config/sim.yaml, config/wx250s_real.yaml)"),
]

TYPES = {  # parameter types as the nodes declare them (anything else is a string)
    "episodes": int, "seed": int, "max_steps": int, "image_size": int, "camera_width": int, "camera_height": int,
    "rate_hz": float, "camera_rate_hz": float,
}


def generate_launch_description() -> LaunchDescription:
    """The collection graph for the chosen backend."""
    arg = LaunchConfiguration

    def v(name: str) -> ParameterValue:
        """The launch argument as a parameter of the node's declared type (so 5 works for a float)."""
        return ParameterValue(arg(name), value_type=TYPES.get(name, str))

    is_sim = PythonExpression(["'", arg("backend"), "' == 'sim'"])
    not_sim = PythonExpression(["'", arg("backend"), "' != 'sim'"])
    camera = Node(
        package="cog_collect", executable="camera_node", name="camera", output="screen",
        condition=IfCondition(not_sim),
        parameters=[arg("params_file"), {
            "source": v("camera_source"), "width": v("camera_width"), "height": v("camera_height"),
            "rate_hz": v("camera_rate_hz"), "calibration_yaml": v("calibration_yaml"),
            "camera_pose_yaml": v("camera_pose_yaml")}],
    )
    localizer = Node(
        package="cog_collect", executable="localizer_node", name="localizer", output="screen",
        condition=IfCondition(arg("use_localizer")),
        parameters=[arg("params_file"), {"camera_pose_yaml": v("camera_pose_yaml")}],
    )
    collector = Node(
        package="cog_collect", executable="collector_node", name="collector", output="screen",
        parameters=[arg("params_file"), {
            "backend": v("backend"), "robot_model": v("robot_model"), "preset": v("preset"),
            "episodes": v("episodes"), "seed": v("seed"), "prior_profile": v("prior_profile"),
            "max_steps": v("max_steps"), "rate_hz": v("rate_hz"), "bag_dir": v("bag_dir"),
            "storage": v("storage"), "image_size": v("image_size"), "camera_width": v("camera_width"),
            "camera_height": v("camera_height"), "camera_rate_hz": v("camera_rate_hz"),
            "object_source": v("object_source"), "publish_camera": ParameterValue(is_sim, value_type=bool)}],
    )
    rviz = Node(
        package="rviz2", executable="rviz2", name="rviz", condition=IfCondition(arg("rviz")),
        arguments=["-d", PathJoinSubstitution([FindPackageShare("cog_bringup"), "rviz", "cog.rviz"])],
    )
    done = RegisterEventHandler(OnProcessExit(target_action=collector, on_exit=[EmitEvent(event=Shutdown(reason="collection finished"))]))
    return LaunchDescription(
        [DeclareLaunchArgument(name, default_value=default, description=desc) for name, default, desc in ARGS]
        + [camera, localizer, collector, rviz, done]
    )
