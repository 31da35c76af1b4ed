"""Node tests run on real rclpy (the Jazzy wheels from PyPI) and skip where it is absent."""

import os
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2]
for pkg in ("cog_collect", "cog_policy"):
    if str(SRC / pkg) not in sys.path:
        sys.path.insert(0, str(SRC / pkg))
os.environ.setdefault("MUJOCO_GL", "egl")
