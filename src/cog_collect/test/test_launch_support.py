"""What the launch files decide: argument checks (before anything starts) and the node graph per backend."""

from __future__ import annotations

import importlib.util
import math
import re

import numpy as np
import pytest

from cog_collect import launch_support as ls

COLLECT_DEFAULTS = {
    "backend": "sim", "robot_model": "wx250s", "preset": "drawer-prior", "episodes": "10", "seed": "0",
    "prior_profile": "paper", "max_steps": "60", "rate_hz": "20.0", "bag_dir": "auto", "storage": "mcap", "image_size": "48",
    "camera_source": "0", "camera_width": "320", "camera_height": "240", "camera_rate_hz": "15.0",
    "calibration_yaml": "", "camera_pose_yaml": "", "use_localizer": "true", "object_source": "sim", "rviz": "false",
}


@pytest.fixture
def collect(tmp_path):
    params = tmp_path / "sim.yaml"
    params.write_text("collector:\n  ros__parameters: {}\n")
    return dict(COLLECT_DEFAULTS, params_file=str(params), rviz_config=str(tmp_path / "cog.rviz"))


@pytest.fixture
def run(tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    (model / "policy.json").write_text("{}")
    (model / "policy.pt").write_bytes(b"")
    return {"model": str(model), "backend": "sim", "robot_model": "wx250s", "rate_hz": "5.0", "image_size": "48",
            "image_timeout_s": "0.5", "max_episode_steps": "60", "autostart": "false", "bag_dir": "auto",
            "storage": "mcap", "condition": "drawer/open", "camera_source": "0", "camera_width": "320",
            "camera_height": "240", "camera_rate_hz": "15.0", "calibration_yaml": ""}


def test_the_defaults_pass(collect, run):
    assert ls.check(collect, bag_optional=False) == []
    assert ls.check(run) == []


@pytest.mark.parametrize("name, value, expected", [
    ("episodes", "ten", "episodes:=ten: expected a whole number >= 1"),
    ("episodes", "0", "episodes:=0: expected a whole number >= 1"),
    ("episodes", "2.5", "episodes:=2.5: expected a whole number >= 1"),
    ("seed", "-3", "seed:=-3: expected a whole number >= 0"),
    ("rate_hz", "0", "rate_hz:=0: expected a number > 0"),
    ("rate_hz", "nan", "rate_hz:=nan: expected a number > 0"),
    ("prior_profile", "easy", "prior_profile:=easy: expected one of state-table, paper"),
    ("backend", "bogus", "backend:=bogus: expected one of sim, interbotix, gazebo"),
    ("storage", "zip", "storage:=zip: expected one of mcap, sqlite3"),
    ("preset", "nope", "preset:=nope: expected one of pick-place-prior"),
    ("object_source", "gps", "object_source:=gps: expected one of sim, localizer"),
    ("rviz", "yes", "rviz:=yes: expected true or false"),
    ("camera_pose_yaml", "/no/such.yaml", "camera_pose_yaml:=/no/such.yaml: no such file"),
    ("params_file", "/no/such.yaml", "params_file:=/no/such.yaml: expected an existing file"),
    ("camera_width", "0", "camera_width:=0: the sim renders its camera at a fixed size"),
    ("bag_dir", "none", "bag_dir:=none: the collector's bag is its output"),
], ids=lambda x: x if isinstance(x, str) and len(x) < 20 else None)
def test_a_bad_collect_argument_is_named_with_the_expected_form(collect, name, value, expected):
    collect[name] = value
    problems = ls.check(collect, bag_optional=False)
    assert len(problems) == 1 and problems[0].startswith(expected), problems


def test_every_bad_argument_is_reported_at_once(collect):
    collect.update(episodes="ten", rate_hz="-1", backend="bogus")
    with pytest.raises(ls.LaunchArgumentError) as err:
        ls.validate("collect.launch.py", collect, bag_optional=False)
    text = str(err.value)
    assert text.startswith("collect.launch.py: ") and text.endswith("(nothing was started)")
    assert all(f"{n}:=" in text for n in ("episodes", "rate_hz", "backend"))


def test_run_arguments(run, tmp_path):
    assert ls.check(dict(run, model=""))[0].startswith("model:='': required")
    assert "expected a `cogrl export` directory" in ls.check(dict(run, model=str(tmp_path)))[0]
    assert ls.check(dict(run, condition="kitchen/open"))[0].startswith("condition:=kitchen/open: expected one of drawer/open")
    assert ls.check(dict(run, bag_dir="none")) == []  # the policy's log is optional
    full = tmp_path / "full"
    full.mkdir()
    (full / "x").write_text("")
    assert "exists and is not empty" in ls.check(dict(run, bag_dir=str(full)))[0]


def test_missing_packages_get_an_install_hint(collect):
    if ls.package_installed("rviz2"):
        pytest.skip("rviz2 is installed here")
    assert "apt install ros-$ROS_DISTRO-rviz2" in ls.check(dict(collect, rviz="true"))[0]
    if importlib.util.find_spec("interbotix_xs_modules") is None:
        assert "xsarm_amd64_install.sh" in ls.check(dict(collect, backend="interbotix"))[0]
    with pytest.raises(ls.LaunchArgumentError, match="needs the ROS package interbotix_xsarm_sim, which is not installed: do this"):
        ls.require_package("interbotix_xsarm_sim", "sim.launch.py", "do this")


def _by_exe(specs):
    return {s.executable: s for s in specs}


def test_sim_graph_renders_its_own_camera(collect, run):
    nodes = _by_exe(ls.collect_graph(collect))
    assert set(nodes) == {"localizer_node", "collector_node"}
    assert nodes["collector_node"].parameters["publish_camera"] is True and nodes["collector_node"].remappings == []
    assert nodes["collector_node"].parameters["episodes"] == 10 and nodes["collector_node"].shutdown_on_exit
    assert nodes["collector_node"].parameter_files == [collect["params_file"]]
    (policy,) = ls.run_graph(run)
    assert policy.parameters["publish_camera"] is True and policy.shutdown_on_exit
    assert policy.parameters["rate_hz"] == 5.0 and policy.parameters["autostart"] is False


def test_interbotix_graph_has_the_camera_node(collect, run):
    collect["backend"] = run["backend"] = "interbotix"
    nodes = _by_exe(ls.collect_graph(collect))
    assert set(nodes) == {"camera_node", "localizer_node", "collector_node"}
    assert nodes["collector_node"].parameters["publish_camera"] is False
    assert [s.executable for s in ls.run_graph(run)] == ["camera_node", "policy_node"]


def test_gazebo_graph_reads_the_world_camera_of_sim_launch(collect, run):
    collect.update(backend="gazebo", preset="drawer-task")
    nodes = _by_exe(ls.collect_graph(collect))
    assert set(nodes) == {"localizer_node", "collector_node"}  # no camera_node on /dev/video0
    assert nodes["collector_node"].remappings == [("camera/image_raw", "/cog/camera/image_raw")]
    assert nodes["collector_node"].parameters["publish_camera"] is False
    assert nodes["localizer_node"].remappings == [("camera/image_raw", "/cog/camera/image_raw"),
                                                   ("camera/camera_info", "/cog/camera/camera_info")]
    assert nodes["localizer_node"].parameters["camera_pose_yaml"].endswith("cog_drawer_camera_pose.yaml")
    run["backend"] = "gazebo"
    (policy,) = ls.run_graph(run)
    assert policy.remappings == [("camera/image_raw", "/cog/camera/image_raw")]


@pytest.mark.parametrize("scene", ["drawer", "pick_place"])
def test_the_gazebo_camera_pose_is_the_world_camera(scene, tmp_path):
    """The localizer's pose of the Gazebo camera is the camera sim.launch.py's world places (cog_core.sim.sdf)."""
    from cog_core.sim.layout import SCENES
    from cog_core.sim.sdf import world_sdf
    from cog_core.vision import CameraPose

    pose = CameraPose.load(ls.gazebo_camera_pose_yaml(scene, str(tmp_path)))
    cam = SCENES[scene].camera
    assert np.allclose(pose.t, cam.pos)
    sdf = world_sdf(SCENES[scene])
    x, y, z, roll, pitch, yaw = map(float, re.search(r'<model name="obs_camera">\s*<static>true</static>\s*<pose>([^<]+)</pose>', sdf)
                                    .group(1).split())
    assert np.allclose([x, y, z], cam.pos) and roll == 0.0
    # Gazebo's camera looks along its link's +x: R(yaw) R(pitch) e_x; the optical frame looks along +z
    view = np.array([math.cos(yaw) * math.cos(pitch), math.sin(yaw) * math.cos(pitch), -math.sin(pitch)])
    assert np.allclose(pose.R[:, 2], view, atol=1e-5)
    assert pose.R[2, 0] == pytest.approx(0.0, abs=1e-6)  # no roll: the image x axis stays horizontal
    assert pose.R[:, 1] @ np.array([0.0, 0.0, 1.0]) < 0  # image y points down
