"""colcon (ament_python) build of cog_collect."""


from setuptools import setup

PACKAGE = "cog_collect"

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=[PACKAGE],
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="COG WidowX maintainers",
    maintainer_email="cog@example.com",
    description="COG collection nodes: camera, localizer, scripted collector, bag_to_dataset",
    license="MIT",
    extras_require={"test": ["pytest"]},  # colcon test picks pytest from this (setuptools >= 72 dropped tests_require)
    entry_points={
        "console_scripts": [
            f"camera_node = {PACKAGE}.camera_node:main",
            f"localizer_node = {PACKAGE}.localizer_node:main",
            f"collector_node = {PACKAGE}.collector_node:main",
            f"bag_to_dataset = {PACKAGE}.bag_to_dataset:main",
        ],
    },
)
