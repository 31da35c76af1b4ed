"""Hypothesis-damaged real bags through `cogrl convert`: an exit code, never a traceback."""

from __future__ import annotations

import shutil

import h5py
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cog_core.bag.reader import find_bags
from cog_core.bag.synthetic import write_synthetic_run
from cog_core.cli import main


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    root = tmp_path_factory.mktemp("pristine")
    write_synthetic_run(root / "mcap", 3, length=4, split_size_bytes=40_000)
    write_synthetic_run(root / "sqlite3", 3, length=4, storage="sqlite3", split_size_bytes=40_000)
    return root


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_convert_survives_damage(pristine, tmp_path, storage, data, capsys):
    work = tmp_path / "w"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(pristine / storage, work)
    bags = find_bags(work)
    bag = data.draw(st.sampled_from(bags))
    f = next(p for p in bag.iterdir() if p.suffix in (".mcap", ".db3"))
    raw = bytearray(f.read_bytes())
    for _ in range(data.draw(st.integers(1, 3))):
        kind = data.draw(st.sampled_from(["truncate", "flip", "garbage"]))
        pos = data.draw(st.integers(0, max(len(raw) - 1, 0)))
        if kind == "truncate":
            raw = raw[:pos]
        elif kind == "flip" and raw:
            raw[pos] ^= data.draw(st.integers(1, 255))
        elif raw:
            n = data.draw(st.integers(1, 64))
            raw[pos : pos + n] = data.draw(st.binary(min_size=n, max_size=n))
    f.write_bytes(bytes(raw))
    if data.draw(st.booleans()):
        (bag / "metadata.yaml").unlink(missing_ok=True)
    out = tmp_path / "o.h5"
    rc = main(["convert", str(work), "--role", "task", "-o", str(out), "--quiet", "--force"])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    assert rc in (0, 1, 2)
    if rc in (0, 1):
        with h5py.File(out) as h5:
            assert 1 <= len(h5["data"]) <= 3
    else:
        assert "error:" in captured.err
