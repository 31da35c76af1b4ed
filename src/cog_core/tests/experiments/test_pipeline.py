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
