"""Synthetic MuJoCo scenes with exactly known cameras, for validating calibration and localization.

A small stand-alone MJCF (not the product simulator): a table plane at z = 0 in the robot
base frame, a few small coloured boxes and cylinders, an optional crude "arm" made of
capsules, lights that cast shadows, and a fixed camera looking down at the workspace.
`mujoco_camera_model` converts the MuJoCo camera (fovy, pose) into the OpenCV pinhole
`CameraModel` the localizer uses, so renders come with ground truth.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from cog_core.vision.camera import CameraIntrinsics, CameraModel, CameraPose

os.environ.setdefault("MUJOCO_GL", "egl")
import mujoco  # noqa: E402  (after MUJOCO_GL)

WIDTH, HEIGHT = 640, 480

# OpenCV optical frame (x right, y down, z forward) from MuJoCo camera frame (x right, y up, z back).
MJ_TO_CV = np.diag([1.0, -1.0, -1.0])


def look_at(eye: np.ndarray, target: np.ndarray, up: np.ndarray = np.array([0.0, 0.0, 1.0])) -> np.ndarray:
    """MuJoCo camera rotation (columns: x right, y up, z backwards) looking from eye at target."""
    fwd = np.asarray(target, float) - np.asarray(eye, float)
    fwd /= np.linalg.norm(fwd)
    right = np.cross(fwd, up)
    right /= np.linalg.norm(right)
    cam_up = np.cross(right, fwd)
    return np.column_stack([right, cam_up, -fwd])


def mujoco_camera_model(model: mujoco.MjModel, data: mujoco.MjData, camera: str | int, width: int, height: int) -> CameraModel:
    """The OpenCV pinhole model (intrinsics + pose in the world frame) of a MuJoCo camera.

    MuJoCo's vertical field of view `fovy` spans the image height edge to edge, square pixels,
    principal point at the image centre, which in OpenCV pixel coordinates (pixel centres on
    integers) is ((W-1)/2, (H-1)/2). The camera looks along its -z with y up; OpenCV looks
    along +z with y down, hence R_cv = R_mj @ diag(1, -1, -1).
    """
    cam_id = camera if isinstance(camera, int) else mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_CAMERA, camera)
    if cam_id < 0:
        raise ValueError(f"no camera {camera!r} in the model")
    if np.any(model.cam_sensorsize[cam_id] > 0):
        raise ValueError("cameras with an explicit sensor size are not handled; use fovy")
    intr = CameraIntrinsics.from_fovy(width, height, float(model.cam_fovy[cam_id]), name="mujoco")
    R_mj = data.cam_xmat[cam_id].reshape(3, 3)
    pose = CameraPose.from_rt(R_mj @ MJ_TO_CV, data.cam_xpos[cam_id].copy(), camera_frame="sim_optical", method="ground_truth")
    return CameraModel(intr, pose)


# --------------------------------------------------------------------------- table scene


@dataclass(frozen=True)
class ObjectSpec:
    """One object slot of the table scene: a box (half sizes) or cylinder (radius, half height)."""

    kind: str  # "box" | "cylinder"
    size: tuple[float, ...]
    rgba: tuple[float, float, float, float]

    @property
    def height(self) -> float:
        """Full height in metres."""
        return 2 * self.size[-1] if self.kind == "box" else 2 * self.size[1]


DEFAULT_OBJECTS: tuple[ObjectSpec, ...] = (
    ObjectSpec("box", (0.02, 0.02, 0.02), (0.85, 0.15, 0.12, 1)),
    ObjectSpec("cylinder", (0.02, 0.02), (0.15, 0.55, 0.2, 1)),
    ObjectSpec("box", (0.025, 0.015, 0.02), (0.15, 0.3, 0.8, 1)),
    ObjectSpec("cylinder", (0.016, 0.02), (0.9, 0.75, 0.1, 1)),
    ObjectSpec("box", (0.018, 0.018, 0.02), (0.55, 0.2, 0.6, 1)),
)

# The table texture's mean colour (flat rgb1 with 15 % random marks of markrgb, see `table_scene_xml`).
TABLE_RGBA = (0.61, 0.51, 0.39, 1.0)

# Objects a lab meets on its first day that differ from the table in brightness only, or not at all
# in colour: 4 cm cubes / cylinders (the default object size), for the localizer's tests and benchmark.
NEUTRAL_OBJECTS: dict[str, ObjectSpec] = {
    "black box": ObjectSpec("box", (0.02, 0.02, 0.02), (0.03, 0.03, 0.03, 1)),
    "dark grey box": ObjectSpec("box", (0.02, 0.02, 0.02), (0.2, 0.2, 0.2, 1)),
    "grey cylinder": ObjectSpec("cylinder", (0.02, 0.02), (0.45, 0.45, 0.45, 1)),
    "white cylinder": ObjectSpec("cylinder", (0.02, 0.02), (0.95, 0.95, 0.95, 1)),
    "table-coloured box": ObjectSpec("box", (0.02, 0.02, 0.02), TABLE_RGBA),
    "table-coloured cylinder": ObjectSpec("cylinder", (0.02, 0.02), TABLE_RGBA),
}

# Taller than the default 4 cm: full height 9 cm (a bottle) and 12 cm.
TALL_OBJECTS: dict[str, ObjectSpec] = {
    "bottle 9 cm": ObjectSpec("cylinder", (0.03, 0.045), (0.15, 0.45, 0.25, 1)),
    "box 12 cm": ObjectSpec("box", (0.025, 0.025, 0.06), (0.8, 0.45, 0.1, 1)),
}

CAMERA_EYE = np.array([0.78, -0.38, 0.60])
CAMERA_TARGET = np.array([0.33, 0.0, 0.0])
CAMERA_FOVY = 45.0
WORKSPACE = (0.18, 0.50, -0.22, 0.22)  # x_min, x_max, y_min, y_max on the table (base frame)
HIDDEN = np.array([5.0, 5.0, -2.0])


def _camera_xml(name: str, eye: np.ndarray, target: np.ndarray, fovy: float) -> str:
    R = look_at(eye, target)
    xy = " ".join(f"{v:.9f}" for v in np.concatenate([R[:, 0], R[:, 1]]))
    return f'<camera name="{name}" pos="{eye[0]:.6f} {eye[1]:.6f} {eye[2]:.6f}" xyaxes="{xy}" fovy="{fovy}"/>'


def table_scene_xml(objects: tuple[ObjectSpec, ...] = DEFAULT_OBJECTS, eye: np.ndarray = CAMERA_EYE,
                    target: np.ndarray = CAMERA_TARGET, fovy: float = CAMERA_FOVY, with_arm: bool = True) -> str:
    """MJCF text of the table scene: table at z=0, object slots as mocap bodies, camera 'cam'."""
    bodies = []
    for i, o in enumerate(objects):
        size = " ".join(f"{s:.4f}" for s in o.size)
        rgba = " ".join(f"{c:.3f}" for c in o.rgba)
        bodies.append(
            f'<body name="obj{i}" mocap="true" pos="{HIDDEN[0] + i} {HIDDEN[1]} {HIDDEN[2]}">'
            f'<geom type="{o.kind}" size="{size}" rgba="{rgba}" material="plastic"/></body>'
        )
    arm = ""
    if with_arm:
        # A crude stand-in for the arm: a post and two capsule links ending in a gripper box.
        arm = (
            '<body name="arm" mocap="true" pos="5 -5 -2">'
            '<geom type="capsule" fromto="0 0 0 0 0 0.25" size="0.035" rgba="0.12 0.12 0.12 1"/>'
            '<geom type="capsule" fromto="0 0 0.25 0.2 0 0.3" size="0.03" rgba="0.12 0.12 0.12 1"/>'
            '<geom type="capsule" fromto="0.2 0 0.3 0.3 0 0.12" size="0.025" rgba="0.15 0.15 0.15 1"/>'
            '<geom type="box" pos="0.3 0 0.09" size="0.03 0.04 0.03" rgba="0.2 0.2 0.2 1"/>'
            "</body>"
        )
    # A flat plate that can hang between the key light and the table, above the camera's view:
    # it casts a shadow without being seen (a person or a lamp arm outside the picture).
    shade = '<body name="shade" mocap="true" pos="5 5 -3"><geom type="box" size="1 1 0.003" rgba="0.3 0.3 0.3 1"/></body>'
    return f"""
