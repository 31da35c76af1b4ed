"""Synthetic but realistic episodes, for tests and benchmarks of the bag and data layers.

Images are random uint8 noise with a moving square (so frames differ), states and lowdim
drift smoothly, actions are noisy values in [-1, 1] with gripper/neutral flags, and task
episodes get a sparse 0/1 reward at the end when successful. Everything is a pure function
of (seed, episode index), so a test can regenerate exactly what was written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cog_core.bag.recorder import BagRecorder
from cog_core.robot.action import ACTION_DIM, STATE_DIM

POLICIES = ("grasp", "pick_place", "drawer_open", "drawer_close")
CONDITIONS = ("drawer/open", "drawer/closed", "drawer/blocked_by_object")


@dataclass
class SyntheticEpisode:
    """Everything one synthetic episode logs (T actions, T+1 observations)."""

    task: str
    initial_condition: str
    policy: str
    policy_params: dict
    seed: int
    images: np.ndarray  # (T+1, H, W, 3) uint8
    states: np.ndarray  # (T+1, STATE_DIM) float32
    lowdim: np.ndarray  # (T+1, D) float32
    actions: np.ndarray  # (T, 8) float32
    rewards: np.ndarray  # (T,) float32
    success: bool


def make_episode(seed: int, index: int, *, length: int = 20, image_size: int = 48, lowdim_dim: int = 6, task: str = "drawer") -> SyntheticEpisode:
    """Episode `index` of the synthetic stream `seed`."""
    rng = np.random.default_rng([seed, index])
    T = int(length)
    images = rng.integers(0, 256, size=(T + 1, image_size, image_size, 3), dtype=np.uint8)
    for t in range(T + 1):  # a bright square that moves, like an arm would
        y = (t * 3) % max(image_size - 8, 1)
        images[t, y : y + 8, y : y + 8] = 255
    states = np.cumsum(rng.normal(0, 0.01, size=(T + 1, STATE_DIM)), axis=0).astype(np.float32)
    lowdim = np.cumsum(rng.normal(0, 0.01, size=(T + 1, lowdim_dim)), axis=0).astype(np.float32)
    actions = np.clip(rng.normal(0, 0.4, size=(T, ACTION_DIM)), -1, 1).astype(np.float32)
    actions[:, 6] = rng.choice([-1.0, 0.0, 1.0], size=T)
    actions[:, 7] = 0.0
    if T:
        actions[-1, 7] = 1.0  # every behaviour ends with move-to-neutral
    success = bool(rng.random() < 0.5)
    rewards = np.zeros(T, dtype=np.float32)
    if success and T:
        rewards[-max(1, T // 5):] = 1.0
    return SyntheticEpisode(
        task=task,
        initial_condition=CONDITIONS[index % len(CONDITIONS)],
        policy=POLICIES[index % len(POLICIES)],
        policy_params={"noise_std": 0.1, "threshold": float(np.round(rng.normal(0.04, 0.01), 4))},
        seed=int(seed * 100000 + index),
        images=images,
        states=states,
        lowdim=lowdim,
        actions=actions,
        rewards=rewards,
        success=success,
    )


def record_episode(rec: BagRecorder, ep: SyntheticEpisode) -> str:
    """Log one synthetic episode through the recorder API (as the collector does)."""
    eid = rec.begin_episode(ep.task, ep.initial_condition, ep.policy, policy_params=ep.policy_params, seed=ep.seed)
    for t in range(len(ep.actions)):
        rec.add_step(ep.images[t], ep.states[t], ep.actions[t], float(ep.rewards[t]), lowdim=ep.lowdim[t])
    rec.end_episode(ep.images[-1], ep.states[-1], final_lowdim=ep.lowdim[-1], success=ep.success, info={"synthetic": True})
    return eid


def write_synthetic_run(out_dir: str | Path, n_episodes: int, *, seed: int = 0, length: int = 20, image_size: int = 48, storage: str = "mcap", split_size_bytes: int = 512 * 2**20, worker: int = 0, run_id: str | None = None, task: str = "drawer") -> list[SyntheticEpisode]:
    """Record `n_episodes` synthetic episodes into a new run directory; returns them."""
    episodes = []
    with BagRecorder(out_dir, storage=storage, split_size_bytes=split_size_bytes, worker=worker, run_id=run_id) as rec:
        for i in range(n_episodes):
            ep = make_episode(seed, i, length=length, image_size=image_size, task=task)
            record_episode(rec, ep)
            episodes.append(ep)
    return episodes


def write_raw_bag(path: str | Path, steps: list[dict], *, storage: str = "mcap", summaries: Sequence[dict] = (), foreign_topics: bool = False) -> Path:
    """Write arbitrary (possibly invalid) Step/EpisodeSummary records straight to a bag.

    Each dict in `steps` overrides the fields of a default Step (episode "e", step 0, 48x48
    black image, zero state/action); `image` may give a numpy array. For tests of how
    readers treat bad input that BagRecorder itself refuses to write.
    """
    from rosbags.rosbag2 import Writer

    from cog_core.bag import schema
    from cog_core.bag.recorder import STORAGES

    store = schema.typestore()
    Step = store.types[schema.STEP_TYPE]
    Summary = store.types[schema.SUMMARY_TYPE]
    path = Path(path)
    with Writer(path, version=8, storage_plugin=STORAGES[storage]) as w:
        c_step = w.add_connection(schema.STEP_TOPIC, schema.STEP_TYPE, typestore=store)
        c_sum = w.add_connection(schema.SUMMARY_TOPIC, schema.SUMMARY_TYPE, typestore=store)
        c_foreign = w.add_connection("/chatter", "std_msgs/msg/String", typestore=store) if foreign_topics else None
        ts = 1_000_000_000
        for spec in steps:
            spec = dict(spec)
            image = spec.pop("image", np.zeros((48, 48, 3), np.uint8))
            fields = dict(
                header=schema.header(store, ts), episode_id="e", step_index=0,
                observation=schema.image_to_msg(store, image, ts),
                state=np.zeros(STATE_DIM, np.float32), lowdim=np.zeros(0, np.float32),
                action=np.zeros(ACTION_DIM, np.float32), reward=0.0, is_first=False, is_last=False,
                is_terminal=False, task="drawer", initial_condition="drawer/open", policy="grasp",
            )
            fields.update(spec)
            for key in ("state", "lowdim", "action"):
                fields[key] = np.asarray(fields[key], np.float32)
            w.write(c_step, ts, store.serialize_cdr(Step(**fields), schema.STEP_TYPE))
            ts += 1000
            if c_foreign is not None:
                w.write(c_foreign, ts, store.serialize_cdr(store.types["std_msgs/msg/String"](data="hi"), "std_msgs/msg/String"))
                ts += 1000
        for spec in summaries:
            fields = dict(header=schema.header(store, ts), episode_id="e", task="drawer", initial_condition="drawer/open",
                          policy="grasp", policy_params_json="{}", seed=0, status="complete", success=False, length=0,
                          episode_return=0.0, info_json="{}")
            fields.update(spec)
            w.write(c_sum, ts, store.serialize_cdr(Summary(**fields), schema.SUMMARY_TYPE))
            ts += 1000
    return path


def raw_episode_steps(episode_id: str, length: int, **overrides_at: dict) -> list[dict]:
    """Valid Step dicts for an episode of `length` actions (for write_raw_bag)."""
    steps = []
    for t in range(length + 1):
        steps.append(dict(episode_id=episode_id, step_index=t, is_first=t == 0, is_last=t == length,
                          action=np.full(ACTION_DIM, 0.1 if t < length else 0.0, np.float32)))
    return steps
