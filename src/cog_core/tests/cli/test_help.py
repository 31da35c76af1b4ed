"""`cogrl --help` and every subcommand's `--help` render (argparse expands % in help strings); bad arguments give clear errors."""

from __future__ import annotations

import pytest

from cog_core.cli import SUBCOMMANDS, build_parser


@pytest.mark.parametrize("argv", [[], *([name] for name in SUBCOMMANDS)], ids=lambda a: " ".join(a) or "cogrl")
def test_help_renders(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args([*argv, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: cogrl")


def test_table_rejects_bad_step_counts_and_scales_before_doing_anything(tmp_path, capsys):
    from cog_core.cli import main

    out = tmp_path / "results"
    assert main(["table", "--steps", "pick-place=lots", "--out", str(out)]) == 2
    assert "--steps takes N or SCENE=N" in capsys.readouterr().err
    assert main(["table", "--steps", "kitchen=1000", "--out", str(out)]) == 2
    assert "unknown scene 'kitchen' in the step counts" in capsys.readouterr().err
    assert main(["table", "--scale", "drawer=big", "--out", str(out)]) == 2
    assert "--scale takes SCENE=PRIOR[:TASK]" in capsys.readouterr().err
    assert not out.exists()


def test_table_merge_names_what_it_needs(tmp_path, capsys):
    from cog_core.cli import main

    out = tmp_path / "results"
    (out / "runs").mkdir(parents=True)
    assert main(["table", "--merge", "old.json", "--out", str(out)]) == 2
    assert "add --report-only" in capsys.readouterr().err
    assert main(["table", "--report-only", "--merge", str(tmp_path / "old.json"), "--out", str(out)]) == 2
    assert "no such file" in capsys.readouterr().err
    (tmp_path / "old.json").write_text('{"cells": {}}')
    assert main(["table", "--report-only", "--merge", str(tmp_path / "old.json"), "--out", str(out)]) == 2
    assert "not a `cogrl table` report" in capsys.readouterr().err
    assert not (out / "results.md").exists()


def test_table_headline_refuses_merged_reports_and_probes(tmp_path, capsys):
    from cog_core.cli import main

    out = tmp_path / "results"
    (out / "runs").mkdir(parents=True)
    headline = str(tmp_path / "table_image.json")
    assert main(["table", "--report-only", "--merge", "old.json", "--headline", headline, "--out", str(out)]) == 2
    assert "--merge makes a probe, never a headline table" in capsys.readouterr().err
    assert main(["table", "--report-only", "--split", "val", "--headline", headline, "--out", str(out)]) == 2
    assert "a headline table is evaluated on the test split" in capsys.readouterr().err
    assert main(["table", "--report-only", "--headline", str(tmp_path / "table.md"), "--out", str(out)]) == 2
    assert "--headline takes a .json path" in capsys.readouterr().err
    assert not list(tmp_path.glob("table*"))


def test_table_refuses_to_report_a_folder_of_the_old_protocol(tmp_path, capsys):
    from cog_core.cli import main

    out = tmp_path / "results"
    (out / "runs").mkdir(parents=True)
    (out / "bags" / "drawer-prior").mkdir(parents=True)  # one dataset shared by every seed
    assert main(["table", "--report-only", "--out", str(out)]) == 2
    assert "seeds share one dataset" in capsys.readouterr().err
    assert not (out / "results.json").exists()