<mujoco model="vision_table">
  <visual>
    <global offwidth="{WIDTH}" offheight="{HEIGHT}"/>
    <quality shadowsize="4096"/>
    <headlight ambient="0.25 0.25 0.25" diffuse="0.25 0.25 0.25" specular="0 0 0"/>
  </visual>
  <asset>
    <texture name="wood" type="2d" builtin="flat" rgb1="0.62 0.52 0.40" rgb2="0.50 0.40 0.30"
             mark="random" markrgb="0.55 0.45 0.34" random="0.15" width="512" height="512"/>
    <material name="table" texture="wood" texrepeat="4 4" specular="0.05" shininess="0.1"/>
    <material name="plastic" specular="0.2" shininess="0.3"/>
  </asset>
  <worldbody>
    <light name="key" pos="0.4 0.3 1.5" dir="-0.1 -0.2 -1" directional="false" castshadow="true"
           diffuse="0.6 0.6 0.6" specular="0.1 0.1 0.1" cutoff="70" exponent="1"/>
    <light name="fill" pos="-0.5 -0.8 1.2" dir="0.5 0.6 -1" castshadow="false" diffuse="0.25 0.25 0.25"
           specular="0 0 0"/>
    <geom name="table" type="plane" size="1.2 1.2 0.05" material="table"/>
    {_camera_xml("cam", eye, target, fovy)}
    {"".join(bodies)}
    {arm}
    {shade}
  </worldbody>
