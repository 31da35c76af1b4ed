"""`--executor local|ray` and `--ray-address`, shared by `cogrl collect`, `cogrl eval` and `cogrl table`."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager

from cog_core.cli import UserError
from cog_core.experiments.executors import EXECUTORS, ExecutorError, ExecutorSpec, TaskFailed, ray_session


def add_executor_arguments(p: argparse.ArgumentParser, units: str) -> None:
    """Register `--executor` and `--ray-address`; `units` says what the executor runs (for the help)."""
    p.add_argument("--executor", default="local", choices=EXECUTORS,
                   help=f"what runs the {units}: local processes (default) or Ray tasks, on a local Ray instance or "
                        "the cluster of --ray-address (outputs must be on a path every node sees; docs/scaling.md)")
    p.add_argument("--ray-address", default=None, metavar="auto|HOST:PORT",
                   help="with --executor ray: join this running Ray cluster (auto: the one `ray start` made on this "
                        "machine); default: start a local Ray instance for this command")


def executor_spec(args: argparse.Namespace) -> ExecutorSpec:
    """The executor the arguments ask for (UserError for a combination that cannot work)."""
    spec = ExecutorSpec(args.executor, args.ray_address)
    try:
        spec.validate()
    except ValueError as err:
        raise UserError(str(err)) from None
    return spec


@contextmanager
def executor_session(spec: ExecutorSpec, kept: str) -> Iterator[None]:
    """Ray started (or joined) for the command and shut down after it; an executor that cannot run
    or tasks that failed end as one error line (`kept` says where the finished work is)."""
    try:
        with ray_session(spec):
            yield
    except ExecutorError as err:
        raise UserError(str(err)) from None
    except TaskFailed as err:
        raise UserError(f"{err}; {kept}") from None
