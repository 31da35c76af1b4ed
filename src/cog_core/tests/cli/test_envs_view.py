"""`cogrl envs` and `cogrl view` as a user runs them."""

import imageio.v2 as imageio

from cog_core.cli import main
from cog_core.sim import CONDITIONS


def test_envs_lists_every_condition(capsys):
    assert main(["envs"]) == 0
    out = capsys.readouterr().out
    for name in CONDITIONS:
        assert name in out


def test_view_writes_a_picture(tmp_path):
    out = tmp_path / "scene.png"
    assert main(["view", "--condition", "drawer/closed", "--out", str(out), "--size", "192"]) == 0
    image = imageio.imread(out)
    assert image.shape == (192, 192 * 2 + 8, 3) and image.std() > 10


def test_view_all_writes_one_picture_per_condition(tmp_path):
    assert main(["view", "--condition", "all", "--out", str(tmp_path), "--size", "96"]) == 0
    assert len(list(tmp_path.glob("*.png"))) == len(CONDITIONS)


def test_view_rejects_an_unknown_condition(tmp_path, capsys):
    assert main(["view", "--condition", "drawer/ajar", "--out", str(tmp_path / "x.png")]) == 2
    assert "unknown condition" in capsys.readouterr().err
