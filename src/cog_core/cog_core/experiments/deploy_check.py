"""Run an exported policy the way the policy node runs it on the sim backend, without ROS.

`cog_policy`'s node (``ros2 launch cog_policy run.launch.py backend:=sim``) loads the export with
`PolicyRuntime`, refuses a model whose metadata does not match the setup, renders the sim's own
camera at the camera-topic size, centre-crops and resizes each frame to the model's input
(`square_resize`), and lets `PolicyLoop` decide each tick on the sim's clock, logging the episode
to rosbag2. `run_policy_loop` does the same steps in one process, so the demo (and a user) can
check that what training produced is what the node will accept and run.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass
class LoopEpisode:
    """One episode run through `PolicyLoop`: how it ended, and where it was logged."""

    condition: str
    seed: int
    success: bool
    steps: int
    status: str  # PolicyLoop's final status, e.g. "finished" after max_episode_steps
    bag: str | None  # the rosbag2 directory of the episode (None when not logged)

    def as_dict(self) -> dict:
        """A JSON-able copy."""
        return asdict(self)


def run_policy_loop(export_dir: str | Path, condition: str, seed: int, *, bag_dir: str | Path | None = None,
                    max_episode_steps: int | None = None, camera_size: tuple[int, int] = (320, 240)) -> LoopEpisode:
    """Run one episode of the export in `export_dir` on the sim through `PolicyLoop`, fed by the sim
    camera's frames resized as the node resizes them; `max_episode_steps` defaults to the
    condition's episode length. PolicyMetadataError when the export does not match the setup."""
    from cog_core.bag import BagRecorder
    from cog_core.rl.runtime import PolicyRuntime
    from cog_core.sim import get_condition
    from cog_core.stations.policy_loop import LoopSettings, PolicyLoop
    from cog_core.stations.policy_meta import PolicyMetadata, require_compatible
    from cog_core.stations.sim import SimStation
    from cog_core.vision.imagemsg import square_resize

    runtime = PolicyRuntime.load(Path(export_dir))
    meta = PolicyMetadata.from_dict(runtime.meta)
    image_size = runtime.image_size or 48
    require_compatible(meta, image_size=image_size)  # the node's check, before the arm moves
    steps = max_episode_steps or get_condition(condition).max_episode_steps
    settings = LoopSettings(image_size=image_size, max_episode_steps=steps, task="policy", initial_condition=condition)
    station = SimStation(condition, image_size=image_size, camera_width=camera_size[0], camera_height=camera_size[1])
    recorder = None
    if bag_dir is not None:
        recorder = BagRecorder(Path(bag_dir).resolve(), custom_data={"cog.role": "policy", "cog.backend": "sim",
                                                                     "cog.source": "cog_core.experiments.deploy_check",
                                                                     "cog.model": str(export_dir)})
    loop = PolicyLoop(runtime.act, station, settings, recorder=recorder, policy_name=f"policy:{meta.algo}",
                      policy_params={"model": str(export_dir), "meta": meta.summary()}, obs_keys=tuple(runtime.keys))
    try:
        loop.on_image(square_resize(station.camera_image(), image_size), station.sim_time())
        started, message = loop.start(station.sim_time(), seed=seed)
        if not started:
            raise RuntimeError(f"PolicyLoop did not start: {message}")
        while loop.running:
            loop.on_image(square_resize(station.camera_image(), image_size), station.sim_time())
            loop.tick(station.sim_time())
        success = bool(station.info().get("success", False))
        return LoopEpisode(condition, seed, success, loop.steps, loop.status, str(bag_dir) if bag_dir is not None else None)
    finally:
        loop.close()
        if recorder is not None:
            recorder.close()
        station.close()
