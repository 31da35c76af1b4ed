"""The launch files: valid Python, the documented arguments, only parameters the nodes declare, and
-- where `launch` is installed -- bad arguments refused before anything starts.

The files are thin: they read their arguments, call `cog_collect.launch_support.validate` and start
the `NodeSpec`s of `collect_graph` / `run_graph`, which cog_collect's tests cover. Here the files are
read from share/ of a built workspace when one is sourced (else from the source tree). The checks
that run the files need `launch` and `launch_ros` (ROS 2 packages, not on PyPI) and skip without.
"""

from __future__ import annotations

import ast
import os
import py_compile
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2]


def _launch_path(package: str, name: str) -> Path:
    for prefix in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep):
        path = Path(prefix) / "share" / package / "launch" / name
        if prefix and path.is_file():
            return path
    return SRC / package / "launch" / name


COLLECT = _launch_path("cog_bringup", "collect.launch.py")
RUN = _launch_path("cog_policy", "run.launch.py")
SIM = _launch_path("cog_bringup", "sim.launch.py")


def _args(path: Path) -> dict[str, str]:
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "ARGS" for t in node.targets):
            return {elt.elts[0].value: (elt.elts[1].value if isinstance(elt.elts[1], ast.Constant) else "")
                    for elt in node.value.elts}
    raise AssertionError(f"{path} has no ARGS list")


def _defaults(path: Path) -> dict[str, str]:
    values = _args(path)
    if "params_file" in values:
        values["params_file"] = str(SRC / "cog_bringup" / "config" / "sim.yaml")
    values["rviz_config"] = str(SRC / "cog_bringup" / "rviz" / "cog.rviz")
    return values


@pytest.mark.parametrize("path", [COLLECT, RUN, SIM], ids=["collect", "run", "sim"])
def test_launch_files_compile(path, tmp_path):
    py_compile.compile(str(path), cfile=str(tmp_path / "x.pyc"), doraise=True)


@pytest.mark.parametrize("path", [COLLECT, RUN, SIM], ids=["collect", "run", "sim"])
def test_launch_files_validate_their_arguments_before_starting_nodes(path):
    """The graph is built inside an OpaqueFunction that calls launch_support.validate first."""
    src = path.read_text()
    tree = ast.parse(src)
    fn = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name in ("_graph", "_launch_setup"))
    calls = [ast.unparse(c.func) for c in ast.walk(fn) if isinstance(c, ast.Call)]
    assert "launch_support.validate" in calls
    first_validate = min(c.lineno for c in ast.walk(fn) if isinstance(c, ast.Call) and ast.unparse(c.func) == "launch_support.validate")
    starts = [c.lineno for c in ast.walk(fn) if isinstance(c, ast.Call)
              and ast.unparse(c.func) in ("node_actions", "IncludeLaunchDescription")]
    assert starts and min(starts) > first_validate
    assert "OpaqueFunction(function=" in src


def test_launch_arguments_cover_the_documented_ones():
    common = {"backend", "robot_model", "camera_source", "camera_width", "camera_height", "camera_rate_hz", "bag_dir", "rate_hz"}
    assert common | {"preset", "episodes", "params_file", "rviz"} <= set(_args(COLLECT))
    assert common | {"model", "image_timeout_s", "max_episode_steps", "autostart"} <= set(_args(RUN))
    assert {"scene", "robot_model", "world_dir", "camera_width", "camera_height", "use_rviz"} <= set(_args(SIM))


def test_every_launch_argument_has_a_check():
    from cog_collect.launch_support import RULES

    free_form = {"robot_model", "camera_source", "world_dir"}  # any string is a value the node judges
    for path in (COLLECT, RUN, SIM):
        unchecked = set(_args(path)) - set(RULES) - free_form
        assert not unchecked, f"{path.name}: no check for {unchecked}"


