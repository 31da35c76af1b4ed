"""Where the experiments' work units run: local processes (the default) or a Ray cluster.

`cogrl collect`, `cogrl eval` and `cogrl table` split their work into the same units whichever
executor runs them: a collection worker (its episode range -> its own bag directory), an
evaluation chunk (episode seeds of the conditions), a table run (train + evaluate one method,
scene and seed). `run_tasks` runs a list of `Task`s with one progress bar on the driver, fed by
the tasks themselves (each calls `report(units done)`), and returns their results in order:

- ``local``: a pool of spawned processes on this machine (a single task runs in this process).
  Collection and the table keep their own local machinery (signal handling, subprocess slots);
  evaluation uses this pool.
- ``ray``: one Ray task per unit (`ray` is imported only then). Without an address a local Ray
  instance is started for the command and shut down after it; ``auto`` or ``HOST:PORT`` joins a
  running cluster (`ray start --head`). A task whose worker process dies (killed, out of memory,
  a lost node) is retried by Ray up to `ExecutorSpec.max_retries` times; one that still fails,
  or raises, is reported by `TaskFailed` once every other task has finished, never dropped. Outputs
  are written by the tasks where they run, so every node must see the same paths (a shared
  filesystem): a finished task whose output is missing on the driver is a failure that says so.

Results do not depend on the executor: the units and their seeds are the same.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EXECUTORS = ("local", "ray")
# A local Ray instance's shared-memory object store: the tasks pass small results (episode
# records, a policy's weights), so a small store keeps /dev/shm free for the simulator.
LOCAL_OBJECT_STORE_BYTES = 200 * 2**20
DEFAULT_MAX_RETRIES = 3
CONNECT_TIMEOUT_S = 5.0  # how long joining a cluster waits for its address to answer
PROGRESS_INTERVAL_S = 0.5  # how often tasks' progress reaches the driver, at most
_ADDRESS = re.compile(r"^(ray://)?(\[[0-9a-fA-F:]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$")
SHARED_PATH_HINT = ("every node of a Ray cluster must see the same paths: put --out on a filesystem that all of "
                    "them mount at the same place (e.g. NFS; docs/scaling.md)")

# What a task runs: fn(payload, report) -> result, where report(n) says that n units (episodes,
# updates) of this task are done; a retried task reports from 0 again.
Report = Callable[[int], None]
TaskFn = Callable[[Any, Report], Any]


class ExecutorError(RuntimeError):
    """The executor cannot run here (no Ray, a cluster that does not answer); the message says why and what to do."""


class TaskFailed(RuntimeError):
    """Tasks failed (after Ray's retries); `failures` maps their labels to why, `results` holds every
    task's result in order (None for the failed ones)."""

    def __init__(self, failures: dict[str, str], results: list[Any]) -> None:
        self.failures = failures
        self.results = results
        lines = "; ".join(f"{label}: {why}" for label, why in failures.items())
        super().__init__(f"{len(failures)} of {len(results)} task(s) failed: {lines}")


@dataclass(frozen=True)
class ExecutorSpec:
    """Which executor runs the work units, and where."""

    name: str = "local"  # local | ray
    address: str | None = None  # ray: None starts a local instance; "auto" or HOST:PORT / ray://HOST:PORT joins a cluster
    max_retries: int = DEFAULT_MAX_RETRIES  # ray: retries of a task whose worker process died

    def validate(self) -> None:
        """Raise ValueError naming the first setting that cannot work (and the fix)."""
        if self.name not in EXECUTORS:
            raise ValueError(f"--executor must be one of {', '.join(EXECUTORS)}, got {self.name!r}")
        if self.address is not None:
            if self.name != "ray":
                raise ValueError("--ray-address only applies with --executor ray")
            if self.address != "auto" and not _ADDRESS.match(self.address):
                raise ValueError(f"--ray-address takes auto, HOST:PORT or ray://HOST:PORT (e.g. 10.0.0.1:6379), "
                                 f"got {self.address!r}")
        if self.max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {self.max_retries}")

    @property
    def is_ray(self) -> bool:
        """Whether the units run as Ray tasks."""
        return self.name == "ray"


LOCAL = ExecutorSpec()


@dataclass
class Task:
    """One work unit: `fn(payload, report)` (a module-level function, so that Ray and spawned
    processes can import it) and a label for messages."""

    label: str
    fn: TaskFn
    payload: Any
    cpus: float = 1.0  # ray: CPUs the task holds
    gpus: float = 0.0  # ray: GPUs the task holds (Ray sets CUDA_VISIBLE_DEVICES to them)
    units: int = 0  # units of progress the task reports when it is done (for the bar's total)
    units_done: int = 0  # units already done when it starts (a resumed run): the bar starts from them
    outputs: Callable[[Any], Sequence[Path]] | None = field(default=None, repr=False)
    """Paths the task's result says it wrote, checked on the driver once it finished."""


# -- Ray sessions ---------------------------------------------------------------------------------


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ExecutorError("--executor ray needs the ray package (a dependency of cog_core: reinstall it with "
                            "`pip install -e src/cog_core`, or `pip install 'ray>=2.60,<3'`)") from None
    return ray


def _check_reachable(address: str) -> None:
    """ExecutorError unless HOST:PORT answers a TCP connection within CONNECT_TIMEOUT_S (Ray itself
    waits minutes on an address where nothing listens)."""
    match = _ADDRESS.match(address)
    assert match is not None
    host, port = match.group(2).strip("[]"), int(match.group(3))
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S):
            pass
    except OSError as err:
        raise ExecutorError(f"--ray-address {address}: nothing answers there ({err.strerror or err}); start the cluster's "
                            "head with `ray start --head` on that machine and give the address it prints, or leave "
                            "--ray-address out to start a local Ray instance") from None


