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
