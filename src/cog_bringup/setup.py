"""colcon (ament_python) build of cog_bringup: launch files, parameter files, rviz config."""

from glob import glob

from setuptools import setup

PACKAGE = "cog_bringup"

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=[],
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/launch", glob("launch/*.launch.py")),
        (f"share/{PACKAGE}/config", glob("config/*.yaml")),
        (f"share/{PACKAGE}/rviz", glob("rviz/*.rviz")),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="COG WidowX maintainers",
    maintainer_email="cog@example.com",
    description="COG bringup: collect.launch.py, configs, rviz",
    license="MIT",
    extras_require={"test": ["pytest"]},  # colcon test picks pytest from this (setuptools >= 72 dropped tests_require)
)
