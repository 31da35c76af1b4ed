"""The workspace under test is the colcon install, and that install is complete.

Runs against a built workspace (`colcon test` after `colcon build`, or `bash scripts/ros.sh
python -m pytest src/...`; scripts/test.sh does both); skips in a plain checkout.
"""

from __future__ import annotations

import importlib
import os
import runpy
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def _prefix() -> Path:
    prefix = next((Path(p) for p in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep)
                   if p and (Path(p) / "share" / "cog_collect" / "package.xml").is_file()), None)
    if prefix is None:
        pytest.skip("no colcon-built workspace is sourced (bash scripts/ros.sh ..., or source install/setup.bash)")
    return prefix


@pytest.mark.parametrize("module", ["cog_core", "cog_collect", "cog_policy", "cog_msgs", "cog_core.bag.schema"])
def test_packages_are_imported_from_the_install(module):
    prefix = _prefix()
    mod = importlib.import_module(module)
    assert Path(mod.__file__).resolve().is_relative_to(prefix.resolve()), f"{module} comes from {mod.__file__}, not {prefix}"


def test_cog_core_reads_the_installed_message_definitions():
    prefix = _prefix()
    from cog_core.bag import schema

    assert schema.msg_dir().resolve() == (prefix / "share" / "cog_msgs" / "msg").resolve()


def test_the_install_is_complete_and_colcon_test_runs_pytest_everywhere():
    prefix = _prefix()
    checker = runpy.run_path(str(ROOT / "scripts" / "check_colcon_install.py"))
    assert checker["problems"](prefix, with_msgs=True, root=ROOT) == []
