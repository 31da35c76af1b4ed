"""The Ray executor on a local Ray instance: the same episodes and success counts as the local
executor for a collection, an evaluation and a smoke table; killed tasks are retried, and tasks
that keep failing (or whose outputs the driver cannot see) are reported, never dropped."""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

ray = pytest.importorskip("ray")

from cog_core.bag.reader import BagReader  # noqa: E402
from cog_core.experiments.collect import CollectConfig, _collect_task, collect  # noqa: E402
from cog_core.experiments.evaluate import evaluate  # noqa: E402
from cog_core.experiments.executors import ExecutorSpec, Task, TaskFailed, ray_session, run_tasks  # noqa: E402
from cog_core.experiments.table1.config import table_config  # noqa: E402
from cog_core.experiments.table1.run import run_table  # noqa: E402

RAY = ExecutorSpec("ray", max_retries=1)

# The flaky task functions below are defined here; Ray workers cannot import this test module,
# so its functions travel by value.
ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])


@pytest.fixture(scope="module", autouse=True)
def ray_instance() -> Iterator[None]:
    """One local Ray instance (2 CPUs here, no dashboard, a small object store) for the module;
    the commands below join it instead of starting their own."""
    with ray_session(RAY):
        yield
    assert not ray.is_initialized()


def _episodes(out: Path) -> list:
    return sorted(BagReader([out]).episodes(), key=lambda e: e.episode_id.split("-", 1)[1])  # "...-wWW-IIIIII": worker, index


def _same_episodes(a: Path, b: Path) -> None:
    left, right = _episodes(a), _episodes(b)
    assert len(left) == len(right) > 0
    for x, y in zip(left, right):
        assert (x.policy, x.initial_condition, x.summary["seed"]) == (y.policy, y.initial_condition, y.summary["seed"])
        np.testing.assert_array_equal(x.actions, y.actions)
        np.testing.assert_array_equal(x.lowdim, y.lowdim)
        np.testing.assert_array_equal(x.images, y.images)


COLLECTION = dict(preset="drawer-prior", episodes=5, workers=2, seed=4)


@pytest.fixture(scope="module")
def local_collection(tmp_path_factory) -> tuple[Path, object]:
    out = tmp_path_factory.mktemp("local") / "bags"
    return out, collect(CollectConfig(out=str(out), **COLLECTION), progress=False)


def _summary_without_timing(summary) -> dict:
    record = asdict(summary)
    for key in ("seconds", "bag_dirs"):
        record.pop(key)
    return record


def test_a_collection_through_ray_writes_the_same_episodes_as_the_local_executor(local_collection, tmp_path):
    local_out, local_summary = local_collection
    summary = collect(CollectConfig(out=str(tmp_path / "bags"), **COLLECTION), progress=False, executor=RAY)
    assert _summary_without_timing(summary) == _summary_without_timing(local_summary)
    assert sorted(p.name for p in (tmp_path / "bags").iterdir()) == ["collection_summary.json", "worker_00", "worker_01"]
    _same_episodes(local_out, tmp_path / "bags")


def _die_on_first_attempt(payload: tuple, report) -> object:
    """`_collect_task`, killed (SIGKILL, as the OOM killer does) after its first episode on the first attempt."""
    cfg, worker, _ = payload
    marker = Path(cfg.out).parent / f"attempted_{worker}"

    def report_then_die(n: int) -> None:
        report(n)
        if not marker.exists():
            marker.touch()
            os.kill(os.getpid(), signal.SIGKILL)

    return _collect_task(payload, report_then_die)


def test_a_collection_worker_killed_mid_range_is_retried_from_scratch_and_the_bags_match(local_collection, tmp_path):
    local_out, _ = local_collection
    out = tmp_path / "bags"
    out.mkdir()
    cfg = CollectConfig(out=str(out), **COLLECTION)
    counts = [3, 2]
    tasks = [Task(f"collection worker {w}", _die_on_first_attempt, (cfg, w, n), units=n) for w, n in enumerate(counts)]
    results = run_tasks(RAY, tasks, progress=False)
    assert [len(r) for r in results] == counts
    assert (tmp_path / "attempted_0").exists() and (tmp_path / "attempted_1").exists()  # each first attempt died
    _same_episodes(local_out, out)  # the retries started their ranges again: no episode twice, none missing


def _always_dies(payload: int, report) -> int:
    os.kill(os.getpid(), signal.SIGKILL)
    return payload