def test_the_default_arguments_pass_the_checks(tmp_path):
    from cog_collect import launch_support

    assert launch_support.check(_defaults(COLLECT), bag_optional=False) == []
    model = tmp_path / "model"  # what the launch check looks at (the node checks the contents)
    model.mkdir()
    (model / "policy.json").write_text("{}")
    (model / "policy.pt").write_bytes(b"")
    assert launch_support.check(_defaults(RUN) | {"model": str(model)}) == []


def test_launch_parameters_are_declared_by_the_nodes(tmp_path):
    pytest.importorskip("rclpy", reason="rclpy is not installed (bash scripts/bootstrap.sh installs the Jazzy wheels)")
    pytest.importorskip("cog_msgs", reason="cog_msgs is not built here: run in the colcon-built workspace (bash scripts/ros.sh)")
    import cv2
    import numpy as np
    import yaml
    from rclpy.parameter import Parameter

    from cog_collect.camera_node import CameraNode
    from cog_collect.collector_node import CollectorNode
    from cog_collect.launch_support import collect_graph, run_graph
    from cog_collect.localizer_node import LocalizerNode
    from cog_collect.testing import ros_session
    from cog_policy.policy_node import PolicyNode
    from cog_policy.testing import export_small_policy

    cv2.imwrite(str(tmp_path / "still.png"), np.zeros((48, 64, 3), np.uint8))
    model = export_small_policy(tmp_path / "model")
    with ros_session() as (ctx, _):
        nodes = {
            "camera_node": CameraNode(context=ctx, parameter_overrides=[Parameter("source", value=str(tmp_path / "still.png"))]),
            "localizer_node": LocalizerNode(context=ctx),
            "collector_node": CollectorNode(context=ctx, parameter_overrides=[
                Parameter("bag_dir", value=str(tmp_path / "bag")), Parameter("autostart", value=False),
                Parameter("publish_camera", value=False)]),
            "policy_node": PolicyNode(context=ctx, parameter_overrides=[
                Parameter("model", value=str(model)), Parameter("bag_dir", value="none"), Parameter("publish_camera", value=False)]),
        }
        try:
            for backend in ("sim", "interbotix", "gazebo"):
                collect = _defaults(COLLECT) | {"backend": backend}
                run = _defaults(RUN) | {"backend": backend, "model": str(model)}
                for spec in collect_graph(collect) + run_graph(run):
                    if spec.executable not in nodes:
                        continue  # rviz2
                    declared = set(nodes[spec.executable]._parameters)
                    passed = set(spec.parameters)
                    for path in spec.parameter_files:
                        passed |= set(yaml.safe_load(Path(path).read_text()).get(spec.name, {}).get("ros__parameters", {}))
                    assert passed <= declared, f"{backend}: {spec.executable} does not declare {passed - declared}"
            by_name = {"camera": "camera_node", "localizer": "localizer_node", "collector": "collector_node", "policy": "policy_node"}
            for cfg in sorted((SRC / "cog_bringup" / "config").glob("*.yaml")):
                for node_name, body in yaml.safe_load(cfg.read_text()).items():
                    keys = set(body["ros__parameters"])
                    declared = set(nodes[by_name[node_name]]._parameters)
                    assert keys <= declared, f"{cfg.name}: {node_name} does not declare {keys - declared}"
        finally:
            for n in nodes.values():
                n.destroy_node()


def test_sim_launch_generates_the_world_from_cog_core(tmp_path):
    """sim.launch.py's world comes from cog_core (its helper runs without `launch`: stubbed modules)."""
    import importlib.util
    import types

    src = SIM.read_text()
    assert "xsarm_gz_classic.launch.py" in src and "interbotix_xsarm_sim" in src
    stubs = {}
    for mod in ("launch", "launch.actions", "launch.launch_description_sources", "launch.substitutions",
                "launch_ros", "launch_ros.substitutions"):
        if mod not in sys.modules:
            m = types.ModuleType(mod)
            m.__getattr__ = lambda name: object  # type: ignore[attr-defined]
            stubs[mod] = m
    sys.modules.update(stubs)
    try:
        spec = importlib.util.spec_from_file_location("sim_launch", SIM)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        from cog_core.sim.layout import SCENES
        from cog_core.sim.sdf import world_sdf

        for scene in ("drawer", "pick_place"):
            path = mod.world_path(scene, str(tmp_path), (320, 240))
            assert Path(path).read_text() == world_sdf(SCENES[scene], camera_size=(320, 240))
        with pytest.raises(ValueError, match="pick_place"):
            mod.world_path("kitchen", str(tmp_path), (320, 240))
    finally:
        for mod_name in stubs:
            sys.modules.pop(mod_name, None)


