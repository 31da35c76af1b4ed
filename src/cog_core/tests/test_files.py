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


def test_stale_temporaries_of_dead_writers_are_removed_and_live_ones_kept(tmp_path):
    from cog_core.files import process_alive, remove_stale_temporaries

    target = tmp_path / "checkpoint.pt"
    dead = next(pid for pid in range(2**22 - 1, 2**22 - 200, -1) if not process_alive(pid))
    stale = tmp_path / f".checkpoint.pt.{dead}-0123abcd.tmp.pt"
    live = tmp_path / f".checkpoint.pt.{os.getppid()}-0123abcd.tmp.pt"
    other = tmp_path / f".metrics.csv.{dead}-0123abcd.tmp.csv"
    for p in (stale, live, other):
        p.write_text("half")
    assert remove_stale_temporaries(target) == [stale]
    assert live.exists() and other.exists()


def test_disk_full_names_the_path_the_space_needed_and_what_was_kept(tmp_path):
    import errno

    from cog_core.files import DiskFull, is_disk_full

    err = DiskFull(tmp_path / "task.h5", needed=12_300_000, free=1_000, note="the earlier file is kept")
    text = str(err)
    assert text.startswith(f"disk full: could not write {tmp_path / 'task.h5'} (needs about 12.3 MB, 1.0 kB free there)")
    assert "the earlier file is kept" in text and err.errno == errno.ENOSPC
    assert is_disk_full(OSError(errno.ENOSPC, "No space left on device"))
    assert is_disk_full(RuntimeError("database or disk is full"))
    assert not is_disk_full(RuntimeError("shape mismatch"))
    try:
        raise RuntimeError("iostream error") from OSError(errno.EDQUOT, "quota")
    except RuntimeError as wrapped:
        assert is_disk_full(wrapped)
