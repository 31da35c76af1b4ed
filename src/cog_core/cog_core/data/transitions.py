"""The in-memory transition arrays that every trainer samples from."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Transitions:
    """Flat (s, a, r, s', done) arrays, one row per transition.

    `obs` / `next_obs` map observation keys to arrays with the transition axis first:
    ``"image"``: uint8 (N, H, W, 3); ``"state"``: float32 (N, STATE_DIM); optionally
    ``"lowdim"``: float32 (N, D) privileged poses (sim only, for fast science runs).
    `is_task` marks rows from the task dataset (True) versus the prior dataset (False);
    `episode` holds a dataset-wide episode index per row (for BC-oracle style filters).
    """

    obs: dict[str, np.ndarray]
    next_obs: dict[str, np.ndarray]
    actions: np.ndarray  # float32 (N, 8), in [-1, 1]
    rewards: np.ndarray  # float32 (N,)
    dones: np.ndarray  # float32 (N,), 1.0 only on true terminal states (COG has none)
    is_task: np.ndarray  # bool (N,)
    episode: np.ndarray  # int64 (N,)
    meta: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.actions.shape[0])

    def validate(self) -> None:
        """Raise ValueError naming the first array whose shape or dtype is inconsistent."""
        n = len(self)
        for name, arr in [("rewards", self.rewards), ("dones", self.dones), ("is_task", self.is_task), ("episode", self.episode)]:
            if arr.shape != (n,):
                raise ValueError(f"Transitions.{name} has shape {arr.shape}, expected ({n},)")
        if self.actions.ndim != 2:
            raise ValueError(f"Transitions.actions must be 2-D, got shape {self.actions.shape}")
        if set(self.obs) != set(self.next_obs):
            raise ValueError(f"obs keys {sorted(self.obs)} differ from next_obs keys {sorted(self.next_obs)}")
        for key in self.obs:
            for which, d in (("obs", self.obs), ("next_obs", self.next_obs)):
                if d[key].shape[0] != n:
                    raise ValueError(f"Transitions.{which}[{key!r}] has {d[key].shape[0]} rows, expected {n}")
        if "image" in self.obs and self.obs["image"].dtype != np.uint8:
            raise ValueError(f"images must be uint8, got {self.obs['image'].dtype}")
        if not np.all(np.isfinite(self.actions)):
            raise ValueError("Transitions.actions contains NaN or inf")

    @staticmethod
    def concatenate(parts: list[Transitions]) -> Transitions:
        """Join several transition sets (e.g. prior + task) into one; episode ids stay unique."""
        if not parts:
            raise ValueError("nothing to concatenate")
        keys = set(parts[0].obs)
        for p in parts[1:]:
            if set(p.obs) != keys:
                raise ValueError(f"observation keys differ: {sorted(keys)} vs {sorted(p.obs)}")
        offset = 0
        episodes = []
        for p in parts:
            episodes.append(p.episode + offset)
            offset += int(p.episode.max()) + 1 if len(p) else 0
        return Transitions(
            obs={k: np.concatenate([p.obs[k] for p in parts]) for k in keys},
            next_obs={k: np.concatenate([p.next_obs[k] for p in parts]) for k in keys},
            actions=np.concatenate([p.actions for p in parts]),
            rewards=np.concatenate([p.rewards for p in parts]),
            dones=np.concatenate([p.dones for p in parts]),
            is_task=np.concatenate([p.is_task for p in parts]),
            episode=np.concatenate(episodes),
            meta={"parts": [p.meta for p in parts]},
        )
