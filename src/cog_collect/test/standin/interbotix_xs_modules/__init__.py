"""A recording stand-in for Interbotix's Python API (interbotix_ros_toolboxes, humble branch, the API
since April 2024: ``InterbotixManipulatorXS`` on a global node that ``robot_startup()`` spins in a
daemon thread with its own MultiThreadedExecutor), for node processes in tests.

Put the ``standin`` folder on PYTHONPATH of a node started with ``backend:=interbotix``: the node
then builds this `InterbotixManipulatorXS` instead of the real one. It drives no arm: every API
call is published as JSON on ``/<robot_name>/standin/calls`` (std_msgs/String, reliable, depth
100) from the Interbotix node, where the real API publishes its JointGroupCommand or calls the
xs_sdk driver's services. A call made after the ROS context was torn down fails as the real one
would (``RCLError: publisher's context is invalid``). Blocking moves sleep their moving time on
the node's clock, as the real ones do.
"""