def _doubles(payload: int, report) -> int:
    report(1)
    return 2 * payload


def _raises(payload: int, report) -> int:
    raise ValueError(f"bad unit {payload}")


def test_tasks_that_keep_dying_or_raise_are_reported_and_the_others_kept():
    tasks = [Task("fine", _doubles, 21, units=1), Task("doomed", _always_dies, 0), Task("broken", _raises, 7)]
    with pytest.raises(TaskFailed) as caught:
        run_tasks(RAY, tasks, progress=False)
    err = caught.value
    assert set(err.failures) == {"doomed", "broken"}
    assert "died on each of 2 attempt(s)" in err.failures["doomed"]
    assert err.failures["broken"] == "ValueError: bad unit 7"
    assert err.results == [42, None, None]  # the task that finished is not lost
    assert "2 of 3 task(s) failed" in str(err)


def test_an_output_the_driver_cannot_see_is_a_failure_that_asks_for_a_shared_path(tmp_path):
    missing = tmp_path / "on_another_node"
    tasks = [Task("unit", _doubles, 1, outputs=lambda result: [missing])]
    with pytest.raises(TaskFailed, match="shared|NFS") as caught:
        run_tasks(RAY, tasks, progress=False)
    assert str(missing) in caught.value.failures["unit"]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    from ..rl.helpers import tiny_bc_run

    return tiny_bc_run(tmp_path_factory.mktemp("run") / "run", steps=2)  # 12-D lowdim: pick-place


def test_an_evaluation_through_ray_gives_the_same_episodes_as_the_local_executor(tiny_run, tmp_path):
    conditions = ["pick_place/object_in_gripper", "pick_place/object_on_table"]
    common = dict(episodes=3, workers=2, seed=1, videos_per_condition=1, progress=False)
    local = evaluate(tiny_run, conditions, video_dir=tmp_path / "local", **common)
    on_ray = evaluate(tiny_run, conditions, video_dir=tmp_path / "ray", executor=RAY, **common)
    strip = [{k: v for k, v in asdict(r).items() if k != "videos"} for r in local]
    assert strip == [{k: v for k, v in asdict(r).items() if k != "videos"} for r in on_ray]
    assert [Path(v).name for r in on_ray for v in r.videos] == [Path(v).name for r in local for v in r.videos]
    assert all(Path(v).is_file() for r in on_ray for v in r.videos) and len(list((tmp_path / "ray").iterdir())) == 2


def _cells(out: Path) -> dict:
    report = json.loads((out / "results.json").read_text())
    return {cond: {m: (c["seeds"], c["episodes"], c["rates"], c["reached"]) for m, c in row.items()}
            for cond, row in report["cells"].items()}


def _final_evals(out: Path) -> dict:
    return {str(p.relative_to(out)): [(r["condition"], r["successes"], r["mean_return"], r["mean_length"], r["reached"])
                                      for r in json.loads(p.read_text())["results"]]
            for p in sorted(out.glob("runs/*/*/*/final_eval.json"))}


def test_a_smoke_table_through_ray_gives_the_same_results_as_the_local_executor(tmp_path):
    settings = dict(scenes=("drawer",), methods=("no-prior",), videos=0)
    run_table(table_config("smoke", out=str(tmp_path / "local"), **settings))
    run_table(table_config("smoke", out=str(tmp_path / "ray"), **settings), RAY)
    _same_episodes(tmp_path / "local" / "bags", tmp_path / "ray" / "bags")  # collected by Ray tasks
    finals = _final_evals(tmp_path / "ray")
    assert list(finals) == ["runs/drawer/no-prior/seed0/final_eval.json"]
    assert finals == _final_evals(tmp_path / "local")
    assert _cells(tmp_path / "ray") == _cells(tmp_path / "local")


def _report_all(payload: int, report) -> int:
    report(payload)
    return payload


def test_the_task_bar_starts_from_the_units_done_before_the_call(capsys):
    tasks = [Task("resumed", _report_all, 10, units=10, units_done=4), Task("fresh", _report_all, 10, units=10)]
    assert run_tasks(ExecutorSpec(), tasks, desc="work", progress=True, parallel=1) == [10, 10]
    lines = capsys.readouterr().err.replace("\r", "\n").split("\n")
    counts = [int(line.split("|")[2].split("/")[0]) for line in lines if line.startswith("work:")]
    assert counts[0] == 4 and counts[-1] == 20  # opens at the resumed task's 4, so the rate counts new work only
