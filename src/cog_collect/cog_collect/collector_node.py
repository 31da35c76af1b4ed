"""collector_node: scripted behaviours on an arm backend, every step logged to rosbag2.

A thin shell over `cog_core`: `cog_core.stations.scripted_runner.ScriptedRunner` runs the behaviours
(the same presets and policies as `cogrl collect`), `cog_core.bag.BagRecorder` writes the bag
(cog_msgs/Step + EpisodeSummary, MCAP or sqlite3, metadata v8), the station comes from the
backend factory. One control step per timer tick at ``rate_hz``.

Topics out: ``/cog/step`` (cog_msgs/Step) and ``/cog/episode`` (cog_msgs/EpisodeSummary): every
message the bag gets, as it is written (the same bytes), so ``ros2 bag record /cog/step
/cog/episode`` makes a bag `cogrl convert` reads; ``/cog/observation`` (sensor_msgs/Image, the
logged observation), ``~/status`` (std_msgs/String JSON, latched). Deprecated, removed in the next
release: ``/cog/step_info`` and ``/cog/episode_info`` (std_msgs/String JSON; the episode JSON was
on ``/cog/episode`` before that topic became typed).
With ``backend:=sim`` also the camera topics and ``joint_states`` (see `backends.SimPublisher`).
Services: ``~/start``, ``~/stop`` (std_srvs/Trigger).
``object_source:=localizer`` makes the behaviours use the localizer's ``/cog/object`` instead of
the sim's ground truth (the real-robot path, exercised in the sim; robot backends always take it).
Each episode then waits, after the reset has parked the arm at its start pose, for an estimate
from a frame of its own scene, and the behaviour acts on that estimate for the whole episode
(``hold_object_estimate``): once the gripper hovers over the object the arm hides it from the
camera. Stop aborts the episode in progress
(readers skip it) and pauses; start resumes. The bag is closed cleanly when all episodes are
done and on shutdown (SIGINT/SIGTERM: the episode in progress is aborted, the bag gets its
footer and summary, then the arm is put to sleep; exit status 0).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from rclpy.node import Node
from std_srvs.srv import Trigger

from cog_collect import ros_io
from cog_collect.backends import BackendParams, SimPublisher, declare_backend_params, make_station, missing_inputs


class CollectorNode(Node):
    """Runs `episodes` scripted episodes of `preset` and records them under `bag_dir`."""

    def __init__(self, **kwargs) -> None:
        super().__init__("collector", **kwargs)
        from cog_core.bag import BagRecorder
        from cog_core.bag.recorder import default_run_id
        from cog_core.stations.scripted_runner import RunnerConfig, ScriptedRunner
        from cog_core.scripted.policies import DEFAULT_PROFILE, PRIOR_PROFILES
        from cog_core.scripted.presets import get_preset

        p = ros_io.param
        preset = p(self, "preset", "drawer-prior", "collection preset (cogrl collect --help lists them)")
        get_preset(preset)  # clear error for a bad name before anything starts
        profile = p(self, "prior_profile", DEFAULT_PROFILE, f"scripted behaviours' settings: {' | '.join(PRIOR_PROFILES)}")
        if profile not in PRIOR_PROFILES:
            raise ValueError(f"unknown prior_profile {profile!r}; valid: {', '.join(PRIOR_PROFILES)}")
        cfg = RunnerConfig(
            prior_profile=profile,
            preset=preset,
            episodes=p(self, "episodes", 10, "number of episodes to record"),
            seed=p(self, "seed", 0, "seed of the behaviour/condition draws and the noise"),
            noise_std=p(self, "noise_std", PRIOR_PROFILES[profile].noise_std, "scripted action noise (default: the profile's)"),
            max_steps=p(self, "max_steps", 60, "cap on one episode's length"),
            hold_object_estimate=p(self, "hold_object_estimate", True,
                                   "localizer: act on the estimate taken as the episode begins, not newer ones"),
        )
        self.rate_hz = float(p(self, "rate_hz", 20.0, "control steps per second"))
        for name, value, ok, form in (("episodes", cfg.episodes, cfg.episodes >= 1, "a whole number >= 1"),
                                      ("max_steps", cfg.max_steps, cfg.max_steps >= 1, "a whole number >= 1"),
                                      ("seed", cfg.seed, cfg.seed >= 0, "a whole number >= 0"),
                                      ("noise_std", cfg.noise_std, cfg.noise_std >= 0, "a number >= 0"),
                                      ("rate_hz", self.rate_hz, self.rate_hz > 0, "a number > 0")):
            if not ok:
                raise ValueError(f"parameter {name} must be {form}, got {value}")
        run_id = default_run_id()
        bag_dir = p(self, "bag_dir", "auto", "output directory (new or empty); 'auto' = ./cog_bags/collect_<run id>")
        storage = p(self, "storage", "mcap", "rosbag2 storage: mcap | sqlite3")
        self.autostart = bool(p(self, "autostart", True, "start collecting without a ~/start call"))
        first = get_preset(preset).mix[0].condition
        bp = declare_backend_params(self, BackendParams(condition=first))
        self.station = make_station(self, bp)
        self.sim_publisher = SimPublisher(self, self.station, bp) if (bp.publish_camera and hasattr(self.station, "camera_image")) else None
        auto = bag_dir in ("", "auto")
        self.bag_dir = Path(os.path.join("cog_bags", f"collect_{run_id}") if auto else bag_dir).expanduser().resolve()
        self.record_publishers, on_message = ros_io.recorder_topics(self)
        self.recorder = BagRecorder(self.bag_dir, storage=storage, run_id=run_id, on_message=on_message,
                                    custom_data={"cog.preset": preset, "cog.role": get_preset(preset).role,
                                                 "cog.backend": bp.backend, "cog.source": "cog_collect/collector_node"})
        self.object_source = p(self, "object_source", "sim",
                               "where behaviours get the object position: sim (ground truth) | localizer (/cog/object)")
        if self.object_source not in ("sim", "localizer"):
            raise ValueError(f"object_source must be 'sim' or 'localizer', got {self.object_source!r}")
        if bp.backend != "sim" and self.object_source == "sim":
            self.get_logger().info(f"backend {bp.backend} has no ground truth: the behaviours use the localizer's "
                                   "/cog/object (object_source:=localizer)")
            self.object_source = "localizer"
        self.object_pos = None
        self.reset_time = None
        if self.object_source == "localizer":
            from geometry_msgs.msg import PointStamped

            self.create_subscription(PointStamped, "/cog/object", self._on_object, 10)
        self.runner = ScriptedRunner(self.station, self.recorder, cfg,
                                     object_position=(lambda: self.object_pos) if self.object_source == "localizer" else None)
        self.running = self.autostart
        self.closed = False
        self.pub_obs = self.create_publisher(ros_io.Image, "/cog/observation", ros_io.SENSOR)
        # deprecated JSON mirrors of /cog/step and /cog/episode (kept for one release)
        self.pub_step_json = self.create_publisher(ros_io.String, "/cog/step_info", 10)
        self.pub_episode_json = self.create_publisher(ros_io.String, "/cog/episode_info", 10)
        self.pub_status = self.create_publisher(ros_io.String, "~/status", ros_io.LATCHED)
        self.create_service(Trigger, "~/start", self._on_start)
        self.create_service(Trigger, "~/stop", self._on_stop)
        self.timer = self.create_timer(1.0 / self.rate_hz, self._tick)
        self._status("running" if self.running else "idle")
        self.get_logger().info(
            f"collecting {cfg.episodes} episode(s) of {preset} on backend {bp.backend} at {self.rate_hz:g} Hz into {self.bag_dir}"
        )

    def _on_object(self, msg) -> None:
        import numpy as np
        from rclpy.time import Time

        if self.reset_time is not None and Time.from_msg(msg.header.stamp) < self.reset_time:
            return  # from a frame of the previous scene
        self.object_pos = np.array([msg.point.x, msg.point.y, msg.point.z])

    # -- services ---------------------------------------------------------------------------
    def _on_start(self, request, response):
        if self.closed:
            response.success, response.message = False, f"collection finished; bag closed at {self.bag_dir}"
        elif self.running:
            response.success, response.message = False, "already running"
        else:
            self.running = True
            response.success, response.message = True, f"collecting; {self.runner.remaining} episode(s) left"
            self._status("running")
        return response

    def _on_stop(self, request, response):
        aborted = self.runner.abort("stopped by ~/stop")
        if aborted is not None:
            self.pub_episode_json.publish(ros_io.json_msg(aborted.as_dict()))
        was = self.running
        self.running = False
        self._status("idle")
        response.success = True
        response.message = ("stopped" if was else "was not running") + (
            f"; aborted episode {aborted.episode_id}" if aborted else "")
        return response

    # -- the loop ---------------------------------------------------------------------------
    def _status(self, text: str) -> None:
        self.status = text
        ros_io.publish_if_valid(self, self.pub_status, ros_io.json_msg({
            "status": text, "episodes_done": sum(e.status == "complete" for e in self.runner.finished),
            "episodes_total": self.runner.config.episodes, "bag_dir": str(self.bag_dir)}))

    def _tick(self) -> None:
        if not self.running or self.closed:
            return
        try:
            if not self.runner.in_episode:
                if self.runner.remaining == 0:
                    self.finish()
                    return
                missing = missing_inputs(self.station)
                if missing:
                    self.get_logger().warning(f"waiting for {missing} before the next episode", throttle_duration_sec=5.0)
                    return
                if self.object_source == "localizer":
                    if not self.runner.prepared:  # new scene: wait for an estimate from a frame of it
                        self.runner.prepare()
                        self.object_pos, self.reset_time = None, self.get_clock().now()
                        return
                    if self.object_pos is None:
                        self.get_logger().warning("waiting for /cog/object from the localizer (capture its background first)",
                                                  throttle_duration_sec=5.0)
                        return
                self.runner.begin()
            report, done = self.runner.step()
            stamp = self.get_clock().now().to_msg()
            self.pub_obs.publish(ros_io.image_msg(self, report.image, "observation", stamp))
            self.pub_step_json.publish(ros_io.json_msg({
                "episode_id": report.episode_id, "step_index": report.step_index,
                "action": report.action, "reward": report.reward, "state": report.state}))
            if done:
                ep = self.runner.finish()
                self.pub_episode_json.publish(ros_io.json_msg(ep.as_dict()))
                self.get_logger().info(
                    f"episode {ep.index + 1}/{self.runner.config.episodes} {ep.behaviour} @ {ep.condition}: "
                    f"{ep.steps} steps, behaviour success {ep.behaviour_success}, task success {ep.success}")
                if self.runner.remaining == 0:
                    self.finish()
        except Exception as err:  # never leave a half-written episode behind
            self.get_logger().error(f"collection failed: {err!r}; aborting the episode and closing the bag")
            self.runner.abort(f"error: {err!r}")
            self.finish(status="failed")
            raise

    def finish(self, status: str = "finished") -> None:
        """Close the bag (aborting any open episode); idempotent."""
        if self.closed:
            return
        self.runner.abort("shutdown")
        self.recorder.close()
        self.closed = True
        self.running = False
        self._status(status)
        self.get_logger().info(
            f"{status}: {self.recorder.episodes_written} episode(s), {self.recorder.steps_written} step(s) in {self.bag_dir}")

    def destroy_node(self) -> None:
        """Close the bag cleanly, then the station (a robot arm goes to sleep), then the node."""
        self.finish(status="shutdown" if self.runner.remaining else "finished")
        ros_io.flush(self.record_publishers.values())
        self.station.close()
        super().destroy_node()


def main(argv: list[str] | None = None) -> int:
    """`ros2 run cog_collect collector_node` entry point; exits once every episode is recorded."""
    return ros_io.run_node(CollectorNode, argv, until=lambda node: node.closed)


if __name__ == "__main__":
    sys.exit(main())
