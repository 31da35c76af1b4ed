"""COG core: everything that does not need a ROS graph."""

__version__ = "0.1.0"
