"""scripts/check_imports.py: cog_core has no import cycle and no import up a floor, and the
check finds both where they exist."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "check_imports.py"


def _checker():
    spec = importlib.util.spec_from_file_location("check_imports", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cog_core_keeps_its_floors(capsys):
    assert _checker().main([]) == 0
    assert "no cycle, none upward" in capsys.readouterr().out


def test_a_cycle_and_an_upward_import_inside_a_function_are_found(tmp_path, capsys):
    pkg = tmp_path / "cog_core"
    for folder in ("robot", "sim"):
        (pkg / folder).mkdir(parents=True)
        (pkg / folder / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "robot" / "a.py").write_text("def f():\n    from cog_core.sim.b import g\n")  # hidden, and upward
    (pkg / "sim" / "b.py").write_text("from cog_core.robot.a import f\n\ndef g():\n    pass\n")
    assert _checker().main(["--root", str(pkg)]) == 1
    err = capsys.readouterr().err
    assert "cog_core.robot.a imports cog_core.sim.b, a floor up" in err
    assert "import cycle: cog_core.robot.a -> cog_core.sim.b" in err