def _local_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@contextmanager
def ray_session(spec: ExecutorSpec) -> Iterator[None]:
    """Ray connected for the duration (nothing for the local executor): a local instance started
    (this machine's CPUs, no dashboard, a small object store) or the cluster at `spec.address`
    joined, and shut down on exit. Inside a session already open (a command's, a test's), it reuses
    that one and leaves it open."""
    if not spec.is_ray:
        yield
        return
    spec.validate()
    ray = _import_ray()
    if ray.is_initialized():
        yield
        return
    quiet = dict(logging_level=logging.ERROR, log_to_driver=False)
    try:
        if spec.address is None:
            ray.init(num_cpus=_local_cpus(), include_dashboard=False, object_store_memory=LOCAL_OBJECT_STORE_BYTES, **quiet)
        else:
            if spec.address != "auto":
                _check_reachable(spec.address)
            ray.init(address=spec.address, **quiet)
    except ConnectionError as err:  # "auto" without a running cluster, or a refused handshake
        raise ExecutorError(f"--ray-address {spec.address}: {err}; start one with `ray start --head`, or leave "
                            "--ray-address out to start a local Ray instance") from None
    try:
        yield
    finally:
        ray.shutdown()


def cluster_gpus() -> float:
    """GPUs in the connected Ray cluster (0 without a session)."""
    ray = _import_ray()
    return float(ray.cluster_resources().get("GPU", 0)) if ray.is_initialized() else 0.0


def check_ray_device(device: str) -> None:
    """ExecutorError for a device that Ray cannot give every run: a numbered CUDA device (Ray hands
    each task its own GPU, which the task sees as cuda:0)."""
    if device.startswith("cuda:"):
        raise ExecutorError(f"--device {device}: under --executor ray each run gets a GPU of its own from Ray; "
                            "use --device cuda")


