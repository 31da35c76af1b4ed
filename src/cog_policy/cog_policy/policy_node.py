"""policy_node: an exported COG policy driving the arm at a fixed rate, with safety.

A thin shell over `cog_core`: `cog_core.rl.runtime.PolicyRuntime` computes actions,
`cog_core.stations.policy_meta` checks the model against the setup, `cog_core.stations.policy_loop`
decides whether an action may be sent (image watchdog, maximum episode length) and logs the
policy's episodes to rosbag2, the arm backend applies it with
the per-step limits and workspace box of `cog_core.robot.action`.

Parameters: ``model`` (export directory with policy.json + policy.pt), ``rate_hz``,
``image_topic``, ``image_size``, ``image_timeout_s``, ``max_episode_steps``, ``autostart``,
``inference_threads`` (torch threads, 1),
``bag_dir`` ('auto' or a path; 'none' = do not log), ``storage``, ``task``, plus the backend parameters
(``backend``, ``robot_model``, ``condition``, camera settings for the sim).
Topics: subscribes ``image_topic`` (sensor_msgs/Image); publishes ``~/action``
(std_msgs/Float32MultiArray, every action sent to the arm), ``~/status`` (std_msgs/String
JSON, latched) and, as they are logged, its episodes' ``/cog/step`` (cog_msgs/Step) and
``/cog/episode`` (cog_msgs/EpisodeSummary) -- the bytes its bag gets (none with bag_dir:=none).
Services: ``~/start``, ``~/stop`` (std_srvs/Trigger).

Image watchdog: with a camera topic from outside the node (a real camera, Gazebo, any
``publish_camera:=false`` setup) the newest image may be at most ``image_timeout_s`` old on
the wall clock. With the sim's own camera (``backend:=sim``, ``publish_camera:=true``) its age
is measured in sim time: the sim stands still between control steps, so a host that is slow
to render or to infer does not age the scene, but a camera that stops publishing still stops the
arm after ``image_timeout_s`` of simulated motion.

Refuses to start (one line naming each problem, exit status 2) when the model's metadata
disagrees with the node's image size, the robot's state layout or the action convention.
"""

from __future__ import annotations

import sys
from collections import deque
from pathlib import Path

from rclpy.node import Node
from std_srvs.srv import Trigger

from cog_collect import ros_io
from cog_collect.backends import BackendParams, SimPublisher, declare_backend_params, make_station, missing_inputs


