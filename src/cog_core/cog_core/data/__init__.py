"""Datasets: episodes from rosbag2 -> HDF5 -> in-memory transitions for training."""
