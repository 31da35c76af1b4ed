"""Helpers for node tests on real rclpy: a private context per test and spin-until loops."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import rclpy
from rclpy.executors import SingleThreadedExecutor


def isolate_dds() -> None:
    """Keep test traffic on this host and off other runs' topics (call before rclpy.init)."""
    os.environ.setdefault("ROS_DOMAIN_ID", str(random.Random(os.getpid()).randint(1, 100)))
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")  # Jazzy; Humble uses the domain id alone


@contextmanager
def ros_session() -> Iterator[tuple[rclpy.Context, SingleThreadedExecutor]]:
    """An initialised private rclpy context and an executor on it; both shut down afterwards."""
    isolate_dds()
    ctx = rclpy.Context()
    rclpy.init(context=ctx)
    ex = SingleThreadedExecutor(context=ctx)
    try:
        yield ctx, ex
    finally:
        for node in list(ex.get_nodes()):
            ex.remove_node(node)
            node.destroy_node()
        ex.shutdown()
        rclpy.shutdown(context=ctx)


def spin_until(ex: SingleThreadedExecutor, cond: Callable[[], bool], timeout: float, step: float = 0.005) -> bool:
    """Spin `ex` until `cond()` holds or `timeout` seconds pass; returns cond()."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        ex.spin_once(timeout_sec=step)
    return bool(cond())


def call(ex: SingleThreadedExecutor, client, request, timeout: float = 5.0):
    """Call a service from a client node on `ex` and return the response (or raise TimeoutError)."""
    if not client.wait_for_service(timeout_sec=timeout):
        raise TimeoutError(f"service {client.srv_name} not available")
    fut = client.call_async(request)
    ex.spin_until_future_complete(fut, timeout_sec=timeout)
    if not fut.done():
        raise TimeoutError(f"service {client.srv_name} did not answer in {timeout} s")
    return fut.result()
