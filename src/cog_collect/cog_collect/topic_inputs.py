"""What hardware stations read from the graph: the newest camera frame and the localizer's object estimate."""

from __future__ import annotations

import numpy as np
from geometry_msgs.msg import PointStamped
from rclpy.node import Node

from cog_collect import ros_io


class TopicInputs:
    """Subscribes `node` to ``camera/image_raw`` and ``/cog/object``; keeps the newest of each."""

    def __init__(self, node: Node, image_topic: str = "camera/image_raw", object_topic: str = "/cog/object") -> None:
        self._image: np.ndarray | None = None
        self._object: np.ndarray | None = None
        self.images = 0
        self.sub_image = node.create_subscription(ros_io.Image, image_topic, self._on_image, ros_io.SENSOR)
        self.sub_object = node.create_subscription(PointStamped, object_topic, self._on_object, 10)

    def _on_image(self, msg) -> None:
        self._image = ros_io.rgb_of(msg)
        self.images += 1

    def _on_object(self, msg: PointStamped) -> None:
        self._object = np.array([msg.point.x, msg.point.y, msg.point.z], dtype=float)

    def image(self) -> np.ndarray | None:
        """Newest RGB frame, or None before the first one."""
        return self._image

    def object_position(self) -> np.ndarray | None:
        """Newest object estimate (base frame, m), or None."""
        return self._object
