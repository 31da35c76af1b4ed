"""What the launch files decide, in plain Python: argument checks and the node graph per backend.

`collect.launch.py` and `run.launch.py` read their arguments, call `validate` (which raises
`LaunchArgumentError` naming every bad argument and the form it expects, before any process is
started) and turn the `NodeSpec`s of `collect_graph` / `run_graph` into launch_ros `Node`s. No
`launch` import here, so all of it is tested without a ROS install.

Where the camera comes from, per backend:

- ``sim``: the collector / policy node renders it itself (``publish_camera:=true``);
- ``interbotix``: ``camera_node`` (OpenCV device, file or URL) publishes ``camera/image_raw``;
- ``gazebo``: the world's camera of ``sim.launch.py`` publishes ``/cog/camera/image_raw`` and
  ``/cog/camera/camera_info``; the nodes are remapped onto those, and the localizer gets the
  camera pose of the scene's world (generated from the same layout as the world) unless
  ``camera_pose_yaml`` is given.
"""

from __future__ import annotations

import importlib.util
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BACKENDS = ("sim", "interbotix", "gazebo")
STORAGES = ("mcap", "sqlite3")
SCENES = ("drawer", "pick_place")
GAZEBO_CAMERA_NS = "/cog/camera"  # sim.launch.py's world camera (gazebo_ros_camera, namespace /cog)
TRUE, FALSE = ("true", "1"), ("false", "0")


class LaunchArgumentError(ValueError):
    """One or more launch arguments are invalid; the message names each and the expected form."""


# -- argument rules --------------------------------------------------------------------------------
Rule = Callable[[str], str | None]  # value -> problem (the expected form) or None


def _integer(low: int) -> Rule:
    def rule(value: str) -> str | None:
        try:
            ok = int(value) >= low
        except ValueError:
            ok = False
        return None if ok else f"expected a whole number >= {low}"
    return rule


def _number(low: float, inclusive: bool) -> Rule:
    def rule(value: str) -> str | None:
        try:
            x = float(value)
            ok = x == x and (x >= low if inclusive else x > low) and x != float("inf")
        except ValueError:
            ok = False
        return None if ok else f"expected a number {'>=' if inclusive else '>'} {low:g}"
    return rule


def _choice(options: Callable[[], Sequence[str]] | Sequence[str]) -> Rule:
    def rule(value: str) -> str | None:
        valid = list(options() if callable(options) else options)
        return None if value in valid else "expected one of " + ", ".join(valid)
    return rule


def _boolean(value: str) -> str | None:
    return None if value.lower() in TRUE + FALSE else "expected true or false"


def _file_or_empty(value: str) -> str | None:
    return None if not value or Path(value).expanduser().is_file() else "no such file"


def _file(value: str) -> str | None:
    return None if value and Path(value).expanduser().is_file() else "expected an existing file"


def _presets() -> list[str]:
    from cog_core.scripted.presets import PRESETS

    return list(PRESETS)


def _prior_profiles() -> list[str]:
    from cog_core.scripted.policies import PRIOR_PROFILES

    return list(PRIOR_PROFILES)


def _conditions() -> list[str]:
    from cog_core.sim.conditions import CONDITIONS

    return list(CONDITIONS)


def _model(value: str) -> str | None:
    if not value:
        return "required: the directory written by `cogrl export` (policy.json + policy.pt)"
    d = Path(value).expanduser()
    if not (d / "policy.json").is_file() or not (d / "policy.pt").is_file():
        return "expected a `cogrl export` directory holding policy.json and policy.pt"
    return None


def _bag_dir(value: str) -> str | None:
    if value in ("", "auto", "none"):
        return None
    d = Path(value).expanduser()
    if d.exists() and (not d.is_dir() or any(d.iterdir())):
        return "expected a new or empty directory (or auto); this one exists and is not empty"
    return None


RULES: dict[str, Rule] = {
    "backend": _choice(BACKENDS),
    "storage": _choice(STORAGES),
    "object_source": _choice(("sim", "localizer")),
    "scene": _choice(SCENES),
    "preset": _choice(_presets),
    "condition": _choice(_conditions),
    "episodes": _integer(1),
    "max_steps": _integer(1),
    "max_episode_steps": _integer(1),
    "image_size": _integer(8),
    "seed": _integer(0),
    "camera_width": _integer(0),
    "camera_height": _integer(0),
    "rate_hz": _number(0.0, inclusive=False),
    "camera_rate_hz": _number(0.0, inclusive=False),
    "image_timeout_s": _number(0.0, inclusive=False),
    "noise_std": _number(0.0, inclusive=True),
    "prior_profile": _choice(_prior_profiles),
    "rviz": _boolean,
    "use_rviz": _boolean,
    "use_localizer": _boolean,
    "autostart": _boolean,
    "params_file": _file,
    "calibration_yaml": _file_or_empty,
    "camera_pose_yaml": _file_or_empty,
    "model": _model,
    "bag_dir": _bag_dir,
}


