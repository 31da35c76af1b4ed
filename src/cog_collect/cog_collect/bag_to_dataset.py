"""bag_to_dataset: `ros2 run cog_collect bag_to_dataset BAGS... --role prior|task -o out.h5`.

The same code as `cogrl convert` (cog_core.cli.convert): every option and exit status is the
same; see `ros2 run cog_collect bag_to_dataset --help`.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Run `cogrl convert` with the given arguments (ROS remapping arguments are dropped)."""
    from cog_core.cli import main as cogrl_main

    args = list(sys.argv[1:] if argv is None else argv)
    if "--ros-args" in args:  # `ros2 run` may append ROS arguments; convert does not take them
        args = args[: args.index("--ros-args")]
    return cogrl_main(["convert", *args])


if __name__ == "__main__":
    sys.exit(main())
