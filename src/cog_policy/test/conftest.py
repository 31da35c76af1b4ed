"""Test setup shared by the ROS packages' tests (the same file in cog_collect, cog_policy, cog_bringup).

Against a built workspace (`colcon test`, or any shell that sourced install/setup.bash) the
tests import the *installed* packages: colcon runs pytest in the package's source folder, which
puts that folder first on sys.path, so it is taken off again. Without an install (a checkout's
venv) the source folders are put on sys.path instead. Node tests need rclpy and skip without it.
"""

import os
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2]
ROS_PACKAGES = ("cog_collect", "cog_policy")


def installed_prefix(package: str) -> Path | None:
    """The prefix of a sourced workspace (or ROS install) where `package` is installed, or None."""
    for prefix in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep):
        if prefix and (Path(prefix) / "share" / package / "package.xml").is_file():
            return Path(prefix)
    return None


if installed_prefix("cog_collect") is not None:
    source_dirs = {SRC / pkg for pkg in ROS_PACKAGES} | {SRC / "cog_core"}
    sys.path[:] = [p for p in sys.path if Path(p or os.getcwd()).resolve() not in source_dirs]
else:
    for pkg in ROS_PACKAGES:
        if str(SRC / pkg) not in sys.path:
            sys.path.insert(0, str(SRC / pkg))
os.environ.setdefault("MUJOCO_GL", "egl")
