"""Helpers for node tests on real rclpy: a private context per test and spin-until loops."""

from __future__ import annotations

import os
import random
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

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


def same_cdr(received: bytes, written: bytes) -> bool:
    """Whether a serialized message as a subscriber receives it (`raw=True`) is the CDR message `written`
    (e.g. a bag's record): the DDS transport may round it up to a 4-byte multiple with zeros."""
    received, written = bytes(received), bytes(written)
    return received == written or received == written + b"\0" * (-len(written) % 4)


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


# -- node processes ----------------------------------------------------------------------------------
def installed_prefix(package: str) -> Path | None:
    """The prefix (sourced workspace or ROS install) holding `package`, or None (a source checkout)."""
    for prefix in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep):
        if prefix and (Path(prefix) / "share" / package / "package.xml").is_file():
            return Path(prefix)
    return None


def node_command(package: str, executable: str) -> list[str]:
    """How `ros2 run package executable` starts it: the installed entry point (install/lib/<package>/)
    of a built workspace, else the module of the same name in the source tree."""
    prefix = installed_prefix(package)
    if prefix is not None:
        exe = prefix / "lib" / package / executable
        if not exe.is_file():
            raise FileNotFoundError(f"{package} is installed in {prefix} but has no entry point {exe}")
        return [str(exe)]
    return [sys.executable, "-m", f"{package}.{executable}"]


def node_env(extra_pythonpath: list[str] | None = None, **env: str) -> dict[str, str]:
    """Environment for a node process: this one's, the test's DDS isolation, the source folders on
    PYTHONPATH when nothing is installed, and `extra_pythonpath` first."""
    isolate_dds()
    out = dict(os.environ)
    paths = list(extra_pythonpath or [])
    if installed_prefix("cog_collect") is None:  # a source checkout: what the tests' conftest put on sys.path
        src = Path(__file__).resolve().parents[2]
        paths += [str(src / "cog_collect"), str(src / "cog_policy")]
    if out.get("PYTHONPATH"):
        paths.append(out["PYTHONPATH"])
    out["PYTHONPATH"] = os.pathsep.join(paths)
    out.setdefault("MUJOCO_GL", "egl")
    out["PYTHONUNBUFFERED"] = "1"
    out.update(env)
    return out


class NodeProcess:
    """A node in its own process (own session: signals sent to it reach it alone); output kept in a file."""

    def __init__(self, command: list[str], log_path, env: dict[str, str] | None = None, cwd=None) -> None:
        import subprocess

        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT, env=env or node_env(),
                                     cwd=cwd, start_new_session=True)

    def output(self) -> str:
        """Everything the process printed so far."""
        self._log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def send(self, sig: int) -> None:
        """Send a signal to the process."""
        self.proc.send_signal(sig)

    def wait(self, timeout: float) -> int:
        """Wait for the exit status (raises subprocess.TimeoutExpired)."""
        return self.proc.wait(timeout=timeout)

    def close(self) -> None:
        """Kill the process if it still runs; close the log."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self._log.close()

    def __enter__(self) -> NodeProcess:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def ros_args(**params) -> list[str]:
    """``--ros-args -p name:=value ...`` for a node's command line."""
    out = ["--ros-args"]
    for name, value in params.items():
        out += ["-p", f"{name}:={value}"]
    return out


def spin_while_running(ex: SingleThreadedExecutor, node: NodeProcess, timeout: float) -> int:
    """Spin `ex` (taking what the node publishes while it shuts down: DDS may drop what a reader has
    not taken once the writer's participant is gone) until the node exits; returns its exit status."""
    end = time.monotonic() + timeout
    while node.proc.poll() is None and time.monotonic() < end:
        ex.spin_once(timeout_sec=0.02)
    return node.wait(timeout=5)


def complete_bag_messages(bag) -> int:
    """Assert that every segment's MCAP of a bag directory has its footer and summary (the `mcap`
    reader's summary, with the counts of metadata.yaml); returns the number of messages."""
    import yaml
    from mcap.reader import make_reader

    total = 0
    for seg in sorted(p for p in Path(bag).iterdir() if p.is_dir()):
        meta = yaml.safe_load((seg / "metadata.yaml").read_text())["rosbag2_bagfile_information"]
        with open(seg / meta["relative_file_paths"][0], "rb") as f:
            summary = make_reader(f).get_summary()
        assert summary is not None and summary.statistics is not None, f"{seg}: MCAP without summary"
        assert summary.statistics.message_count == meta["message_count"], seg
        total += summary.statistics.message_count
    return total


def single_error_line(output: str, program: str) -> str:
    """Assert that a node's output ends with its one error line (``[program] error: ...``) and holds
    no traceback; returns that line."""
    lines = [line for line in output.splitlines() if line.strip()]
    assert "Traceback" not in output, output
    errors = [line for line in lines if line.startswith(f"[{program}] error:")]
    assert len(errors) == 1 and lines[-1] == errors[0], output
    return errors[0]


def launch_file(package: str, name: str) -> Path:
    """A package's launch file: from share/<package>/launch of a built workspace, else the source tree."""
    prefix = installed_prefix(package)
    if prefix is not None:
        return prefix / "share" / package / "launch" / name
    return Path(__file__).resolve().parents[2] / package / "launch" / name


def launch_defaults(path) -> dict[str, str]:
    """The default value of each launch argument in a launch file's ``ARGS`` list (read, not run:
    `launch` is not needed); a default that is not a plain string maps to ''."""
    import ast
    for node in ast.walk(ast.parse(Path(path).read_text())):
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "ARGS" for t in node.targets):
            return {elt.elts[0].value: (elt.elts[1].value if isinstance(elt.elts[1], ast.Constant) else "")
                    for elt in node.value.elts}
    raise ValueError(f"{path} has no ARGS list")


def spec_command(spec) -> list[str]:
    """The command line `ros2 launch` runs for a `cog_collect.launch_support.NodeSpec` (parameter
    files, parameters, remappings), so a test can start one node of a launch graph without `launch`."""
    cmd = node_command(spec.package, spec.executable) + list(spec.arguments) + ["--ros-args", "-r", f"__node:={spec.name}"]
    for path in spec.parameter_files:
        cmd += ["--params-file", str(path)]
    for name, value in spec.parameters.items():
        text = str(value).lower() if isinstance(value, bool) else str(value)
        cmd += ["-p", f"{name}:={text}" if text != "" else f"{name}:=''"]
    for src, dst in spec.remappings:
        cmd += ["-r", f"{src}:={dst}"]
    return cmd