class PolicyNode(Node):
    """Loads a policy, checks it against the setup, and runs it on the arm backend."""

    def __init__(self, **kwargs) -> None:
        super().__init__("policy", **kwargs)
        from cog_core.bag import BagRecorder
        from cog_core.rl.runtime import PolicyRuntime
        from cog_core.stations.policy_loop import LoopSettings, PolicyLoop
        from cog_core.stations.policy_meta import PolicyMetadata, require_compatible

        p = ros_io.param
        model = p(self, "model", "", "policy export directory (policy.json + policy.pt from `cogrl export`)")
        if not model:
            raise ValueError("parameter 'model' is required: the directory written by `cogrl export` (model:=/path/to/export)")
        settings = LoopSettings(
            rate_hz=float(p(self, "rate_hz", 5.0, "control rate (Hz)")),
            image_timeout_s=float(p(self, "image_timeout_s", 0.5, "stop when the newest image is older than this (s)")),
            max_episode_steps=int(p(self, "max_episode_steps", 60, "stop an episode after this many actions")),
            task=p(self, "task", "policy", "task name logged with the episodes"),
        )
        image_topic = p(self, "image_topic", "camera/image_raw", "camera image topic (sensor_msgs/Image)")
        self.autostart = bool(p(self, "autostart", False, "start an episode as soon as images arrive"))
        bag_dir = p(self, "bag_dir", "auto", "log the policy's episodes here; 'auto' = ./cog_bags/policy_<run id>, 'none' = no logging")
        storage = p(self, "storage", "mcap", "rosbag2 storage: mcap | sqlite3")
        bp: BackendParams = declare_backend_params(self)
        settings.image_size = int(bp.image_size)
        settings.initial_condition = bp.condition if bp.backend == "sim" else "real"

        threads = int(p(self, "inference_threads", 1, "torch threads for the policy's forward pass (1: short, steady steps)"))
        if threads < 1:
            raise ValueError(f"parameter inference_threads must be a whole number >= 1, got {threads}")
        import torch

        # The exported networks are small: one thread computes an action in ~2 ms, while torch's
        # default (a thread per core) measured 100-110 ms per step here with other jobs on the cores.
        torch.set_num_threads(threads)
        self.runtime = PolicyRuntime.load(Path(model).expanduser())
        meta = PolicyMetadata.from_dict(self.runtime.meta)
        require_compatible(meta, image_size=settings.image_size)  # refuse before the arm moves
        self.station = make_station(self, bp)
        self.sim_publisher = SimPublisher(self, self.station, bp) if (bp.publish_camera and hasattr(self.station, "camera_image")) else None
        # the image watchdog's clock: sim time for the sim's own camera, else the wall clock (see above)
        own_sim_camera = self.sim_publisher is not None and hasattr(self.station, "sim_time")
        self.clock = self.station.sim_time if own_sim_camera else ros_io.monotonic
        self.clock_name = "sim time" if own_sim_camera else "wall clock"
        self.recorder = None
        if bag_dir not in ("", "none"):
            from cog_core.bag.recorder import default_run_id

            run_id = default_run_id()
            out = Path("cog_bags") / f"policy_{run_id}" if bag_dir == "auto" else Path(bag_dir).expanduser()
            self.record_publishers, on_message = ros_io.recorder_topics(self)
            self.recorder = BagRecorder(out.resolve(), storage=storage, run_id=run_id, on_message=on_message,
                                        custom_data={"cog.role": "policy", "cog.backend": bp.backend,
                                                     "cog.source": "cog_policy/policy_node", "cog.model": str(model)})
        self.loop = PolicyLoop(self.runtime.act, self.station, settings, recorder=self.recorder,
                               policy_name=f"policy:{meta.algo}",
                               policy_params={"model": str(model), "meta": meta.summary()},
                               obs_keys=tuple(self.runtime.keys))
        self.settings = settings
        self.actions_sent = 0
        self.sent_times: deque[float] = deque(maxlen=200)  # monotonic times of the ticks that sent recent actions
        self.pub_action = self.create_publisher(ros_io.Float32MultiArray, "~/action", 10)
        self.pub_status = self.create_publisher(ros_io.String, "~/status", ros_io.LATCHED)
        self.create_subscription(ros_io.Image, image_topic, self._on_image, ros_io.SENSOR)
        self.create_service(Trigger, "~/start", self._on_start)
        self.create_service(Trigger, "~/stop", self._on_stop)
        self.timer = self.create_timer(1.0 / settings.rate_hz, self._tick)
        self._publish_status()
        self.get_logger().info(
            f"policy {model} ({meta.summary()}) on backend {bp.backend} at {settings.rate_hz:g} Hz; "
            f"images from {image_topic} (watchdog {settings.image_timeout_s:g} s of {self.clock_name}); "
            + ("waiting for ~/start" if not self.autostart else "autostart"))

    def _publish_status(self) -> None:
        ros_io.publish_if_valid(self, self.pub_status, ros_io.json_msg({"status": self.loop.status, "steps": self.loop.steps,
                                                 "episodes": self.loop.episodes, "actions_sent": self.actions_sent,
                                                 "rate_hz_achieved": self.achieved_rate()}))

    def achieved_rate(self) -> float | None:
        """Actions per second over the recent sends of the current run (None with fewer than 2)."""
        t = list(self.sent_times)
        return None if len(t) < 2 else (len(t) - 1) / max(t[-1] - t[0], 1e-9)

    def _on_image(self, msg) -> None:
        from cog_core.vision.imagemsg import square_resize

        try:
            frame = square_resize(ros_io.rgb_of(msg), self.settings.image_size)
        except ValueError as err:
            self.get_logger().error(f"unusable camera image: {err}", throttle_duration_sec=5.0)
            return
        self.loop.on_image(frame, self.clock())
        if self.autostart and not self.loop.running and self.loop.status == "idle":
            missing = missing_inputs(self.station)
            if missing:
                self.get_logger().warning(f"autostart: waiting for {missing}", throttle_duration_sec=5.0)
                return
            ok, message = self.loop.start(self.clock())
            self.get_logger().info(f"autostart: {message}")
            self._publish_status()

    def _on_start(self, request, response):
        missing = missing_inputs(self.station)
        if missing and not self.loop.running:
            response.success, response.message = False, f"not starting: waiting for {missing}"
            return response
        response.success, response.message = self.loop.start(self.clock())
        if response.success:
            self.sent_times.clear()
        self._publish_status()
        return response

    def _on_stop(self, request, response):
        response.success, response.message = self.loop.stop("stop requested")
        self._publish_status()
        return response

    def _tick(self) -> None:
        before = self.loop.status
        sent_at = ros_io.monotonic()
        result = self.loop.tick(self.clock())
        if result.action is not None:
            self.sent_times.append(sent_at)  # the tick that decided and sent it (wall clock)
            self.pub_action.publish(ros_io.floats_msg(result.action))
            self.actions_sent += 1
        if result.events:
            self.get_logger().warning(f"{', '.join(result.events)}: {result.status}")
        if result.status != before or result.action is not None and self.actions_sent % 10 == 0:
            self._publish_status()

    def destroy_node(self) -> None:
        """Stop commanding, close the episode and the bag, then release the backend (a robot arm goes to sleep)."""
        self.loop.close()
        if self.recorder is not None:
            self.recorder.close()
            ros_io.flush(self.record_publishers.values())
        self.station.close()
        super().destroy_node()


def main(argv: list[str] | None = None) -> int:
    """`ros2 run cog_policy policy_node` entry point."""
    return ros_io.run_node(PolicyNode, argv)


if __name__ == "__main__":
    sys.exit(main())