def is_true(value: str) -> bool:
    """A launch boolean (true/false/1/0, any case) as a bool."""
    return value.lower() in TRUE


def package_installed(name: str) -> bool:
    """True when the ROS package `name` is in the ament index (a sourced workspace or /opt/ros)."""
    from ament_index_python.packages import PackageNotFoundError, get_package_prefix

    try:
        get_package_prefix(name)
        return True
    except (PackageNotFoundError, ValueError, LookupError, OSError):  # OSError: no AMENT_PREFIX_PATH at all
        return False


def _install_problems(values: Mapping[str, str]) -> list[str]:
    """What the chosen setup needs that is not installed, with the way to install it."""
    problems = []
    if is_true(values.get("rviz", "false")) and not package_installed("rviz2"):
        problems.append("rviz:=true but rviz2 is not installed (apt install ros-$ROS_DISTRO-rviz2), or use rviz:=false")
    backend = values.get("backend", "sim")
    if backend == "interbotix" and importlib.util.find_spec("interbotix_xs_modules") is None:
        problems.append(
            "backend:=interbotix needs the Interbotix X-Series stack (interbotix_xs_modules): install it with "
            "Interbotix's xsarm_amd64_install.sh -d humble, or use the docker/ image (docs/real_robot.md)")
    if backend == "gazebo" and importlib.util.find_spec("trajectory_msgs") is None:
        problems.append("backend:=gazebo needs trajectory_msgs (apt install ros-$ROS_DISTRO-trajectory-msgs)")
    return problems


def check(values: Mapping[str, str], *, bag_optional: bool = True) -> list[str]:
    """Every problem with the given launch arguments (name:=value -> expected form); [] when all are fine.

    `bag_optional`: whether ``bag_dir:=none`` (no logging) is allowed (the policy's log is optional,
    the collector's bag is its output)."""
    problems = []
    for name, value in values.items():
        rule = RULES.get(name)
        problem = rule(value) if rule is not None else None
        if problem:
            problems.append(f"{name}:={value!r}: {problem}" if value == "" else f"{name}:={value}: {problem}")
    if not bag_optional and values.get("bag_dir") == "none":
        problems.append("bag_dir:=none: the collector's bag is its output; expected auto or a new or empty directory")
    if not problems and values.get("backend") == "sim":
        for name in ("camera_width", "camera_height"):
            if name in values and int(values[name]) == 0:
                problems.append(f"{name}:=0: the sim renders its camera at a fixed size; expected a whole number >= 1")
    if not problems:
        problems += _install_problems(values)
    return problems


def validate(launch_file: str, values: Mapping[str, str], *, bag_optional: bool = True) -> None:
    """Raise `LaunchArgumentError` listing every problem `check` finds (nothing has been started yet)."""
    problems = check(values, bag_optional=bag_optional)
    if problems:
        raise LaunchArgumentError(f"{launch_file}: " + "; ".join(problems) + " (nothing was started)")


def require_package(package: str, needed_for: str, hint: str) -> None:
    """Raise `LaunchArgumentError` with an install hint when the ROS package is not installed."""
    if not package_installed(package):
        raise LaunchArgumentError(f"{needed_for} needs the ROS package {package}, which is not installed: {hint}")


# -- the node graphs -------------------------------------------------------------------------------
@dataclass
class NodeSpec:
    """One node of a launch graph: what launch_ros.actions.Node gets."""

    package: str
    executable: str
    name: str
    parameters: dict[str, Any] = field(default_factory=dict)
    parameter_files: list[str] = field(default_factory=list)
    remappings: list[tuple[str, str]] = field(default_factory=list)
    arguments: list[str] = field(default_factory=list)
    shutdown_on_exit: bool = False  # the graph ends when this node ends (it finished, or failed)


def _camera_remaps(backend: str, with_info: bool = False) -> list[tuple[str, str]]:
    if backend != "gazebo":
        return []
    remaps = [("camera/image_raw", f"{GAZEBO_CAMERA_NS}/image_raw")]
    if with_info:
        remaps.append(("camera/camera_info", f"{GAZEBO_CAMERA_NS}/camera_info"))
    return remaps


