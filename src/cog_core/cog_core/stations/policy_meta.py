"""An exported policy's metadata (``policy.json``), typed: what a station checks before the arm moves.

`cogrl export` (`cog_core.rl.export`) writes the file beside the weights; the policy node, the
policy loop's setup check and evaluation read it through `PolicyMetadata`, one parser, so a
missing or malformed entry is handled in one place (absent values read as None / empty).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cog_core.robot.action import ACTION_DIM, ACTION_NAMES, STATE_DIM

EXPORT_FORMAT = "cog_core.policy/2"  # 2: policy.json holds the SHA-256 of policy.pt's weights
EXPORT_FORMATS = (EXPORT_FORMAT, "cog_core.policy/1")  # formats that load (1: written before the digest)
WEIGHTS_FILE = "policy.pt"
META_FILE = "policy.json"


class PolicyMetadataError(ValueError):
    """The exported model does not fit this setup; the message lists every mismatch and the fix."""


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


@dataclass(frozen=True)
class ObsSpec:
    """What the policy observes: the obs dict's keys, the image size, the vector's key and size."""

    mode: str | None = None  # "image", "state", "image+state", ...
    keys: tuple[str, ...] = ()
    image_size: int | None = None
    vec_key: str | None = None
    vec_dim: int | None = None


@dataclass(frozen=True)
class ActionSpec:
    """What the policy outputs: the action's size, names and range."""

    dim: int | None = None
    names: tuple[str, ...] | None = None
    range: tuple[float, ...] | None = None


@dataclass(frozen=True)
class PolicyMetadata:
    """The parsed ``policy.json`` of a policy export."""

    obs: ObsSpec = ObsSpec()
    action: ActionSpec = ActionSpec()
    format: str | None = None
    arch: str | None = None
    config: Mapping[str, Any] = field(default_factory=dict)
    provenance: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> PolicyMetadata:
        """Parse the JSON document (as loaded); missing sections and entries read as None / empty;
        entries of the wrong type raise ValueError."""
        if not isinstance(doc, Mapping):
            raise ValueError(f"policy metadata must be a JSON object, got {type(doc).__name__}")
        obs, act = _mapping(doc.get("obs")), _mapping(doc.get("action"))
        names, rng = act.get("names"), act.get("range")
        try:
            return cls._parse(doc, obs, act, names, rng)
        except (TypeError, ValueError) as err:
            raise ValueError(f"policy metadata is malformed ({err}); re-export the policy with `cogrl export`") from None

    @classmethod
    def _parse(cls, doc: Mapping[str, Any], obs: Mapping[str, Any], act: Mapping[str, Any], names: Any, rng: Any) -> PolicyMetadata:
        if not all(isinstance(k, str) for k in obs.get("keys") or ()):
            raise TypeError("obs.keys must be a list of strings")
        return cls(
            obs=ObsSpec(mode=obs.get("mode"), keys=tuple(obs.get("keys") or ()),
                        image_size=_optional_int(obs.get("image_size")), vec_key=obs.get("vec_key"),
                        vec_dim=_optional_int(obs.get("vec_dim"))),
            action=ActionSpec(dim=_optional_int(act.get("dim")),
                              names=None if names is None else tuple(names),
                              range=None if rng is None else tuple(float(x) for x in rng)),
            format=doc.get("format"), arch=doc.get("arch"),
            config=_mapping(doc.get("config")), provenance=_mapping(doc.get("provenance")),
        )

    @classmethod
    def load(cls, directory: str | Path) -> PolicyMetadata:
        """The metadata of the export in `directory` (FileNotFoundError when it is not an export,
        ValueError for another format)."""
        directory = Path(directory)
        meta_path, weights_path = directory / META_FILE, directory / WEIGHTS_FILE
        if not meta_path.is_file() or not weights_path.is_file():
            raise FileNotFoundError(f"{directory} is not a policy export (needs {META_FILE} and {WEIGHTS_FILE})")
        meta = cls.from_dict(json.loads(meta_path.read_text()))
        if meta.format not in EXPORT_FORMATS:
            raise ValueError(f"{meta_path}: format {meta.format!r}, expected {EXPORT_FORMAT!r}")
        return meta

    @property
    def algo(self) -> str:
        """The training algorithm that made the policy ("unknown" when not recorded)."""
        return str(self.provenance.get("algo", "unknown"))

    def summary(self) -> str:
        """A one-line JSON summary (for logs and bag policy_params)."""
        return json.dumps({"obs": list(self.obs.keys) if self.obs.keys else None, "image_size": self.obs.image_size,
                           "action_dim": self.action.dim, "algo": self.provenance.get("algo"),
                           "step": self.provenance.get("step")})


def as_metadata(meta: PolicyMetadata | Mapping[str, Any]) -> PolicyMetadata:
    """`meta` parsed, if it is still the JSON document."""
    return meta if isinstance(meta, PolicyMetadata) else PolicyMetadata.from_dict(meta)


def check_policy_metadata(
    meta: PolicyMetadata | Mapping[str, Any],
    *,
    image_size: int,
    state_dim: int = STATE_DIM,
    action_names: tuple[str, ...] = ACTION_NAMES,
) -> list[str]:
    """Every disagreement between a policy's metadata and the node's settings ([] = compatible)."""
    m = as_metadata(meta)
    obs, act = m.obs, m.action
    problems: list[str] = []
    keys = list(obs.keys)
    if not keys:
        problems.append("metadata has no obs.keys: not a policy export from cog_core (re-export with `cogrl export`)")
    vec_keys = [k for k in keys if k != "image"]
    if ("image" in keys) != (obs.image_size is not None) or vec_keys != ([obs.vec_key] if obs.vec_key else []):
        problems.append(
            f"metadata contradicts itself: obs.keys {keys} with image_size {obs.image_size} and vec_key {obs.vec_key!r} "
            "(a damaged or edited policy.json; re-export with `cogrl export`)"
        )
    if "image" in keys:
        want = obs.image_size
        if want != image_size:
            problems.append(
                f"model expects {want}x{want} images but the node feeds {image_size}x{image_size} "
                f"(set the node's image_size parameter to {want}, or use a model trained at {image_size})"
            )
    if vec_keys:
        if vec_keys != ["state"]:
            problems.append(
                f"model observes {vec_keys}; the robot provides only 'state' (privileged sim 'lowdim' "
                "observations are not available on a robot)"
            )
        elif obs.vec_dim != state_dim:
            problems.append(f"model expects a state vector of {obs.vec_dim} values; the robot reports {state_dim}")
    if act.dim != ACTION_DIM:
        problems.append(f"model outputs {act.dim}-D actions; the arm takes {ACTION_DIM}-D actions {list(ACTION_NAMES)}")
    elif act.names is not None and act.names != tuple(action_names):
        problems.append(f"model action names {list(act.names)} differ from the arm's {list(action_names)}")
    if act.range is not None and list(act.range) != [-1.0, 1.0]:
        problems.append(f"model action range {list(act.range)} is not the normalised [-1, 1] that cog_core.robot.action scales")
    return problems


def require_compatible(meta: PolicyMetadata | Mapping[str, Any], **settings: Any) -> None:
    """Raise `PolicyMetadataError` listing every mismatch found by `check_policy_metadata`."""
    problems = check_policy_metadata(meta, **settings)
    if problems:
        raise PolicyMetadataError("refusing to run this model: " + "; ".join(problems))


def metadata_summary(meta: PolicyMetadata | Mapping[str, Any]) -> str:
    """A one-line JSON summary of a policy's metadata (for logs and bag policy_params)."""
    return as_metadata(meta).summary()