</mujoco>
"""


@dataclass
class Placement:
    """One object placed in a render: slot index, table position (x, y) and yaw."""

    slot: int
    x: float
    y: float
    yaw: float = 0.0


class TableScene:
    """Renders the table scene at 640x480 with ground truth for the placed objects."""

    def __init__(self, objects: tuple[ObjectSpec, ...] = DEFAULT_OBJECTS, eye: np.ndarray = CAMERA_EYE,
                 target: np.ndarray = CAMERA_TARGET, fovy: float = CAMERA_FOVY, with_arm: bool = True):
        self.objects = objects
        self.model = mujoco.MjModel.from_xml_string(table_scene_xml(objects, eye, target, fovy, with_arm))
        self.data = mujoco.MjData(self.model)
        mujoco.mj_forward(self.model, self.data)
        self.renderer = mujoco.Renderer(self.model, HEIGHT, WIDTH)
        self.camera = mujoco_camera_model(self.model, self.data, "cam", WIDTH, HEIGHT)
        self._light_diffuse = self.model.light_diffuse.copy()
        self._light_specular = self.model.light_specular.copy()
        self._head = (self.model.vis.headlight.ambient.copy(), self.model.vis.headlight.diffuse.copy())
        self._arm_mocap = None
        if with_arm:
            arm_body = mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_BODY, "arm")
            self._arm_mocap = int(self.model.body_mocapid[arm_body])
        shade_body = mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_BODY, "shade")
        self._shade_mocap = int(self.model.body_mocapid[shade_body])
        self._shade_geom = int(self.model.body_geomadr[shade_body])
        key = mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_LIGHT, "key")
        self.key_light = self.model.light_pos[key].copy()

    def close(self) -> None:
        """Free the renderer."""
        self.renderer.close()

    def ground_truth(self, placements: list[Placement]) -> np.ndarray:
        """Object centres (N, 3) in the base frame for the placements."""
        return np.array([[p.x, p.y, self.objects[p.slot].height / 2] for p in placements]).reshape(-1, 3)

    def set_light_scale(self, scale: float) -> None:
        """Scale every light's intensity (diffuse, specular, headlight) by `scale`."""
        self.model.light_diffuse[:] = self._light_diffuse * scale
        self.model.light_specular[:] = self._light_specular * scale
        self.model.vis.headlight.ambient[:] = self._head[0] * scale
        self.model.vis.headlight.diffuse[:] = self._head[1] * scale

    def render(self, placements: Sequence[Placement] = (), light_scale: float = 1.0, noise_sigma: float = 0.0,
               rng: np.random.Generator | None = None, arm_pose: tuple[float, ...] | None = None,
               exposure: float = 1.0, shade: tuple[float, float, float] | None = None) -> np.ndarray:
        """RGB uint8 (480, 640, 3) render with the placed objects; others hidden.

        arm_pose = (x, y, yaw) or (x, y, yaw, z) puts the crude arm's base there (z above the
        table, default 0); None hides it. exposure multiplies the image before it is clipped to
        0..255, like a camera's exposure time or gain (above ~1.4 the table's red channel clips).
        shade = (x, y, side) casts the square shadow, `side` metres wide, of a plate hanging out of
        view under the key light, centred at (x, y) on the table; None hides it.
        """
        d = self.data
        for i in range(len(self.objects)):
            d.mocap_pos[i] = HIDDEN + np.array([i, 0, 0])
            d.mocap_quat[i] = (1, 0, 0, 0)
        for p in placements:
            d.mocap_pos[p.slot] = (p.x, p.y, self.objects[p.slot].height / 2)
            d.mocap_quat[p.slot] = (math.cos(p.yaw / 2), 0, 0, math.sin(p.yaw / 2))
        if self._arm_mocap is not None:
            if arm_pose is None:
                d.mocap_pos[self._arm_mocap] = (5, -5, -2)
            else:
                x, y, yaw, z = _arm_xyz_yaw(arm_pose)
                d.mocap_pos[self._arm_mocap] = (x, y, z)
                d.mocap_quat[self._arm_mocap] = (math.cos(yaw / 2), 0, 0, math.sin(yaw / 2))
        self._place_shade(shade)
        self.set_light_scale(light_scale)
        mujoco.mj_forward(self.model, d)
        self.renderer.update_scene(d, camera="cam")
        img = self.renderer.render().copy()
        if noise_sigma > 0 or exposure != 1.0:
            rng = rng or np.random.default_rng()
            img = img.astype(np.float32) * np.float32(exposure)
            if noise_sigma > 0:
                img += rng.normal(0, noise_sigma, img.shape)
            img = np.clip(img, 0, 255).astype(np.uint8)
        return img

    def _place_shade(self, shade: tuple[float, float, float] | None, height: float = 0.9) -> None:
        """Hang the plate `height` m above the table on the line from the key light to (x, y)."""
        d = self.data
        if shade is None:
            d.mocap_pos[self._shade_mocap] = (5, 5, -3)
            return
        x, y, side = shade
        light = self.key_light
        frac = (light[2] - height) / light[2]  # the shadow is the plate scaled by 1 / frac
        d.mocap_pos[self._shade_mocap] = light + (np.array([x, y, 0.0]) - light) * frac
        self.model.geom_size[self._shade_geom, :2] = side * frac / 2
        self.model.geom_rbound[self._shade_geom] = side * frac

    @staticmethod
    def hover_arm_pose(x: float, y: float, object_height: float, hover: float) -> tuple[float, float, float, float]:
        """arm_pose that holds the crude arm's gripper `hover` m above the top of an object at (x, y),
        reaching out from the robot's base at the origin as a grasp would."""
        yaw = math.atan2(y, x)
        reach = 0.3  # gripper's distance from the crude arm's base
        lowest = 0.06  # gripper's bottom above the crude arm's base
        return (x - reach * math.cos(yaw), y - reach * math.sin(yaw), yaw, object_height + hover - lowest)

    def arm_segments(self, arm_pose: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray]:
        """Base-frame capsule segments (N, 2, 3) and radii (N,) covering the crude arm at arm_pose."""
        x, y, yaw, z = _arm_xyz_yaw(arm_pose)
        c, s = math.cos(yaw), math.sin(yaw)
        R = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
        local = np.array(
            [
                [[0, 0, 0], [0, 0, 0.25]],
                [[0, 0, 0.25], [0.2, 0, 0.3]],
                [[0.2, 0, 0.3], [0.3, 0, 0.12]],
                [[0.3, 0, 0.12], [0.3, 0, 0.06]],
            ]
        )
        seg = local @ R.T + np.array([x, y, z])
        return seg, np.array([0.035, 0.03, 0.025, 0.05])

    def random_placements(self, rng: np.random.Generator, count: int, min_gap: float = 0.08,
                          workspace: tuple[float, float, float, float] = WORKSPACE,
                          min_pixel_gap: float = 70.0) -> list[Placement]:
        """`count` distinct objects at random positions in the workspace that do not touch on the
        table (centres `min_gap` m apart) nor overlap in the image (centres `min_pixel_gap` px apart)."""
        slots = rng.choice(len(self.objects), size=count, replace=False)
        out: list[Placement] = []
        uvs: list[np.ndarray] = []
        while len(out) < count:
            x = rng.uniform(workspace[0] + 0.03, workspace[1] - 0.03)
            y = rng.uniform(workspace[2] + 0.03, workspace[3] - 0.03)
            uv = self.camera.project(np.array([[x, y, 0.02]]))[0][0]
            if all(math.hypot(x - p.x, y - p.y) > min_gap for p in out) and all(
                np.linalg.norm(uv - o) > min_pixel_gap for o in uvs
            ):
                out.append(Placement(int(slots[len(out)]), x, y, float(rng.uniform(-math.pi, math.pi))))
                uvs.append(uv)
        return out