def gpus_per_run(device: str) -> float:
    """GPUs a training task asks Ray for under `--device`: 1 for cuda, 1 for auto when the cluster
    has GPUs, else 0. ExecutorError for cuda on a cluster without GPUs (its tasks would wait forever)."""
    check_ray_device(device)
    if device == "cpu":
        return 0.0
    gpus = cluster_gpus()
    if device == "cuda":
        if gpus == 0:
            raise ExecutorError("--device cuda: the Ray cluster has no GPUs (`ray status` lists its resources); "
                                "add GPU nodes, or use --device cpu")
        return 1.0
    return 1.0 if gpus > 0 else 0.0


# -- running tasks --------------------------------------------------------------------------------


class _Bar:
    """One tqdm bar over every task's latest progress (or nothing when progress is off)."""

    def __init__(self, enabled: bool, total: int, desc: str, unit: str, done: dict[int, int] | None = None) -> None:
        self.done: dict[int, int] = dict(done or {})
        self.bar = None
        if enabled:
            from tqdm import tqdm

            # Work done before this call starts the bar, so that its rate and ETA count new work only.
            self.bar = tqdm(total=total, initial=sum(self.done.values()), unit=unit, desc=desc, dynamic_ncols=True,
                            mininterval=0.5)

    def set(self, index: int, n: int) -> None:
        self.done[index] = n
        if self.bar is not None:
            total = sum(self.done.values())
            self.bar.update(total - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def run_tasks(spec: ExecutorSpec, tasks: Sequence[Task], desc: str = "tasks", unit: str = "it", progress: bool = True,
              parallel: int | None = None) -> list[Any]:
    """Run `tasks` on `spec`'s executor (at most `parallel` at once locally; Ray schedules by the
    tasks' resources) and return their results in order. TaskFailed, after every task has ended,
    when any failed (raised, its worker died past the retries, or its output is not on this machine)."""
    spec.validate()
    if not tasks:
        return []
    bar = _Bar(progress, sum(t.units for t in tasks), desc, unit, {i: t.units_done for i, t in enumerate(tasks) if t.units_done})
    try:
        if spec.is_ray:
            with ray_session(spec):
                results, failures = _run_ray(spec, tasks, bar)
        else:
            results, failures = _run_local(tasks, bar, parallel or len(tasks))
    finally:
        bar.close()
    for i, task in enumerate(tasks):
        if i in failures or task.outputs is None:
            continue
        missing = [p for p in task.outputs(results[i]) if not Path(p).exists()]
        if missing:
            failures[i] = f"finished, but its output {missing[0]} is not on this machine; {SHARED_PATH_HINT}"
    if failures:
        raise TaskFailed({tasks[i].label: why for i, why in sorted(failures.items())},
                         [None if i in failures else r for i, r in enumerate(results)])
    return results


# Local: spawned processes report progress through a queue handed to each at start.
_local_queue: Any = None


def _local_init(queue: Any) -> None:
    global _local_queue
    _local_queue = queue


def _local_call(job: tuple[int, TaskFn, Any]) -> tuple[int, Any]:
    index, fn, payload = job
    return index, fn(payload, _throttled(lambda n: _local_queue.put((index, n))))


def _throttled(send: Callable[[int], None]) -> Report:
    """A report that passes on at most one value per PROGRESS_INTERVAL_S (and every final count is
    sent by the driver's own bookkeeping when the task ends)."""
    last = [0.0]

    def report(n: int) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_INTERVAL_S:
            last[0] = now
            send(n)

    return report


def _run_local(tasks: Sequence[Task], bar: _Bar, parallel: int) -> tuple[list[Any], dict[int, str]]:
    results: list[Any] = [None] * len(tasks)
    if len(tasks) == 1:  # no pool for a single unit
        results[0] = tasks[0].fn(tasks[0].payload, lambda n: bar.set(0, n))
        bar.set(0, tasks[0].units)
        return results, {}
    import multiprocessing as mp
    import queue as queue_module

    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    with ctx.Pool(min(parallel, len(tasks)), initializer=_local_init, initargs=(q,)) as pool:
        it = pool.imap_unordered(_local_call, [(i, t.fn, t.payload) for i, t in enumerate(tasks)])
        left = len(tasks)
        while left:
            try:
                index, result = it.next(timeout=PROGRESS_INTERVAL_S)
            except mp.TimeoutError:
                pass
            else:
                results[index] = result
                bar.set(index, tasks[index].units)
                left -= 1
            try:
                while True:
                    index, n = q.get_nowait()
                    if bar.done.get(index, 0) < tasks[index].units:
                        bar.set(index, n)
            except queue_module.Empty:
                pass
    return results, {}


# Ray: tasks report progress to a counter actor that the driver polls.
class _ProgressCounter:
    """Each task's latest progress (a Ray actor)."""

    def __init__(self) -> None:
        self.done: dict[int, int] = {}

    def set(self, index: int, n: int) -> None:
        self.done[index] = n

    def snapshot(self) -> dict[int, int]:
        return dict(self.done)


def _ray_call(fn: TaskFn, index: int, payload: Any, counter: Any) -> tuple[str, Any]:
    """A Ray task: run one unit, reporting progress to `counter`; returns (this node's IP, result)."""
    import ray

    counter.set.remote(index, 0)  # a retried attempt starts over
    result = fn(payload, _throttled(lambda n: counter.set.remote(index, n)))
    return ray.util.get_node_ip_address(), result


def _ray_failure(err: Exception, retries: int) -> str:
    """Why a Ray task failed, in one line."""
    import ray

    if isinstance(err, ray.exceptions.RayTaskError):
        cause = err.cause if getattr(err, "cause", None) is not None else err
        text = str(cause).strip().splitlines()
        return f"{type(cause).__name__}: {text[-1] if text else ''}".rstrip(": ")
    if isinstance(err, ray.exceptions.WorkerCrashedError | ray.exceptions.NodeDiedError | ray.exceptions.ObjectLostError):
        return (f"its worker process died on each of {retries + 1} attempt(s) (killed, out of memory, or its node "
                f"was lost): {type(err).__name__}")
    if isinstance(err, ray.exceptions.TaskCancelledError):
        return "cancelled"
    return f"{type(err).__name__}: {str(err).strip().splitlines()[-1] if str(err).strip() else ''}"


def _run_ray(spec: ExecutorSpec, tasks: Sequence[Task], bar: _Bar) -> tuple[list[Any], dict[int, str]]:
    ray = _import_ray()
    counter = ray.remote(num_cpus=0)(_ProgressCounter).remote()
    remote = ray.remote(_ray_call)
    refs = {
        remote.options(num_cpus=t.cpus, num_gpus=t.gpus, max_retries=spec.max_retries, retry_exceptions=False,
                       name=t.label).remote(t.fn, i, t.payload, counter): i
        for i, t in enumerate(tasks)
    }
    results: list[Any] = [None] * len(tasks)
    failures: dict[int, str] = {}
    pending = list(refs)
    finished: set[int] = set()
    try:
        while pending:
            ready, pending = ray.wait(pending, num_returns=len(pending), timeout=PROGRESS_INTERVAL_S)
            for ref in ready:
                index = refs[ref]
                finished.add(index)
                try:
                    _, results[index] = ray.get(ref)
                except ray.exceptions.RayError as err:
                    failures[index] = _ray_failure(err, spec.max_retries)
                bar.set(index, tasks[index].units)
            try:
                for index, n in ray.get(counter.snapshot.remote(), timeout=10).items():
                    if index not in finished:
                        bar.set(index, n)
            except ray.exceptions.GetTimeoutError:
                pass
    except BaseException:  # Ctrl-C or a bug: stop what still runs before the session ends
        for ref in pending:
            ray.cancel(ref, force=True)
        raise
    finally:
        ray.kill(counter)
    return results, failures
