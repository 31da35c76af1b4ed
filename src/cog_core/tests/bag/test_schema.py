"""cog_core registers the cog_msgs .msg files themselves with rosbags: one definition."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cog_core.bag import schema

REPO_MSG_DIR = Path(__file__).resolve().parents[3] / "cog_msgs" / "msg"


def _fields_from_text(text: str) -> list[str]:
    names = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.append(line.split()[1])
    return names


def test_uses_the_source_tree_msg_files_verbatim():
    assert schema.msg_dir().resolve() == REPO_MSG_DIR.resolve()
    texts = schema.msg_texts()
    for name in schema.MESSAGE_NAMES:
        assert texts[f"cog_msgs/msg/{name}"] == (REPO_MSG_DIR / f"{name}.msg").read_bytes().decode()


@pytest.mark.parametrize("name", schema.MESSAGE_NAMES)
def test_registered_fields_are_the_files_fields_in_order(name):
    store = schema.typestore()
    registered = [f for f, _ in store.fielddefs[f"cog_msgs/msg/{name}"][1]]
    assert registered == _fields_from_text((REPO_MSG_DIR / f"{name}.msg").read_text())


def test_step_carries_the_required_fields():
    names = set(_fields_from_text((REPO_MSG_DIR / "Step.msg").read_text()))
    required = {"header", "episode_id", "step_index", "observation", "state", "lowdim", "action", "reward",
                "is_first", "is_last", "is_terminal", "task", "initial_condition", "policy"}
    assert required <= names
    assert re.search(r"^float32\[8\] action$", (REPO_MSG_DIR / "Step.msg").read_text(), re.M)


def test_an_edited_msg_file_changes_what_cog_core_registers(tmp_path):
    """Point COG_MSGS_DIR at edited copies: a fresh process must register the edit."""
    for name in schema.MESSAGE_NAMES:
        (tmp_path / f"{name}.msg").write_text((REPO_MSG_DIR / f"{name}.msg").read_text())
    with (tmp_path / "Step.msg").open("a") as fh:
        fh.write("\nuint8 extra_field_for_test\n")
    code = (
        "from cog_core.bag import schema; s = schema.typestore();"
        "print([f for f, _ in s.fielddefs['cog_msgs/msg/Step'][1]][-1])"
    )
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, "COG_MSGS_DIR": str(tmp_path)},
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "extra_field_for_test"


def test_ament_prefix_is_searched_and_missing_files_give_a_clear_error(tmp_path, monkeypatch):
    share = tmp_path / "prefix" / "share" / "cog_msgs" / "msg"
    share.mkdir(parents=True)
    monkeypatch.setenv("AMENT_PREFIX_PATH", str(tmp_path / "prefix"))
    assert share in schema.candidate_dirs()
    monkeypatch.setattr(schema, "candidate_dirs", lambda: [tmp_path / "nowhere"])
    with pytest.raises(schema.MessageDefinitionsNotFound, match="COG_MSGS_DIR"):
        schema.msg_dir()


def test_cmake_and_package_xml_declare_every_msg_file():
    pkg = REPO_MSG_DIR.parent
    cmake = (pkg / "CMakeLists.txt").read_text()
    listed = set(re.findall(r'"(msg/\w+\.msg)"', cmake))
    assert listed == {f"msg/{p.name}" for p in REPO_MSG_DIR.glob("*.msg")}
    xml = (pkg / "package.xml").read_text()
    for dep in ("rosidl_default_generators", "std_msgs", "sensor_msgs", "rosidl_interface_packages"):
        assert dep in xml
