"""Gazebo worlds come from the same parts as the MuJoCo scenes."""

import xml.etree.ElementTree as ET

import mujoco
import numpy as np
import pytest

from cog_core.sim.layout import SCENES
from cog_core.sim.mjcf import scene_xml
from cog_core.sim.parts import scene_bodies
from cog_core.sim.sdf import world_sdf, write_world


@pytest.mark.parametrize("scene", list(SCENES))
def test_every_part_appears_in_the_world_with_the_mujoco_size_and_place(scene):
    layout = SCENES[scene]
    world = ET.fromstring(world_sdf(layout))
    model = mujoco.MjModel.from_xml_string(scene_xml(layout))
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    collisions = {c.get("name")[: -len("_collision")]: c for c in world.iter("collision")}
    bodies = scene_bodies(layout)
    assert sum(len(b.parts) for b in bodies) == len(collisions)
    for body in bodies:
        for part in body.parts:
            c = collisions[part.name]
            geom = model.geom(part.name)
            if part.shape == "box":
                size = np.array(c.find("geometry/box/size").text.split(), float) / 2
                np.testing.assert_allclose(size, geom.size, atol=1e-6)
            else:
                assert float(c.find("geometry/cylinder/radius").text) == pytest.approx(geom.size[0])
            # world position of the part: model pose (+ link pose) + part pose == MuJoCo's geom position
            expected = np.array(body.pos) + np.array(part.pos)
            np.testing.assert_allclose(data.geom_xpos[geom.id], expected, atol=1e-6)


def test_drawers_are_prismatic_joints_with_the_same_travel():
    layout = SCENES["drawer"]
    world = ET.fromstring(world_sdf(layout))
    joints = {j.get("name"): j for j in world.iter("joint") if j.get("type") == "prismatic"}
    assert set(joints) == {"bottom_drawer", "top_drawer"}
    assert float(joints["bottom_drawer"].find("axis/limit/upper").text) == pytest.approx(layout.cabinet.bottom_travel)
    assert float(joints["top_drawer"].find("axis/limit/upper").text) == pytest.approx(layout.cabinet.top_travel)


def test_camera_sensor_matches_the_layout_and_the_file_is_written_atomically(tmp_path):
    layout = SCENES["pick_place"]
    path = write_world(layout, tmp_path / "worlds" / "pick_place.world", camera_size=(640, 480))
    world = ET.parse(path).getroot()
    sensor = next(world.iter("sensor"))
    hfov = float(sensor.find("camera/horizontal_fov").text)
    vfov = 2 * np.arctan(np.tan(hfov / 2) * 480 / 640)
    assert np.degrees(vfov) == pytest.approx(layout.camera.fovy, abs=1e-3)
    assert not list((tmp_path / "worlds").glob("*.tmp"))
