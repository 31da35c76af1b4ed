"""SimStation: the camera topic's model matches its render; joint states; hide/place the object."""

import numpy as np

from cog_core.robot.kinematics import JOINT_NAMES
from cog_core.stations.sim import SimStation


def test_camera_model_projects_the_object_onto_its_pixels():
    st = SimStation("pick_place/object_on_table", camera_width=160, camera_height=120)
    try:
        st.reset(None, seed=1)
        with_obj = st.camera_image().astype(int)
        where = st.hide_object()
        without = st.camera_image().astype(int)
        assert with_obj.shape == (120, 160, 3)
        diff = np.abs(with_obj - without).sum(axis=2) > 30
        ys, xs = np.nonzero(diff)
        px, depth = st.camera_model().project([where])
        assert depth[0] > 0
        assert abs(xs.mean() - px[0, 0]) < 3 and abs(ys.mean() - px[0, 1]) < 3
        st.place_object(where)
        assert np.allclose(st.env.object_pos(), where)
        names, q = st.joint_state()
        assert names[:6] == list(JOINT_NAMES) and q.shape == (8,)
    finally:
        st.close()


def test_sim_time_advances_one_control_period_per_step_and_not_otherwise():
    from cog_core.sim.env import CONTROL_HZ

    st = SimStation("drawer/open", camera_width=64, camera_height=48)
    try:
        assert st.sim_time() == 0.0
        st.camera_image()  # rendering, resets and wall time do not move the sim's clock
        st.reset(None, seed=0)
        assert st.sim_time() == 0.0
        for _ in range(3):
            st.step(np.zeros(8))
        assert st.sim_time() == 3 / CONTROL_HZ
        st.reset("drawer/closed", seed=1)
        st.step(np.zeros(8))
        assert st.sim_time() == 4 / CONTROL_HZ  # across episodes and scenes
    finally:
        st.close()
