"""rosbag2 logging of episodes (cog_msgs/Step) and reading them back, without ROS."""

from cog_core.bag.recorder import BagRecorder, make_episode_id
from cog_core.bag.schema import STEP_TOPIC, STEP_TYPE, SUMMARY_TOPIC, SUMMARY_TYPE

__all__ = ["BagRecorder", "make_episode_id", "STEP_TOPIC", "STEP_TYPE", "SUMMARY_TOPIC", "SUMMARY_TYPE"]
