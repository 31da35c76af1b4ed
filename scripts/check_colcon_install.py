#!/usr/bin/env python3
"""Check a colcon install of this workspace: every module, entry point, launch/parameter/rviz file and
ament index entry where ROS expects it, no empty UNKNOWN egg, and colcon's own choice of test step
(pytest) for every Python package. Run with the interpreter (and setuptools) that built the install.

    python scripts/check_colcon_install.py INSTALL_PREFIX [--with-msgs]

Exit status 0 when complete, 1 with one line per problem otherwise. Used by
scripts/ros_check_setuptools.sh (Humble's and Jazzy's setuptools) and by the ROS tests against
the workspace that scripts/ros_bootstrap.sh builds (src/cog_bringup/test/test_workspace_install.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON_PACKAGES = ("cog_core", "cog_collect", "cog_policy", "cog_bringup")


def problems(install: Path, with_msgs: bool = False, root: Path = ROOT) -> list[str]:
    """Everything missing or wrong in the install at `install` ([] = complete)."""
    site = install / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"
    found: list[str] = []

    def need(path: Path, what: str) -> None:
        if not path.exists():
            found.append(f"{what}: {path.relative_to(install)} missing")

    for pkg in PYTHON_PACKAGES + (("cog_msgs",) if with_msgs else ()):
        need(install / "share" / pkg / "package.xml", f"{pkg} package.xml")
        need(install / "share/ament_index/resource_index/packages" / pkg, f"{pkg} ament index entry")
    for pkg in PYTHON_PACKAGES:
        eggs = sorted(p.name for p in site.glob(f"{pkg}-*.egg-info"))
        if not eggs or not eggs[0].startswith(f"{pkg}-0.1.0"):
            found.append(f"{pkg}: egg-info {eggs or 'missing'} (an empty UNKNOWN egg means setuptools ignored the metadata)")
    unknown = sorted(p.name for p in site.glob("UNKNOWN*"))
    if unknown:
        found.append(f"UNKNOWN distributions installed: {unknown}")
    for pkg in ("cog_core", "cog_collect", "cog_policy"):
        for src in sorted((root / "src" / pkg / pkg).rglob("*.py")):
            need(site / src.relative_to(root / "src" / pkg), f"{pkg} module")
    need(site / "cog_core" / "py.typed", "cog_core py.typed")
    need(install / "bin" / "cogrl", "cogrl entry point")
    for exe in ("camera_node", "localizer_node", "collector_node", "bag_to_dataset"):
        need(install / "lib" / "cog_collect" / exe, "cog_collect entry point")
    need(install / "lib" / "cog_policy" / "policy_node", "cog_policy entry point")
    for pkg, sub, pattern in (("cog_bringup", "launch", "*.launch.py"), ("cog_bringup", "config", "*.yaml"),
                              ("cog_bringup", "rviz", "*.rviz"), ("cog_policy", "launch", "*.launch.py")):
        for src in sorted((root / "src" / pkg / sub).glob(pattern)):
            need(install / "share" / pkg / sub / src.name, f"{pkg} {sub} file")
    if with_msgs:
        for name in ("Step", "EpisodeSummary"):
            need(install / "share" / "cog_msgs" / "msg" / f"{name}.msg", "cog_msgs definition")
            need(site / "cog_msgs" / "msg" / f"_{_snake(name)}.py", "cog_msgs Python module")

    # colcon's own choice of test step: pytest when the package declares it (its `test` extra)
    try:
        from colcon_core.task.python.test import has_test_dependency
        from colcon_python_setup_py.package_identification.python_setup_py import get_setup_information
    except ImportError:
        found.append("colcon is not installed in this interpreter; cannot check its test-step selection")
        return found
    for pkg in PYTHON_PACKAGES:
        data = get_setup_information(root / "src" / pkg / "setup.py")
        if not has_test_dependency(data, "pytest"):
            found.append(f"{pkg}: colcon test would not run pytest (no pytest test dependency seen)")
        if data["metadata"]["name"] != pkg:
            found.append(f"{pkg}: setuptools reports the name {data['metadata']['name']!r}")
    return found


def _snake(name: str) -> str:
    return "".join(("_" + c.lower()) if c.isupper() and i else c.lower() for i, c in enumerate(name))


def main(argv: list[str]) -> int:
    """Check the install prefix given on the command line; print problems; 0 = complete."""
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 2
    found = problems(Path(argv[0]).resolve(), with_msgs="--with-msgs" in argv[1:])
    for p in found:
        print(f"  - {p}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
