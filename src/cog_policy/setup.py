"""colcon (ament_python) build of cog_policy."""

from glob import glob

from setuptools import setup

PACKAGE = "cog_policy"

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=[PACKAGE],
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/launch", glob("launch/*.launch.py")),
        (f"share/{PACKAGE}/config", glob("config/*.yaml")),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="COG WidowX maintainers",
    maintainer_email="cog@example.com",
    description="COG policy node with safety; run.launch.py",
    license="MIT",
    extras_require={"test": ["pytest"]},  # colcon test picks pytest from this (setuptools >= 72 dropped tests_require)
    entry_points={"console_scripts": [f"policy_node = {PACKAGE}.policy_node:main"]},
)
