"""Stages shared by `cogrl demo` and `cogrl table`: reuse of finished collections."""

from __future__ import annotations

import pytest

from cog_core.experiments.pipeline import CollectionMismatch, collect_datasets, recorded_scale, recorded_transitions

TINY = 0.0002  # 2 drawer-task episodes


def _files(folder):
    return sorted((str(p), p.stat().st_mtime_ns) for p in folder.rglob("*") if p.is_file())


def test_a_finished_collection_is_reused_only_at_the_scale_it_was_made(tmp_path):
    bags = tmp_path / "bags"
    made = collect_datasets(bags, [("drawer-task", TINY)], seed=0, workers=1)["drawer-task"]
    assert made == recorded_transitions(bags / "drawer-task") and made > 0
    assert recorded_scale(bags / "drawer-task") == TINY
    # the same scale again: reused as it is, nothing is collected
    before = _files(bags / "drawer-task")
    assert collect_datasets(bags, [("drawer-task", TINY)], seed=0, workers=1) == {"drawer-task": made}
    assert _files(bags / "drawer-task") == before
    # another scale: a clear error that names the fix, and the finished episodes stay
    with pytest.raises(CollectionMismatch, match=r"collected at scale 0.0002 but this run asks for 0.5.*another output directory, or delete"):
        collect_datasets(bags, [("drawer-task", 0.5)], seed=0, workers=1)
    assert _files(bags / "drawer-task") == before
    # another seed or prior profile: the same, since the episodes would not be the ones asked for
    with pytest.raises(CollectionMismatch, match="collected with seed 0 but this run asks for 1"):
        collect_datasets(bags, [("drawer-task", TINY)], seed=1, workers=1)
    with pytest.raises(CollectionMismatch, match="collected with prior profile paper but this run asks for state-table"):
        collect_datasets(bags, [("drawer-task", TINY)], seed=0, workers=1, prior_profile="state-table")
    assert _files(bags / "drawer-task") == before


def test_a_collection_from_before_prior_profiles_counts_as_the_state_table_one(tmp_path):
    import json

    bags = tmp_path / "bags"
    collect_datasets(bags, [("drawer-task", TINY)], seed=0, workers=1, prior_profile="state-table")
    summary = bags / "drawer-task" / "collection_summary.json"
    record = json.loads(summary.read_text())
    del record["config"]["prior_profile"]  # as written before profiles existed
    summary.write_text(json.dumps(record))
    assert collect_datasets(bags, [("drawer-task", TINY)], seed=0, workers=1, prior_profile="state-table")
    with pytest.raises(CollectionMismatch, match="prior profile state-table"):
        collect_datasets(bags, [("drawer-task", TINY)], seed=0, workers=1)


def test_the_runs_progress_bar_starts_from_the_steps_resumed_runs_already_did(tmp_path, capsys):
    import sys

    from cog_core.experiments.pipeline import Job, run_jobs

    def job(name: str, done: int | None) -> Job:
        run_dir = tmp_path / name
        run_dir.mkdir()
        if done is not None:  # a run interrupted after `done` of its 100 steps
            (run_dir / "metrics.csv").write_text(f"step,wall_s\n{done},1.0\n")
        return Job(name, [[sys.executable, "-c", "pass"]], tmp_path / f"{name}.log", run_dir, steps=100)

    # one slot: the second resumed run waits while the first runs, and its steps still count from the start
    jobs = run_jobs([job("a", 30), job("b", None), job("c", 20)], parallel=1, desc="runs")
    assert [j.returncode for j in jobs] == [0, 0, 0]
    lines = capsys.readouterr().err.replace("\r", "\n").split("\n")
    counts = [int(line.split("|")[2].split("/")[0]) for line in lines if line.startswith("runs:")]
    assert counts[0] == 50  # the bar opens at the 30 + 20 resumed steps, not at 0 (which made a rate of thousands per second)
    assert counts == sorted(counts)  # and never runs backwards while the waiting run is pending
