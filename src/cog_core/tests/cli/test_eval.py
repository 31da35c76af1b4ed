"""`cogrl eval --split`: development evaluations on `val` by default, final numbers on `test`."""

from __future__ import annotations

import json

import pytest

from cog_core.cli import main
from cog_core.seeds import MAX_EVAL_SEED


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A one-update BC run on pick-place's 12-D lowdim (the real trainer and checkpoint)."""
    from ..rl.helpers import tiny_bc_run

    return tiny_bc_run(tmp_path_factory.mktemp("eval") / "run")


def _eval(run, tmp_path, *extra: str) -> tuple[int, dict | None]:
    out = tmp_path / f"eval{len(list(tmp_path.iterdir()))}.json"
    code = main(["eval", "--run", str(run), "--conditions", "pick_place/object_in_gripper", "--episodes", "1",
                 "--json", str(out), *extra])
    return code, json.loads(out.read_text()) if out.is_file() else None


def test_eval_runs_on_val_unless_told_test_and_records_the_split(run, tmp_path, capsys):
    code, val = _eval(run, tmp_path)
    assert code == 0 and val is not None and val["meta"]["split"] == "val" and val["meta"]["seed"] == 0
    assert "(val split, seed 0)" in capsys.readouterr().out
    code, test = _eval(run, tmp_path, "--split", "test", "--seed", "3")
    assert code == 0 and test is not None and (test["meta"]["split"], test["meta"]["seed"]) == ("test", 3)
    assert test["results"][0]["episodes"] == 1


def test_eval_refuses_an_unknown_split_and_a_seed_outside_the_splits_fields(run, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:  # argparse's choices
        _eval(run, tmp_path, "--split", "train")
    assert exit_info.value.code == 2 and "invalid choice: 'train'" in capsys.readouterr().err
    code, written = _eval(run, tmp_path, "--seed", str(MAX_EVAL_SEED))
    assert code == 2 and written is None
    assert f"evaluation seed must be in [0, {MAX_EVAL_SEED})" in capsys.readouterr().err
