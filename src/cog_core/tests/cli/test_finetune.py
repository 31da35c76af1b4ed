"""`cogrl finetune --resume`: continues a fine-tuning output with its own settings, and refuses
what would change them or what it cannot read."""

from __future__ import annotations

import json

import pytest

from cog_core.cli import main


@pytest.fixture(scope="module")
def finetuned(tmp_path_factory):
    """A real chain on tiny data: collect -> convert -> a 4-update no-prior run on state -> 2 online episodes."""
    root = tmp_path_factory.mktemp("finetune")
    assert main(["collect", "--preset", "pick-place-task", "--episodes", "2", "--out", str(root / "bags"), "--quiet"]) == 0
    assert main(["convert", str(root / "bags"), "--role", "task", "-o", str(root / "task.h5"), "--quiet"]) == 0
    assert main(["train", "--algo", "no-prior", "--task", str(root / "task.h5"), "--obs", "state", "--steps", "4",
                 "--batch-size", "8", "--threads", "1", "--out", str(root / "run"), "--quiet"]) == 0
    assert main(["finetune", "--run", str(root / "run"), "--condition", "pick_place/object_in_gripper", "--episodes", "2",
                 "--eval-interval", "1", "--eval-episodes", "1", "--updates-per-step", "0.05", "--out", str(root / "ft"),
                 "--quiet"]) == 0
    return root


def test_resume_continues_with_the_outputs_own_settings(finetuned, capsys):
    capsys.readouterr()
    assert main(["finetune", "--resume", str(finetuned / "ft"), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "after 2 of 2 online episodes" in out
    rows = [json.loads(line) for line in (finetuned / "ft" / "finetune.jsonl").read_text().splitlines()]
    assert [r["episode"] for r in rows] == [0, 1, 2]  # nothing repeated or lost


def test_resume_refuses_flags_that_change_the_settings(finetuned, capsys):
    assert main(["finetune", "--resume", str(finetuned / "ft"), "--episodes", "5", "--seed", "1"]) == 2
    assert "drop --episodes, --seed" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # argparse: --run and --resume exclude each other
        main(["finetune", "--resume", str(finetuned / "ft"), "--run", str(finetuned / "run")])


def test_resume_names_what_is_missing(finetuned, tmp_path, capsys):
    assert main(["finetune", "--resume", str(finetuned / "run")]) == 2  # an offline run, not a fine-tuning output
    assert "--resume takes the --out directory of a `cogrl finetune` run" in capsys.readouterr().err
    copy = tmp_path / "ft"
    copy.mkdir()
    for name in ("checkpoint.pt", "finetune_config.json", "finetune.jsonl"):
        (copy / name).write_bytes((finetuned / "ft" / name).read_bytes())
    assert main(["finetune", "--resume", str(copy)]) == 2
    assert "no fine-tuning state to resume from" in capsys.readouterr().err