def _arm_xyz_yaw(arm_pose: tuple[float, ...]) -> tuple[float, float, float, float]:
    """(x, y, yaw, z) of an arm_pose given as (x, y, yaw) or (x, y, yaw, z)."""
    if len(arm_pose) not in (3, 4):
        raise ValueError(f"arm_pose must be (x, y, yaw) or (x, y, yaw, z), got {arm_pose!r}")
    x, y, yaw, *rest = (float(v) for v in arm_pose)
    return x, y, yaw, (rest[0] if rest else 0.0)


# --------------------------------------------------------------------------- checkerboard scene


def checkerboard_image(cols: int, rows: int, px_per_square: int = 48, margin_squares: float = 1.0) -> np.ndarray:
    """Grey image of a board with cols x rows INNER corners (cols+1 x rows+1 squares) and a white margin.

    The outer square at the top-left of the image (row 0, col 0) is black.
    """
    sq_c, sq_r = cols + 1, rows + 1
    m = int(round(margin_squares * px_per_square))
    img = np.full((sq_r * px_per_square + 2 * m, sq_c * px_per_square + 2 * m), 255, np.uint8)
    for r in range(sq_r):
        for c in range(sq_c):
            if (r + c) % 2 == 0:
                img[m + r * px_per_square : m + (r + 1) * px_per_square, m + c * px_per_square : m + (c + 1) * px_per_square] = 0
    return img