# -- with `launch` installed (a ROS 2 install; not on PyPI) ----------------------------------------
def _launch(path: Path, args: dict[str, str], timeout: float = 120.0) -> subprocess.CompletedProcess:
    """Run a launch file with launch's LaunchService in a child process (as `ros2 launch` does)."""
    # (launch.actions: a bare `launch` may be the launch/ folder of a package on sys.path)
    pytest.importorskip("launch.actions", reason="launch is not installed (it comes with a ROS 2 install, not from PyPI)")
    pytest.importorskip("launch_ros.actions", reason="launch_ros is not installed (it comes with a ROS 2 install, not from PyPI)")
    code = (
        "import sys\n"
        "from launch import LaunchService\n"
        "from launch.actions import IncludeLaunchDescription\n"
        "from launch.launch_description_sources import PythonLaunchDescriptionSource\n"
        "ls = LaunchService()\n"
        f"ls.include_launch_description(IncludeLaunchDescription(PythonLaunchDescriptionSource({str(path)!r}), "
        f"launch_arguments={sorted(args.items())!r}))\n"
        "sys.exit(ls.run())\n"
    )
    from cog_collect.testing import node_env

    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, env=node_env())


@pytest.mark.parametrize("path, args, expected", [
    (COLLECT, {"episodes": "ten"}, "episodes:=ten: expected a whole number >= 1"),
    (COLLECT, {"episodes": "0"}, "episodes:=0: expected a whole number >= 1"),
    (COLLECT, {"backend": "bogus"}, "backend:=bogus: expected one of sim, interbotix, gazebo"),
    (RUN, {}, "model:='': required"),
    (RUN, {"model": "/nonexistent", "rate_hz": "fast"}, "rate_hz:=fast: expected a number > 0"),
], ids=["episodes-ten", "episodes-0", "backend", "no-model", "two-bad"])
def test_bad_launch_arguments_stop_the_launch_before_any_node_starts(path, args, expected):
    done = _launch(path, args)
    out = done.stdout + done.stderr
    assert done.returncode != 0, out
    assert expected in out and "nothing was started" in out, out
    assert "process started" not in out, out


def test_collect_launch_ends_every_node_when_the_collector_fails(tmp_path):
    """robot_model:=wx200 passes the launch checks (any model name may be a real arm) but the sim refuses it."""
    done = _launch(COLLECT, {"backend": "sim", "robot_model": "wx200", "bag_dir": str(tmp_path / "bag")})
    out = done.stdout + done.stderr
    assert "[collector_node] error: the sim models the wx250s only" in out, out
    assert "Traceback" not in out, out
    localizer = [line for line in out.splitlines() if "localizer_node" in line and "process" in line]
    assert any("process started" in line for line in localizer), out
    assert any("process has finished cleanly" in line for line in localizer), out  # reaped, exit 0


def test_run_launch_ends_when_the_policy_node_refuses_its_model(tmp_path):
    from cog_policy.testing import export_small_policy

    model = export_small_policy(tmp_path / "m64", image_size=64)
    done = _launch(RUN, {"model": str(model), "bag_dir": "none"})
    out = done.stdout + done.stderr
    assert "expects 64x64 images but the node feeds 48x48" in out and "Traceback" not in out, out
    assert "policy_node" in out and "process has died" in out, out  # and the launch ended (we got here)
