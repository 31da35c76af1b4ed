"""Run an exported policy on the arm: camera -> policy_node -> arm backend.

    ros2 launch cog_policy run.launch.py model:=runs/cog_drawer/export          # built-in sim
    ros2 launch cog_policy run.launch.py model:=... backend:=interbotix rate_hz:=5.0 \
        camera_source:=0 calibration_yaml:=calib/camera.yaml
    ros2 service call /policy/start std_srvs/srv/Trigger     # (unless autostart:=true)
    ros2 service call /policy/stop std_srvs/srv/Trigger

With backend:=sim the policy node hosts the simulator and publishes its camera; with a robot
backend camera_node publishes camera/image_raw. The node refuses to start when the model's
metadata does not match image_size or the action convention.
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration, PythonExpression
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue

ARGS = [
    ("model", "", "policy export directory (policy.json + policy.pt from `cogrl export`); required"),
    ("backend", "sim", "arm backend: sim | interbotix | gazebo"),
    ("robot_model", "wx250s", "Interbotix robot model"),
    ("rate_hz", "5.0", "control rate (Hz)"),
    ("image_size", "48", "image size the model takes (checked against its metadata)"),
    ("image_timeout_s", "0.5", "stop the arm when the newest image is older than this"),
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

TYPES = {  # parameter types as the nodes declare them (anything else is a string)
    "image_size": int, "max_episode_steps": int, "camera_width": int, "camera_height": int,
    "rate_hz": float, "image_timeout_s": float, "camera_rate_hz": float, "autostart": bool,
}


def generate_launch_description() -> LaunchDescription:
    """The policy graph for the chosen backend."""
    arg = LaunchConfiguration

    def v(name: str) -> ParameterValue:
        """The launch argument as a parameter of the node's declared type (so 5 works for a float)."""
        return ParameterValue(arg(name), value_type=TYPES.get(name, str))

    is_sim = PythonExpression(["'", arg("backend"), "' == 'sim'"])
    not_sim = PythonExpression(["'", arg("backend"), "' != 'sim'"])
    camera = Node(
        package="cog_collect", executable="camera_node", name="camera", output="screen",
        condition=IfCondition(not_sim),
        parameters=[{"source": v("camera_source"), "width": v("camera_width"), "height": v("camera_height"),
                     "rate_hz": v("camera_rate_hz"), "calibration_yaml": v("calibration_yaml")}],
    )
    policy = Node(
        package="cog_policy", executable="policy_node", name="policy", output="screen",
        parameters=[{
            "model": v("model"), "backend": v("backend"), "robot_model": v("robot_model"),
            "rate_hz": v("rate_hz"), "image_size": v("image_size"), "image_timeout_s": v("image_timeout_s"),
            "max_episode_steps": v("max_episode_steps"), "autostart": v("autostart"), "bag_dir": v("bag_dir"),
            "storage": v("storage"), "condition": v("condition"), "camera_width": v("camera_width"),
            "camera_height": v("camera_height"), "camera_rate_hz": v("camera_rate_hz"), "publish_camera": ParameterValue(is_sim, value_type=bool)}],
    )
    return LaunchDescription(
        [DeclareLaunchArgument(name, default_value=default, description=desc) for name, default, desc in ARGS]
        + [camera, policy]
    )
