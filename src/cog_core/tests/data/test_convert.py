"""`cogrl convert`: bags -> HDF5, exact, relabelled by role, filtered, merged, atomic, robust."""

from __future__ import annotations

import json
import subprocess

import h5py
import numpy as np
import pytest

from cog_core.bag.synthetic import raw_episode_steps, write_raw_bag, write_synthetic_run
from cog_core.cli import main
from cog_core.data.convert import ConvertOptions, convert_bags


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    truth0 = write_synthetic_run(root / "w0", 6, seed=1, length=5, split_size_bytes=60_000, worker=0, run_id="r")
    truth1 = write_synthetic_run(root / "w1", 3, seed=2, length=4, storage="sqlite3", worker=1, run_id="r")
    return root, truth0 + truth1


def test_plain_h5py_gets_back_exactly_the_logged_data(runs, tmp_path):
    root, truth = runs
    out = tmp_path / "task.h5"
    assert main([ "convert", str(root / "w0"), str(root / "w1"), "--role", "task", "-o", str(out), "--quiet"]) == 0
    with h5py.File(out, "r") as f:
        data = f["data"]
        assert len(data) == 9 and data.attrs["total"] == sum(len(t.actions) for t in truth)
        for i, t in enumerate(truth):
            g = data[f"demo_{i}"]
            assert g["obs/image"].dtype == np.uint8
            np.testing.assert_array_equal(g["obs/image"][:], t.images[:-1])
            np.testing.assert_array_equal(g["next_obs/image"][:], t.images[1:])
            np.testing.assert_array_equal(g["actions"][:], t.actions)
            np.testing.assert_array_equal(g["rewards"][:], t.rewards)
            np.testing.assert_array_equal(g["obs/state"][:], t.states[:-1])
            np.testing.assert_array_equal(g["next_obs/lowdim"][:], t.lowdim[1:])
            assert not g["dones"][:].any()
            assert g.attrs["policy"] == t.policy and g.attrs["initial_condition"] == t.initial_condition
            assert bool(g.attrs["success"]) == t.success and g.attrs["num_samples"] == len(t.actions)
        prov = json.loads(data.attrs["cog"])
        assert prov["role"] == "task" and len(prov["source_bags"]) >= 3 and prov["counts"]["episodes"] == 9
        assert prov["content_hash"] == data.attrs["content_hash"] and len(data.attrs["content_hash"]) == 64
        assert json.loads(data.attrs["env_args"])["env_name"] == "drawer"
        succ = {n.decode() for n in f["mask/success"][:]}
        assert succ == {f"demo_{i}" for i, t in enumerate(truth) if t.success}
    assert [p.name for p in tmp_path.iterdir()] == ["task.h5"]  # no temp file left behind


def test_prior_role_zeroes_rewards_and_hash_is_deterministic(runs, tmp_path):
    root, truth = runs
    assert any(t.rewards.any() for t in truth)
    a = convert_bags([root], tmp_path / "a.h5", ConvertOptions(role="prior"))
    b = convert_bags([root], tmp_path / "b.h5", ConvertOptions(role="prior"))
    t = convert_bags([root], tmp_path / "t.h5", ConvertOptions(role="task"))
    assert a.content_hash == b.content_hash != t.content_hash
    with h5py.File(tmp_path / "a.h5") as f:
        assert f["data"].attrs["role"] == "prior"
        assert all(not f[f"data/{n}/rewards"][:].any() for n in f["data"])


def test_filters_resize_and_no_lowdim(runs, tmp_path):
    root, truth = runs
    out = tmp_path / "f.h5"
    rc = main(["convert", str(root), "--role", "task", "-o", str(out), "--quiet", "--policy", "grasp", "--policy", "drawer_*",
               "--condition", "drawer/open", "--success", "yes", "--resize", "32", "40", "--no-lowdim"])
    want = [t for t in truth if (t.policy == "grasp" or t.policy.startswith("drawer_"))
            and t.initial_condition == "drawer/open" and t.success]
    assert len(want) == 3  # grasp and drawer_close episodes from drawer/open that succeeded
    assert rc == 0
    with h5py.File(out) as f:
        assert len(f["data"]) == len(want)
        g = f["data/demo_0"]
        assert g["obs/image"].shape[1:] == (32, 40, 3) and "lowdim" not in g["obs"]


