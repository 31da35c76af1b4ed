"""`cogrl inspect` prints per-policy statistics and writes a contact sheet and a clip."""

from __future__ import annotations

import imageio.v2 as imageio
import pytest

from cog_core.bag.synthetic import write_synthetic_run
from cog_core.cli import main
from cog_core.data.convert import ConvertOptions, convert_bags


@pytest.mark.parametrize("video", ["gif", "mp4"])
def test_inspect_writes_stats_sheet_and_clip(tmp_path, capsys, monkeypatch, video):
    monkeypatch.setenv("COLUMNS", "200")
    write_synthetic_run(tmp_path / "bags", 5, seed=1, length=6)
    convert_bags([tmp_path / "bags"], tmp_path / "d.h5", ConvertOptions(role="task"))
    out = tmp_path / "insp"
    assert main(["inspect", str(tmp_path / "d.h5"), "--out-dir", str(out), "--episodes", "3", "--sheet", "4", "--video", video]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "5 episodes, 30 transitions" in text and "pick_place" in text and "gripper" in text
    sheet = imageio.imread(out / "contact_sheet.png")
    assert sheet.shape == (4 * (48 * 3 + 2), 4 * (48 * 3 + 2), 3)
    frames = imageio.mimread(out / f"episodes.{video}", memtest=False)
    assert len(frames) == 7


def test_inspect_rejects_non_datasets(tmp_path, capsys):
    (tmp_path / "x.h5").write_bytes(b"nope")
    assert main(["inspect", str(tmp_path / "x.h5")]) == 2
    assert "not a readable HDF5" in capsys.readouterr().err
