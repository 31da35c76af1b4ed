"""colcon (ament_python) entry; package metadata lives in pyproject.toml."""

from setuptools import setup

setup(
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/cog_core"]),
        ("share/cog_core", ["package.xml"]),
    ],
)
