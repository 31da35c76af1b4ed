"""Hypothesis-generated damage to real bags: the reader never raises, and what it returns is valid."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cog_core.bag.reader import BagReader, find_bags
from cog_core.bag.synthetic import write_synthetic_run

damage = st.lists(
    st.one_of(
        st.tuples(st.just("truncate"), st.floats(0, 1)),
        st.tuples(st.just("flip"), st.floats(0, 1), st.integers(1, 255)),
        st.tuples(st.just("zero"), st.floats(0, 1), st.integers(1, 4096)),
        st.tuples(st.just("metadata"), st.sampled_from(["delete", "garbage", "truncate"])),
    ),
    min_size=1,
    max_size=4,
)


def _apply(bag: Path, ops) -> None:
    f = next(p for p in bag.iterdir() if p.suffix in (".mcap", ".db3"))
    for op in ops:
        data = bytearray(f.read_bytes())
        if op[0] == "truncate":
            f.write_bytes(data[: int(op[1] * len(data))])
        elif op[0] == "flip" and data:
            i = min(int(op[1] * len(data)), len(data) - 1)
            data[i] ^= op[2]
            f.write_bytes(data)
        elif op[0] == "zero" and data:
            i = min(int(op[1] * len(data)), len(data) - 1)
            data[i : i + op[2]] = bytes(len(data[i : i + op[2]]))
            f.write_bytes(data)
        elif op[0] == "metadata":
            meta = bag / "metadata.yaml"
            if op[1] == "delete":
                meta.unlink(missing_ok=True)
            elif op[1] == "garbage":
                meta.write_text("rosbag2_bagfile_information: [1, 2\n")
            elif meta.exists():
                meta.write_text(meta.read_text()[:100])


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    root = tmp_path_factory.mktemp("pristine")
    for storage in ("mcap", "sqlite3"):
        write_synthetic_run(root / storage, 3, length=5, storage=storage)
    return root


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=damage)
def test_damaged_bags_never_raise(pristine, tmp_path, storage, ops):
    work = tmp_path / "w"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(pristine / storage, work)
    (bag,) = find_bags(work)
    _apply(bag, ops)
    reader = BagReader([work])
    eps = list(reader.episodes())  # must not raise
    assert len(eps) <= 3
    for ep in eps:
        T = ep.length
        assert ep.images.dtype == np.uint8 and ep.images.shape[0] == T + 1 and ep.images.shape[-1] == 3
        assert ep.actions.shape == (T + 1, 8) and np.isfinite(ep.actions[:-1]).all()
        assert ep.states.shape[0] == T + 1
    for p in reader.problems:
        assert str(work) in p.bag
