"""cog_core.files: atomic replacement of a file (unique temporary, removed on failure)."""

from __future__ import annotations

import os

import pytest

from cog_core.files import atomic_write, atomic_write_text, temporary_path


def test_a_file_is_replaced_whole_and_no_temporary_stays(tmp_path):
    target = tmp_path / "report.json"
    target.write_text("old")
    assert atomic_write_text(target, "new") == target
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "checkpoint.pt"
    target.write_text("old")

    def half_then_fail(tmp):
        tmp.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write(target, half_then_fail)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]


def test_temporaries_are_unique_hidden_and_keep_the_suffix(tmp_path):
    target = tmp_path / "scene.png"
    a, b = temporary_path(target), temporary_path(target)
    assert a != b and a.exists() and b.exists()
    assert a.name.startswith(".scene.png.") and a.suffix == ".png"
    assert temporary_path(target, suffix=".gif").suffix == ".gif"


def test_the_new_file_gets_the_usual_permissions(tmp_path):
    umask = os.umask(0o022)
    os.umask(umask)
    target = atomic_write_text(tmp_path / "policy.json", "{}")
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask
