"""Where training runs: `--device auto|cpu|cuda[:N]`, resolved once, and moving tensors there.

Networks, optimizer state, batches and cached encoder features live on the resolved device;
the datasets stay in host memory and each batch is copied over (from pinned memory, without
blocking, on CUDA). Checkpoints and exports always hold CPU tensors (`cpu_tree`), so a run
trained on a GPU resumes, evaluates and deploys on a CPU-only machine, and back. The random
draws of updates come from a CPU generator on every device, so a checkpoint's RNG state means
the same thing wherever it is resumed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import torch

DEVICE_PATTERN = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")
DEVICE_HELP = "auto (CUDA when available, else CPU), cpu, cuda or cuda:N"


class DeviceError(ValueError):
    """A device that is not valid here; the message names the fix."""


def check_device_name(name: str) -> None:
    """Raise DeviceError unless `name` is auto, cpu, cuda or cuda:N (whether it exists is `resolve_device`'s question)."""
    if not isinstance(name, str) or not DEVICE_PATTERN.match(name):
        raise DeviceError(f"device={name!r} is not one of {DEVICE_HELP}")


def resolve_device(name: str) -> torch.device:
    """The torch device `name` means on this machine: `auto` is CUDA device 0 when torch sees one,
    else the CPU; a CUDA device this machine lacks is a DeviceError that says what to use instead."""
    check_device_name(name)
    if name == "cpu" or (name == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if name == "auto":
        return torch.device("cuda", 0)
    if not torch.cuda.is_available():
        build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only build"
        raise DeviceError(f"--device {name}: torch {torch.__version__} ({build}) sees no CUDA device on this machine; "
                          "use --device cpu (or auto, which falls back to the CPU)")
    index = torch.device(name).index or 0
    count = torch.cuda.device_count()
    if index >= count:
        raise DeviceError(f"--device {name}: this machine has {count} CUDA device(s) (cuda:0-cuda:{count - 1}); "
                          "pick one of them, or --device cuda")
    return torch.device("cuda", index)


def to_device(tensor: torch.Tensor, device: torch.device) -> torch.Tensor:
    """`tensor` on `device` (itself when already there); host tensors go to a GPU through pinned
    memory without blocking the host."""
    if tensor.device == device:
        return tensor
    if device.type == "cuda" and tensor.device.type == "cpu":
        return tensor.pin_memory().to(device, non_blocking=True)
    return tensor.to(device)


def cpu_tree(tree: Any) -> Any:
    """Nested dicts / lists / tuples with every tensor copied to the CPU (CPU tensors kept as they are)."""
    if isinstance(tree, torch.Tensor):
        return tree.detach().cpu()
    if isinstance(tree, Mapping):
        return {k: cpu_tree(v) for k, v in tree.items()}
    if isinstance(tree, (list, tuple)):
        return type(tree)(cpu_tree(v) for v in tree)
    return tree
