"""The launch files are valid Python, declare the documented arguments, and pass only parameters the nodes declare.

These checks read the launch files' syntax tree, so they run without `launch` installed; the
parameter cross-check builds the real nodes on rclpy (skips without it).
"""

from __future__ import annotations

import ast
import py_compile
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2]
COLLECT = SRC / "cog_bringup" / "launch" / "collect.launch.py"
RUN = SRC / "cog_policy" / "launch" / "run.launch.py"


def _args(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "ARGS" for t in node.targets):
            return {elt.elts[0].value for elt in node.value.elts}
    raise AssertionError(f"{path} has no ARGS list")


def _node_params(path: Path) -> dict[str, tuple[set[str], set[str]]]:
    """executable -> (parameter names passed, launch arguments they use)."""
    out: dict[str, tuple[set[str], set[str]]] = {}
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Node":
            kw = {k.arg: k.value for k in node.keywords}
            exe = kw["executable"].value
            names, used = set(), set()
            for item in getattr(kw.get("parameters"), "elts", []):
                if isinstance(item, ast.Dict):
                    names |= {k.value for k in item.keys}
                    for v in item.values:
                        for sub in ast.walk(v):
                            if isinstance(sub, ast.Call) and getattr(sub.func, "id", None) in ("v", "arg") and sub.args:
                                used.add(sub.args[0].value)
            out[exe] = (names, used)
    return out


@pytest.mark.parametrize("path", [COLLECT, RUN], ids=["collect", "run"])
def test_launch_files_compile(path, tmp_path):
    py_compile.compile(str(path), cfile=str(tmp_path / "x.pyc"), doraise=True)


def test_launch_arguments_cover_the_documented_ones():
    common = {"backend", "robot_model", "camera_source", "camera_width", "camera_height", "camera_rate_hz", "bag_dir", "rate_hz"}
    assert common | {"preset", "episodes", "params_file", "rviz"} <= _args(COLLECT)
    assert common | {"model", "image_timeout_s", "max_episode_steps", "autostart"} <= _args(RUN)
    for path in (COLLECT, RUN):
        declared = _args(path)
        for exe, (_, used) in _node_params(path).items():
            assert used <= declared, f"{path.name}: {exe} uses undeclared launch arguments {used - declared}"


def test_launch_parameters_are_declared_by_the_nodes(tmp_path):
    pytest.importorskip("rclpy", reason="rclpy is not installed (bash scripts/bootstrap.sh installs the Jazzy wheels)")
    import sys

    sys.path[:0] = [str(SRC / "cog_collect"), str(SRC / "cog_policy")]
    from rclpy.parameter import Parameter

    from cog_collect.camera_node import CameraNode
    from cog_collect.collector_node import CollectorNode
    from cog_collect.localizer_node import LocalizerNode
    from cog_collect.testing import ros_session
    from cog_policy.policy_node import PolicyNode
    from cog_policy.testing import export_small_policy

    import cv2
    import numpy as np

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
            for path in (COLLECT, RUN):
                for exe, (names, _) in _node_params(path).items():
                    if exe not in nodes:
                        continue  # rviz2
                    declared = set(nodes[exe]._parameters)
                    assert names <= declared, f"{path.name} passes {names - declared} that {exe} does not declare"
            import yaml

            by_name = {"camera": "camera_node", "localizer": "localizer_node", "collector": "collector_node", "policy": "policy_node"}
            for cfg in sorted((SRC / "cog_bringup" / "config").glob("*.yaml")):
                for node_name, body in yaml.safe_load(cfg.read_text()).items():
                    keys = set(body["ros__parameters"])
                    declared = set(nodes[by_name[node_name]]._parameters)
                    assert keys <= declared, f"{cfg.name}: {node_name} does not declare {keys - declared}"
        finally:
            for n in nodes.values():
                n.destroy_node()


SIM = SRC / "cog_bringup" / "launch" / "sim.launch.py"


def test_sim_launch_compiles_declares_its_arguments_and_generates_the_world(tmp_path):
    """sim.launch.py is valid Python, declares scene/robot_model/..., and its world comes from cog_core."""
    import importlib.util
    import sys
    import types

    py_compile.compile(str(SIM), cfile=str(tmp_path / "x.pyc"), doraise=True)
    assert {"scene", "robot_model", "world_dir", "camera_width", "camera_height", "use_rviz"} <= _args(SIM)
    src = SIM.read_text()
    assert "xsarm_gz_classic.launch.py" in src and "interbotix_xsarm_sim" in src and "OpaqueFunction" in src
    # world_path() without `launch`: stub the launch modules only to import the file's helper
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