class PlaneTargetScene:
    """A printed target (a textured plane, e.g. a checkerboard or ArUco marker) posed in front of the camera.

    The texture's image rows run along -y of the plane frame and its columns along +x; z is out of
    the printed side (verified by the checkerboard extrinsics test).
    """

    def __init__(self, texture: np.ndarray, half_w: float, half_h: float, eye: np.ndarray = CAMERA_EYE,
                 target: np.ndarray = CAMERA_TARGET, fovy: float = CAMERA_FOVY, with_table: bool = True):
        self.half_w, self.half_h = half_w, half_h
        tex = texture if texture.ndim == 3 else cv2.cvtColor(texture, cv2.COLOR_GRAY2BGR)
        ok, png = cv2.imencode(".png", tex)
        assert ok
        table = '<geom name="table" type="plane" size="1.2 1.2 0.05" rgba="0.45 0.45 0.45 1"/>' if with_table else ""
        xml = f"""
<mujoco model="target">
  <visual>
    <global offwidth="{WIDTH}" offheight="{HEIGHT}"/>
    <headlight ambient="0.5 0.5 0.5" diffuse="0.4 0.4 0.4" specular="0 0 0"/>
  </visual>
  <asset>
    <texture name="target" type="2d" file="target.png"/>
    <material name="target" texture="target" texrepeat="1 1" texuniform="false" specular="0" shininess="0"/>
  </asset>
  <worldbody>
    <light pos="0.3 -0.2 2" dir="0 0 -1" diffuse="0.3 0.3 0.3" castshadow="false"/>
    {table}
    {_camera_xml("cam", eye, target, fovy)}
    <body name="target" mocap="true" pos="0.3 0 0.001">
      <geom type="plane" size="{half_w:.6f} {half_h:.6f} 0.01" material="target"/>
    </body>
  </worldbody>
</mujoco>
"""
        self.model = mujoco.MjModel.from_xml_string(xml, assets={"target.png": png.tobytes()})
        self.data = mujoco.MjData(self.model)
        mujoco.mj_forward(self.model, self.data)
        self.renderer = mujoco.Renderer(self.model, HEIGHT, WIDTH)
        self.camera = mujoco_camera_model(self.model, self.data, "cam", WIDTH, HEIGHT)

    def close(self) -> None:
        """Free the renderer."""
        self.renderer.close()

    def outline(self, T_world_target: np.ndarray) -> np.ndarray:
        """The plane's 4 corners (4, 3) in the world at pose T_world_target."""
        c = np.array([[-1, -1, 0], [1, -1, 0], [1, 1, 0], [-1, 1, 0]]) * [self.half_w, self.half_h, 0]
        return c @ T_world_target[:3, :3].T + T_world_target[:3, 3]

    def fully_visible(self, T_world_target: np.ndarray, border_px: float = 5.0, min_facing: float = 0.3) -> bool:
        """Whether the whole target is in the image, above the table and facing the camera."""
        pts = self.outline(T_world_target)
        uv, depth = self.camera.project(pts)
        if np.any(depth <= 0) or pts[:, 2].min() < 0.005:
            return False
        if uv[:, 0].min() < border_px or uv[:, 1].min() < border_px:
            return False
        if uv[:, 0].max() > WIDTH - 1 - border_px or uv[:, 1].max() > HEIGHT - 1 - border_px:
            return False
        to_cam = self.camera.pose.t - T_world_target[:3, 3]
        return float(T_world_target[:3, 2] @ to_cam) > min_facing * float(np.linalg.norm(to_cam))

    def render(self, T_world_target: np.ndarray) -> np.ndarray:
        """RGB render with the target at pose T_world_target (4x4)."""
        q = np.zeros(4)
        mujoco.mju_mat2Quat(q, np.ascontiguousarray(T_world_target[:3, :3]).ravel())
        self.data.mocap_pos[0] = T_world_target[:3, 3]
        self.data.mocap_quat[0] = q
        mujoco.mj_forward(self.model, self.data)
        self.renderer.update_scene(self.data, camera="cam")
        return self.renderer.render().copy()


