"""`cogrl --help` and every subcommand's `--help` render (argparse expands % in help strings)."""

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
