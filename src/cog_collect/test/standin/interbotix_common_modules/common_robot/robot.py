"""Stand-in of interbotix_common_modules.common_robot.robot: the global node and its spin thread."""

from __future__ import annotations

from threading import Thread

import rclpy
from rclpy.executors import MultiThreadedExecutor
from rclpy.node import Node

_node: Node | None = None
_thread: Thread | None = None
_up = False


def create_interbotix_global_node(node_name: str = "interbotix_robot_manipulation", namespace: str | None = None) -> Node:
    """Initialise ROS if nobody did yet (the real one does the same) and create the global node."""
    global _node
    if not rclpy.ok():
        rclpy.init()
    _node = rclpy.create_node(node_name, namespace=namespace)
    return _node


def get_interbotix_global_node() -> Node | None:
    """The global node, or None."""
    return _node


def interbotix_is_up() -> bool:
    """Whether robot_startup() has started the spin thread."""
    return _up


def robot_startup(node: Node | None = None) -> None:
    """Spin the global node in a daemon thread until ROS shuts down (as the real one does)."""
    global _thread, _up
    node = node or _node or create_interbotix_global_node()
    executor = MultiThreadedExecutor()
    _up = True

    def spin() -> None:
        while rclpy.ok():
            executor.add_node(node)
            executor.spin()

    _thread = Thread(target=spin, daemon=True)
    _thread.start()


def robot_shutdown(node: Node | None = None) -> None:
    """Destroy the node, shut ROS down and join the spin thread (never called by cog_collect)."""
    (node or _node).destroy_node()
    rclpy.shutdown()
    _thread.join()
