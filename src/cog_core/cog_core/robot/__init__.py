"""The WidowX 250 itself: kinematics and IK, the 8-D action and its limits, the arm state,
delta end-effector control, and the hardware arm (no ROS)."""
