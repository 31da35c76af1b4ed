"""setup.py for colcon (ament_python) and pip; the rest of the metadata is in setup.cfg.

colcon reads a package's options by running this file and evaluating what setuptools parsed, so
two things live here rather than in setup.cfg: python_requires (setuptools turns a setup.cfg
value into an object colcon cannot read back; a keyword argument stays a string) and the ament
index marker + package.xml, which only a colcon install needs.
"""

from setuptools import setup

setup(
    python_requires=">=3.10",
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/cog_core"]),
        ("share/cog_core", ["package.xml"]),
    ],
)
