"""A bag from BagRecorder decodes with the mcap + mcap-ros2-support packages alone."""

from __future__ import annotations

import numpy as np
from mcap.reader import make_reader
from mcap_ros2.decoder import DecoderFactory

from cog_core.bag import STEP_TYPE, SUMMARY_TYPE
from cog_core.bag.reader import find_bags
from cog_core.bag.synthetic import write_synthetic_run


def test_mcap_ros2_decodes_images_and_actions_exactly(tmp_path):
    truth = write_synthetic_run(tmp_path / "run", 3, seed=11, length=5, image_size=64)
    (bag,) = find_bags(tmp_path / "run")
    steps, summaries, schemas = [], [], set()
    with open(bag / f"{bag.name}.mcap", "rb") as fh:
        reader = make_reader(fh, decoder_factories=[DecoderFactory()])
        for sch, channel, _message, decoded in reader.iter_decoded_messages():
            schemas.add((sch.name, sch.encoding))
            (steps if sch.name == STEP_TYPE else summaries).append(decoded)
    assert schemas == {(STEP_TYPE, "ros2msg"), (SUMMARY_TYPE, "ros2msg")}
    assert len(steps) == 3 * 6 and len(summaries) == 3
    for i, ep in enumerate(truth):
        mine = steps[i * 6 : (i + 1) * 6]
        for t, s in enumerate(mine):
            img = np.frombuffer(bytes(s.observation.data), np.uint8).reshape(64, 64, 3)
            np.testing.assert_array_equal(img, ep.images[t])
            want = ep.actions[t] if t < 5 else np.zeros(8, np.float32)
            np.testing.assert_array_equal(np.asarray(s.action, np.float32), want)
            np.testing.assert_array_equal(np.asarray(s.state, np.float32), ep.states[t])
            assert s.step_index == t and s.is_first == (t == 0) and s.is_last == (t == 5)
            assert s.policy == ep.policy and s.initial_condition == ep.initial_condition
        assert summaries[i].success == ep.success and summaries[i].seed == ep.seed