def _camera_node(v: Mapping[str, str], params_file: str | None = None) -> NodeSpec:
    params = {"source": v["camera_source"], "width": int(v["camera_width"]), "height": int(v["camera_height"]),
              "rate_hz": float(v["camera_rate_hz"]), "calibration_yaml": v["calibration_yaml"]}
    if "camera_pose_yaml" in v:
        params["camera_pose_yaml"] = v["camera_pose_yaml"]
    return NodeSpec("cog_collect", "camera_node", "camera", params, [params_file] if params_file else [])


def gazebo_camera_pose_yaml(scene: str, out_dir: str | None = None) -> str:
    """Write the camera pose of `scene`'s Gazebo world (its optical frame in the base frame) as a
    camera-pose YAML for the localizer; returns the path. The world's camera looks from the layout's
    camera position at its target without roll, as `cog_core.sim.sdf` places it."""
    import numpy as np

    from cog_core.sim.layout import SCENES as LAYOUTS
    from cog_core.vision import CameraPose
    from cog_core.vision.synthetic import look_at

    cam = LAYOUTS[scene].camera
    R_mujoco = look_at(np.array(cam.pos), np.array(cam.target))  # x right, y up, z backwards
    pose = CameraPose.from_rt(R_mujoco @ np.diag([1.0, -1.0, -1.0]), cam.pos, camera_frame="obs_camera_optical",
                              table_z=0.0, method=f"generated: Gazebo world of scene {scene}")
    out = Path(out_dir or tempfile.mkdtemp(prefix="cog_gazebo_"))
    path = out / f"cog_{scene}_camera_pose.yaml"
    pose.save(path)
    return str(path)


def _scene_of_preset(preset: str) -> str:
    from cog_core.scripted.presets import get_preset
    from cog_core.sim.conditions import get_condition

    return get_condition(get_preset(preset).mix[0].condition).scene


def collect_graph(v: Mapping[str, str]) -> list[NodeSpec]:
    """The nodes of collect.launch.py for validated arguments `v`."""
    backend = v["backend"]
    params_file = v["params_file"]
    nodes = []
    if backend == "interbotix":
        nodes.append(_camera_node(v, params_file))
    if is_true(v["use_localizer"]):
        pose_yaml = v["camera_pose_yaml"]
        if backend == "gazebo" and not pose_yaml:
            pose_yaml = gazebo_camera_pose_yaml(_scene_of_preset(v["preset"]))
        nodes.append(NodeSpec("cog_collect", "localizer_node", "localizer", {"camera_pose_yaml": pose_yaml},
                              [params_file], _camera_remaps(backend, with_info=True)))
    nodes.append(NodeSpec(
        "cog_collect", "collector_node", "collector",
        {"backend": backend, "robot_model": v["robot_model"], "preset": v["preset"], "episodes": int(v["episodes"]),
         "seed": int(v["seed"]), "prior_profile": v["prior_profile"], "max_steps": int(v["max_steps"]),
         "rate_hz": float(v["rate_hz"]), "bag_dir": v["bag_dir"], "storage": v["storage"],
         "image_size": int(v["image_size"]), "camera_width": int(v["camera_width"]),
         "camera_height": int(v["camera_height"]), "camera_rate_hz": float(v["camera_rate_hz"]),
         "object_source": v["object_source"], "publish_camera": backend == "sim"},
        [params_file], _camera_remaps(backend), shutdown_on_exit=True))
    if is_true(v["rviz"]):
        nodes.append(NodeSpec("rviz2", "rviz2", "rviz", arguments=["-d", v["rviz_config"]]))
    return nodes


def run_graph(v: Mapping[str, str]) -> list[NodeSpec]:
    """The nodes of run.launch.py for validated arguments `v`."""
    backend = v["backend"]
    nodes = []
    if backend == "interbotix":
        nodes.append(_camera_node(v))
    nodes.append(NodeSpec(
        "cog_policy", "policy_node", "policy",
        {"model": v["model"], "backend": backend, "robot_model": v["robot_model"], "rate_hz": float(v["rate_hz"]),
         "image_size": int(v["image_size"]), "image_timeout_s": float(v["image_timeout_s"]),
         "max_episode_steps": int(v["max_episode_steps"]), "autostart": is_true(v["autostart"]),
         "bag_dir": v["bag_dir"], "storage": v["storage"], "condition": v["condition"],
         "camera_width": int(v["camera_width"]), "camera_height": int(v["camera_height"]),
         "camera_rate_hz": float(v["camera_rate_hz"]), "publish_camera": backend == "sim"},
        remappings=_camera_remaps(backend), shutdown_on_exit=True))
    return nodes