class BoardScene(PlaneTargetScene):
    """A printed cols x rows (inner corners) checkerboard with a one-square white margin.

    Its plane frame is the board frame of `cog_core.vision.calibration` (origin at the grid
    centre, black outer corner square at (-x, +y)).
    """

    def __init__(self, cols: int = 9, rows: int = 6, square: float = 0.03, **kw):
        self.cols, self.rows, self.square = cols, rows, square
        super().__init__(checkerboard_image(cols, rows, 48, 1.0), (cols + 3) * square / 2, (rows + 3) * square / 2, **kw)


class MarkerScene(PlaneTargetScene):
    """An ArUco marker of side `side` metres with a white quiet zone, as taped on the gripper."""

    def __init__(self, dictionary: str = "DICT_4X4_50", marker_id: int = 0, side: float = 0.04, **kw):
        from cog_core.vision.calibration import marker_image

        px = 240
        quiet = px // 4
        img = np.full((px + 2 * quiet, px + 2 * quiet), 255, np.uint8)
        img[quiet : quiet + px, quiet : quiet + px] = marker_image(dictionary, marker_id, px)
        half = side / 2 * (px + 2 * quiet) / px
        super().__init__(img, half, half, **kw)


def random_rotation_facing(rng: np.random.Generator, towards: np.ndarray, max_tilt: float) -> np.ndarray:
    """Rotation whose z-axis points along `towards` tilted by up to max_tilt rad, random in-plane spin."""
    n = np.asarray(towards, float) / np.linalg.norm(towards)
    x = np.cross([0.0, 0.0, 1.0], n)
    if np.linalg.norm(x) < 1e-6:
        x = np.array([1.0, 0.0, 0.0])
    x /= np.linalg.norm(x)
    R = np.column_stack([x, np.cross(n, x), n]) @ _axis_angle([0, 0, 1], rng.uniform(-np.pi, np.pi))
    axis = rng.normal(size=3)
    axis -= axis @ n * n
    return _axis_angle(axis, rng.uniform(0, max_tilt)) @ R


def _axis_angle(axis: Any, angle: float) -> np.ndarray:
    a = np.asarray(axis, float)
    a = a / np.linalg.norm(a)
    K = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    return np.eye(3) + math.sin(angle) * K + (1 - math.cos(angle)) * K @ K


def random_board_poses(scene: PlaneTargetScene, rng: np.random.Generator, count: int,
                       depth: tuple[float, float] = (0.45, 0.85), max_tilt: float = 0.7) -> list[np.ndarray]:
    """`count` poses that put the whole target in view at varied places, depths and tilts (for intrinsics)."""
    cam = scene.camera
    out: list[np.ndarray] = []
    for _ in range(5000):
        if len(out) == count:
            break
        uv = rng.uniform([0.2 * WIDTH, 0.2 * HEIGHT], [0.8 * WIDTH, 0.8 * HEIGHT])
        origin, d = cam.rays(uv[None])
        T = np.eye(4)
        T[:3, 3] = origin + rng.uniform(*depth) * d[0]
        T[:3, :3] = random_rotation_facing(rng, -d[0], max_tilt)
        if scene.fully_visible(T):
            out.append(T)
    if len(out) < count:
        raise RuntimeError(f"found only {len(out)} visible target poses")
    return out
