"""The glibc allocator tuning: applied once on glibc, skippable by environment variable."""

import platform

import pytest

from cog_core.rl import malloc


@pytest.fixture
def fresh(monkeypatch):
    monkeypatch.setattr(malloc, "_tuned", None)
    return malloc


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt thresholds are a glibc feature")
def test_tuning_applies_on_glibc_and_is_done_once(fresh, monkeypatch):
    monkeypatch.delenv("COG_DEFAULT_MALLOC", raising=False)
    assert fresh.keep_freed_memory() is True
    monkeypatch.setenv("COG_DEFAULT_MALLOC", "1")  # too late: the process is already tuned
    assert fresh.keep_freed_memory() is True


def test_environment_variable_keeps_the_defaults(fresh, monkeypatch):
    monkeypatch.setenv("COG_DEFAULT_MALLOC", "1")
    assert fresh.keep_freed_memory() is False
