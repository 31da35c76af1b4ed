"""Monocular vision for the real robot: camera model, calibration, object localization.

- `camera`: intrinsics (ROS camera_info YAML), the camera's pose in the robot base frame,
  pixel <-> ray <-> table-plane geometry.
- `calibration`: checkerboard intrinsics, extrinsics from a board on the table or from
  arm positions seen in the image.
- `localize`: background-subtraction object localization returning ranked detections and the
  candidates withheld with their reasons (`background`: the change test; `silhouette`: the
  object model fitted to partly seen blobs; `objects`: the per-object height table).
- `quality`: the localization error a calibration allows.

No ROS imports: a ROS node wraps `Localizer` and feeds it frames.
"""

from cog_core.vision.camera import CalibrationFileError, CameraIntrinsics, CameraModel, CameraPose
from cog_core.vision.localize import Detection, LocalizeResult, Localizer, LocalizerConfig, Withheld
from cog_core.vision.silhouette import ObjectShape

__all__ = [
    "CalibrationFileError",
    "CameraIntrinsics",
    "CameraModel",
    "CameraPose",
    "Detection",
    "LocalizeResult",
    "Localizer",
    "LocalizerConfig",
    "ObjectShape",
    "Withheld",
]