def test_bad_episodes_are_named_and_exit_nonzero_unless_skip_bad(tmp_path, capsys):
    bad = raw_episode_steps("nan-ep", 3)
    bad[1]["action"] = np.full(8, np.nan)
    write_raw_bag(tmp_path / "b", raw_episode_steps("ok-ep", 3) + bad + raw_episode_steps("cut-ep", 3)[:-1])
    out = tmp_path / "o.h5"
    assert main(["convert", str(tmp_path / "b"), "--role", "task", "-o", str(out), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "nan-ep" in err and "NaN" in err and "cut-ep" in err and "no last step" in err and str(tmp_path / "b") in err
    with h5py.File(out) as f:  # the good episode is still there
        assert list(f["data"]) == ["demo_0"] and f["data/demo_0"].attrs["episode_id"] == "ok-ep"
    assert main(["convert", str(tmp_path / "b"), "--role", "task", "-o", str(out), "--quiet", "--force", "--skip-bad"]) == 0


def test_mismatched_image_sizes_need_resize(tmp_path, capsys):
    write_synthetic_run(tmp_path / "sim", 2, length=3, image_size=48)
    write_synthetic_run(tmp_path / "real", 2, length=3, image_size=64)
    out = tmp_path / "o.h5"
    assert main(["convert", str(tmp_path / "sim"), str(tmp_path / "real"), "--role", "task", "-o", str(out), "--quiet"]) == 1
    assert "--resize" in capsys.readouterr().err
    assert main(["convert", str(tmp_path / "sim"), str(tmp_path / "real"), "--role", "task", "-o", str(out), "--quiet",
                 "--force", "--resize", "48", "48"]) == 0
    with h5py.File(out) as f:
        assert len(f["data"]) == 4


def test_user_errors_exit_2_without_traceback(tmp_path, capsys):
    write_synthetic_run(tmp_path / "run", 1, length=2)
    out = tmp_path / "o.h5"
    assert main(["convert", str(tmp_path / "missing"), "--role", "task", "-o", str(out)]) == 2
    assert "no such file" in capsys.readouterr().err
    out.write_text("keep me")
    assert main(["convert", str(tmp_path / "run"), "--role", "task", "-o", str(out)]) == 2
    assert "--force" in capsys.readouterr().err and out.read_text() == "keep me"
    assert main(["convert", str(tmp_path / "run"), "--role", "task", "-o", str(tmp_path / "x.h5"), "--policy", "nope"]) == 2
    assert "no episodes to write" in capsys.readouterr().err and not (tmp_path / "x.h5").exists()
    with pytest.raises(SystemExit):
        main(["convert", str(tmp_path / "run"), "--role", "both", "-o", str(out)])


def test_a_killed_conversions_temp_file_is_removed_a_running_ones_kept(runs, tmp_path):
    root, _ = runs
    dead = subprocess.Popen(["true"])  # its process id no longer runs once it is reaped
    dead.wait()
    alive = subprocess.Popen(["sleep", "60"])
    try:
        stale = tmp_path / f".task.h5.tmp-{dead.pid}"
        running = tmp_path / f".task.h5.tmp-{alive.pid}"
        other = tmp_path / f".other.h5.tmp-{dead.pid}"
        for p in (stale, running, other):
            p.write_bytes(b"half-written")
        convert_bags([root], tmp_path / "task.h5", ConvertOptions(role="task"))
        assert not stale.exists() and running.exists() and other.exists()
        assert (tmp_path / "task.h5").is_file()
    finally:
        alive.kill()
        alive.wait()
