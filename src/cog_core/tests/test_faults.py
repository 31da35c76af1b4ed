"""Fault injection across the pipeline: the faults of issue 42, each held or refused with one clear line.

Five groups, as the issue numbers them:
1. silent corruption: bit flips in bags, datasets, checkpoints and exports; a bag given twice;
   task and prior datasets swapped; --resume on other data;
2. collectors that outlive their parent: SIGKILL, SIGTERM and SIGINT to the parent PID alone;
3. training work and logs lost: config values that only fail later, a crash soon after
   --resume, stale checkpoint temporaries, --resume flags that contradict the run;
4. a full disk (on a small tmpfs: needs root, else skipped) and truncated bags;
5. bad inputs that ended in tracebacks: one `error:` line and exit status 2 instead.

Everything runs for real: the recorder, the reader, the converter, the trainer, the `cogrl`
command (in this process, or as a subprocess where the old behaviour was a crash or a hang).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import h5py
import numpy as np
import pytest
import torch

from cog_core.bag.reader import BagReader
from cog_core.bag.synthetic import write_synthetic_run
from cog_core.cli import main
from cog_core.config import ConfigError, load_config
from cog_core.data.convert import ConvertOptions, convert_bags
from cog_core.data.dataset import DatasetError, load_transitions
from cog_core.files import process_alive
from cog_core.rl.checkpoint import CheckpointError, load_checkpoint, tree_digest
from cog_core.rl.config import TrainConfig
from cog_core.rl.data import load_train_data
from cog_core.rl.export import export_policy
from cog_core.rl.runtime import ExportError, PolicyRuntime
from cog_core.rl.trainer import Trainer

LENGTH = 10  # steps per synthetic episode
# A tiny state-observation COG run: milliseconds per update.
TINY = ["--algo", "cog", "--obs", "state", "--batch-size", "8", "--threads", "1", "--quiet", "--set", "net.state_hidden=8,8"]


def tiny_cfg(**overrides: object) -> TrainConfig:
    """TINY as a config, with `key=value` overrides."""
    sets = ["algo=cog", "obs=state", "batch_size=8", "threads=1", "net.state_hidden=[8,8]", "eval_interval=0", "ckpt_interval=0",
            *(f"{k}={v}" for k, v in overrides.items())]
    return load_config(TrainConfig, None, sets)


def one_error_line(stderr: str) -> str:
    """The single `error:` line of a failed command (and no traceback)."""
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, stderr
    return lines[0]


def cogrl(*args: object, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """`cogrl ARGS` in a subprocess (a crash there cannot take the tests down)."""
    return subprocess.run([sys.executable, "-m", "cog_core", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def flip_bit(path: Path, offset: int, bit: int = 4) -> None:
    """Flip one bit of the file at `offset`."""
    data = bytearray(path.read_bytes())
    data[offset] ^= 1 << bit
    path.write_bytes(bytes(data))


def offset_of(path: Path, needle: bytes) -> int:
    """Where `needle` starts in the file (it must be there)."""
    found = path.read_bytes().find(needle)
    assert found >= 0, f"pattern not found in {path}"
    return found


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> SimpleNamespace:
    """Synthetic bags (task, prior, another task) and their converted datasets."""
    root = tmp_path_factory.mktemp("faults")
    w = SimpleNamespace(root=root)
    for name, seed, n, role in (("task", 1, 6, "task"), ("prior", 2, 8, "prior"), ("task2", 3, 6, "task")):
        bags = root / "bags" / name
        setattr(w, f"{name}_eps", write_synthetic_run(bags, n, seed=seed, length=LENGTH, run_id=name))
        setattr(w, f"{name}_bags", bags)
        convert_bags([bags], root / f"{name}.h5", ConvertOptions(role=role))
        setattr(w, name, root / f"{name}.h5")
    return w


def trained_run(world: SimpleNamespace, out: Path, steps: int = 4, **overrides: object) -> Trainer:
    """A tiny COG run on the world's datasets, trained to `steps` with a checkpoint in `out`."""
    cfg = tiny_cfg(**{"steps": steps, "log_interval": 1, **overrides})
    trainer = Trainer(cfg, load_train_data(cfg, world.task, world.prior), out)
    trainer.train(progress=False)
    return trainer


# ------------------------------------------------------------------------------------------------
# 1. Silent corruption
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_a_flipped_bit_in_a_step_drops_its_episode_naming_file_episode_and_step(tmp_path, capsys, storage):
    bags = tmp_path / "bags"
    eps = write_synthetic_run(bags, 5, seed=7, length=LENGTH, storage=storage, run_id="flip")
    (storage_file,) = [f for f in bags.rglob("*") if f.suffix in (".mcap", ".db3")]
    image = eps[2].images[4].tobytes()
    for start in range(100, len(image) - 64, 512):  # a window inside one sqlite page
        found = storage_file.read_bytes().find(image[start:start + 64])
        if found >= 0:
            break
    assert found >= 0
    flip_bit(storage_file, found + 10)  # one pixel of episode 2's observation at step 4

    out = tmp_path / "task.h5"
    assert main(["convert", str(bags), "--role", "task", "-o", str(out), "--quiet"]) == 1
    err = capsys.readouterr().err.replace("\n", " ")
    assert "episode flip-w00-000002" in err and "step 4" in err and storage_file.name in err and "checksum" in err
    with h5py.File(out) as h5:
        kept = {h5["data"][d].attrs["episode_id"]: h5["data"][d] for d in h5["data"]}
        assert sorted(kept) == [f"flip-w00-{i:06d}" for i in (0, 1, 3, 4)]
        for i in (0, 1, 3, 4):
            demo = kept[f"flip-w00-{i:06d}"]
            np.testing.assert_array_equal(demo["obs/image"][()], eps[i].images[:-1])
            np.testing.assert_array_equal(demo["actions"][()], eps[i].actions)


@pytest.mark.parametrize("storage,flips", [("mcap", 1), ("mcap", 10), ("sqlite3", 1), ("sqlite3", 10)])
def test_random_bit_flips_never_reach_the_episodes_read(tmp_path, storage, flips):
    bags = tmp_path / "bags"
    truth = {e.episode_id: e for e in BagReader([_recorded(bags, storage)]).episodes()}
    rng = np.random.default_rng([flips, len(storage)])
    for trial in range(6):
        copy = tmp_path / f"t{trial}"
        shutil.copytree(bags, copy)
        (f,) = [p for p in copy.rglob("*") if p.suffix in (".mcap", ".db3")]
        data = bytearray(f.read_bytes())
        for _ in range(flips):
            data[rng.integers(len(data))] ^= 1 << int(rng.integers(8))
        f.write_bytes(bytes(data))
        reader = BagReader([copy])
        kept = list(reader.episodes())
        for ep in kept:  # whatever survives is exactly what was recorded
            t = truth[ep.episode_id]
            for k in ("images", "states", "lowdim", "actions", "rewards"):
                np.testing.assert_array_equal(getattr(ep, k), getattr(t, k))
            assert ep.summary == t.summary
        if len(kept) < len(truth):
            assert reader.dropped_data  # and whatever was lost is reported


def _recorded(bags: Path, storage: str) -> Path:
    write_synthetic_run(bags, 8, seed=11, length=LENGTH, storage=storage, run_id="rand")
    return bags


def test_mcap_chunks_carry_crcs_that_an_independent_reader_verifies(world):
    from mcap.records import Chunk
    from mcap.stream_reader import StreamReader

    (f,) = world.task_bags.rglob("*.mcap")
    with f.open("rb") as fh:
        chunks = [r for r in StreamReader(fh, emit_chunks=True).records if isinstance(r, Chunk)]
    assert chunks and all(c.uncompressed_crc != 0 for c in chunks)
    with f.open("rb") as fh:
        assert sum(1 for _ in StreamReader(fh, validate_crcs=True).records) > len(chunks)


def test_a_bag_given_twice_or_a_folder_and_its_subfolder_converts_each_episode_once(world, tmp_path, capsys):
    sub = next(world.task_bags.glob("bag_*"))
    copied = tmp_path / "copied"
    shutil.copytree(world.task_bags, copied)
    for i, inputs in enumerate(([world.task_bags, world.task_bags], [world.task_bags, sub], [world.task_bags, copied])):
        out = tmp_path / f"twice{i}.h5"
        assert main(["convert", *map(str, inputs), "--role", "task", "-o", str(out), "--quiet"]) == 0
        with h5py.File(out) as h5:
            assert int(h5["data"].attrs["num_episodes"]) == len(world.task_eps)
            assert json.loads(h5["data"].attrs["cog"])["counts"]["duplicates"] == (len(world.task_eps) if i == 2 else 0)
        captured = capsys.readouterr()
        said = captured.err.replace("\n", " ") + captured.out.replace("\n", " ")
        assert ("given more than once" in said) if i < 2 else (f"{len(world.task_eps)} episode(s) have the id" in said)


def test_a_damaged_dataset_is_refused_naming_the_demo_and_the_array(world, tmp_path, capsys):
    bad = tmp_path / "task.h5"
    shutil.copy(world.task, bad)
    with h5py.File(bad) as h5:
        info = h5["data/demo_3/actions"].id.get_chunk_info(0)
    flip_bit(bad, info.byte_offset + info.size // 2)
    with pytest.raises(DatasetError, match=r"data/demo_3/actions fails its checksum.*--no-verify"):
        load_transitions(bad)
    argv = ["train", *TINY, "--steps", "2", "--task", str(bad), "--prior", str(world.prior), "--out", str(tmp_path / "run")]
    assert main(argv) == 2
    assert "demo_3/actions fails its checksum" in one_error_line(capsys.readouterr().err)
    assert load_transitions(bad, verify=False).meta["verified"] is False  # the documented opt-out


def test_a_flipped_bit_in_a_checkpoint_is_refused(world, tmp_path):
    trainer = trained_run(world, tmp_path / "run")
    ckpt = tmp_path / "run" / "checkpoint.pt"
    weight = next(v for v in trainer.model.state_dict().values() if v.numel() >= 16)
    inside_weights = offset_of(ckpt, weight.numpy().tobytes()) + 8
    size = ckpt.stat().st_size
    original = load_checkpoint(ckpt)
    for i, offset in enumerate([inside_weights, size // 3, size // 2, 2 * size // 3]):
        copy = tmp_path / f"flipped{i}.pt"
        shutil.copy(ckpt, copy)
        flip_bit(copy, offset)
        if i == 0:  # a flip inside the weights is always refused
            with pytest.raises(CheckpointError):
                load_checkpoint(copy)
            continue
        # elsewhere, either refused or in the zip's alignment padding, which carries nothing
        try:
            loaded = load_checkpoint(copy)
        except CheckpointError:
            continue
        assert tree_digest(loaded["model"]) == tree_digest(original["model"]) and loaded["meta"] == original["meta"]


def test_an_export_with_damaged_or_nan_weights_is_refused(world, tmp_path):
    trained_run(world, tmp_path / "run")
    out = export_policy(tmp_path / "run" / "checkpoint.pt", tmp_path / "policy")
    weights = torch.load(out / "policy.pt", weights_only=True)
    key = next(k for k, v in weights.items() if v.numel() >= 16)
    damaged = tmp_path / "damaged"
    shutil.copytree(out, damaged)
    flip_bit(damaged / "policy.pt", offset_of(damaged / "policy.pt", weights[key].numpy().tobytes()) + 8)
    with pytest.raises(ExportError, match="fails the checksum"):
        PolicyRuntime.load(damaged)

    nan = tmp_path / "nan"
    shutil.copytree(out, nan)
    weights[key][0] = float("nan")
    torch.save(weights, nan / "policy.pt")
    meta = json.loads((nan / "policy.json").read_text())
    meta["weights_sha256"] = tree_digest(weights)  # even with a matching digest
    (nan / "policy.json").write_text(json.dumps(meta))
    with pytest.raises(ExportError, match="NaN"):
        PolicyRuntime.load(nan)


def test_task_and_prior_swapped_or_one_file_for_both_are_refused(world, tmp_path, capsys):
    run = tmp_path / "run"
    for task, prior, said in ((world.prior, world.task, "converted as the prior dataset"),
                              (world.task, world.task, "the same file"),
                              (world.task, world.task2, "converted as the task dataset")):
        assert main(["train", *TINY, "--steps", "2", "--task", str(task), "--prior", str(prior), "--out", str(run)]) == 2
        assert said in one_error_line(capsys.readouterr().err)
    assert not run.exists() or not (run / "checkpoint.pt").exists()


def test_resume_on_other_data_is_refused_unless_allowed(world, tmp_path, capsys):
    run = tmp_path / "run"
    base = ["train", *TINY, "--prior", str(world.prior), "--out", str(run)]
    assert main([*base, "--steps", "2", "--task", str(world.task)]) == 0
    assert main(["train", "--out", str(run), "--resume", "--steps", "3", "--task", str(world.task2), "--quiet"]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "trained on other data" in line and "task dataset had content hash" in line and "--allow-data-change" in line
    assert main(["train", "--out", str(run), "--resume", "--steps", "3", "--task", str(world.task2), "--quiet",
                 "--allow-data-change"]) == 0
    assert load_checkpoint(run / "checkpoint.pt")["meta"]["step"] == 3


# ------------------------------------------------------------------------------------------------
# 2. Collectors die with their parent
# ------------------------------------------------------------------------------------------------
def _children(pid: int) -> list[int]:
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                kids.append(int(stat.parent.name))
    return kids


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state in ("Z", "X")  # exited (a zombie waits for whoever reaps it)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds the workers through /proc")
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT], ids=lambda s: signal.Signals(s).name)
def test_workers_stop_when_only_the_parent_is_signalled(tmp_path, sig):
    out = tmp_path / "bags"
    cmd = [sys.executable, "-m", "cog_core", "collect", "--preset", "drawer-prior", "--episodes", "400", "--workers", "2",
           "--out", str(out), "--quiet"]
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        start = time.monotonic()
        while time.monotonic() - start < 120:  # both workers have finished an episode
            time.sleep(0.5)
            if len(list(out.glob("worker_*/*/metadata.yaml"))) == 2 and time.monotonic() - start > 6:
                break
        workers = [p for p in _children(proc.pid) if "spawn_main" in Path(f"/proc/{p}/cmdline").read_text()]
        assert len(workers) == 2
        os.kill(proc.pid, sig)  # the parent alone
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and not all(_gone(p) for p in workers):
            time.sleep(0.2)
        assert all(_gone(p) for p in workers), "workers outlived their parent"
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # never leave a runaway, whatever failed
    sizes = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    time.sleep(1.0)
    assert sum(f.stat().st_size for f in out.rglob("*") if f.is_file()) == sizes  # nothing writes any more
    reader = BagReader([out])
    episodes = list(reader.episodes())
    assert episodes and not reader.dropped_data  # in-progress episodes were aborted, not cut
    if sig == signal.SIGINT:
        assert proc.returncode == 130
        said = " ".join(stdout.split())
        assert f"{len(episodes)} of 400 episodes finished" in said, said  # and they are all in the bags
        assert "Traceback" not in stderr


# ------------------------------------------------------------------------------------------------
# 3. Training work and logs
# ------------------------------------------------------------------------------------------------
def test_a_typo_in_eval_conditions_is_refused_before_any_update(world, tmp_path, capsys):
    run = tmp_path / "run"
    argv = ["train", *TINY, "--steps", "2", "--task", str(world.task), "--prior", str(world.prior), "--out", str(run),
            "--eval-conditions", "drawer/clsoed"]
    assert main(argv) == 2
    assert "unknown condition(s) ['drawer/clsoed']" in one_error_line(capsys.readouterr().err)
    assert not (run / "checkpoint.pt").exists() and not (run / "metrics.csv").exists()


@pytest.mark.parametrize("override", ["sac.q_lr=-1e-3", "sac.policy_lr=0", "log_interval=0", "cql.alpha=-5",
                                      "cql.alpha=nan", "sac.entropy_lr=-1", "seed=-1", "net.state_hidden=[0,8]"])
def test_config_values_that_would_only_fail_later_are_refused_up_front(override, world, tmp_path, capsys):
    with pytest.raises(ConfigError):
        load_config(TrainConfig, None, [override])
    argv = ["train", *TINY, "--steps", "2", "--task", str(world.task), "--prior", str(world.prior),
            "--out", str(tmp_path / "run"), "--set", override]
    assert main(argv) == 2
    assert override.split("=")[0].split("[")[0] in one_error_line(capsys.readouterr().err)


CRASH_AT_EVAL = textwrap.dedent("""
    import os, sys
    from cog_core.rl.data import load_train_data
    from cog_core.rl.checkpoint import checkpoint_config, load_checkpoint
    from cog_core.rl.trainer import Trainer
    run, task, prior, crash_at = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    cfg = checkpoint_config(run, load_checkpoint(run + "/checkpoint.pt")["meta"])
    def evaluate(step, runtime):
        if step == crash_at:
            os._exit(9)  # a crash: nothing is flushed or closed
        return {}
    Trainer.resume(run, load_train_data(cfg, task, prior), evaluate, steps=100).train(progress=False)
""")


def test_a_crash_soon_after_resume_loses_no_logged_row(world, tmp_path):
    run = tmp_path / "run"
    trained_run(world, run, steps=40, log_interval=5, ckpt_interval=20, eval_interval=43)

    def steps() -> list[int]:
        lines = (run / "metrics.csv").read_text().splitlines()
        return [int(line.split(",")[0]) for line in lines[1:]]

    assert steps() == list(range(5, 41, 5))
    for crash_at in (43, 86):  # before the resumed run logs a row; after it checkpointed at 60 and 80
        r = subprocess.run([sys.executable, "-c", CRASH_AT_EVAL, str(run), str(world.task), str(world.prior), str(crash_at)],
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 9, r.stderr
        assert steps()[:8] == list(range(5, 41, 5))  # every row the step-40 checkpoint covers is still there
    assert steps() == list(range(5, 86, 5))
    cfg = tiny_cfg(steps=100, log_interval=5, ckpt_interval=20, eval_interval=43)
    Trainer.resume(run, load_train_data(cfg, world.task, world.prior), steps=100).train(progress=False)
    assert steps() == list(range(5, 101, 5))  # rows after the step-80 checkpoint were replaced, none doubled


def test_stale_checkpoint_temporaries_are_removed_when_training_starts(world, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    dead = next(pid for pid in range(2**22 - 1, 2**22 - 200, -1) if not process_alive(pid))
    stale = run / f".checkpoint.pt.{dead}-0123abcd.tmp.pt"
    live = run / f".checkpoint.pt.{os.getppid()}-0123abcd.tmp.pt"  # another writer that still runs
    stale.write_bytes(b"half a checkpoint")
    live.write_bytes(b"being written")
    trained_run(world, run, steps=2)
    assert not stale.exists() and live.exists()


def test_resume_refuses_flags_that_contradict_the_run_and_applies_the_others(world, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", *TINY, "--steps", "2", "--task", str(world.task), "--prior", str(world.prior), "--out", str(run)]) == 0
    for flags, said in ((["--algo", "bc"], "algo=bc contradicts the run's cog"),
                        (["--obs", "image"], "obs=image contradicts the run's state"),
                        (["--set", "cql.alpha=5"], "cql.alpha=5.0 contradicts the run's 1.0")):
        assert main(["train", "--out", str(run), "--resume", "--quiet", *flags]) == 2
        assert said in one_error_line(capsys.readouterr().err)
    assert main(["train", "--out", str(run), "--resume", "--quiet", "--algo", "cog", "--steps", "4",
                 "--set", "log_interval=2"]) == 0
    assert "resuming with steps=4, log_interval=2" in capsys.readouterr().err
    meta = load_checkpoint(run / "checkpoint.pt")["meta"]
    assert meta["step"] == 4 and meta["config"]["log_interval"] == 2


# ------------------------------------------------------------------------------------------------
# 4. Disk full, truncation
# ------------------------------------------------------------------------------------------------
@pytest.fixture
def small_disk(tmp_path) -> Iterator:
    """`small_disk(size, name)`: a fresh tmpfs of `size` (e.g. "2m") mounted at tmp_path/name."""
    mounted: list[Path] = []

    def mount(size: str, name: str = "disk", readonly: bool = False) -> Path:
        if os.geteuid() != 0:
            pytest.skip("a small tmpfs needs root to mount")
        path = tmp_path / name
        path.mkdir()
        opts = f"size={size}" + (",ro" if readonly else "")
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(path)], capture_output=True, text=True)
        if r.returncode:
            pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
        mounted.append(path)
        return path

    yield mount
    for path in mounted:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def test_converting_onto_a_full_disk_says_so_and_keeps_the_earlier_output(world, tmp_path, small_disk):
    many = tmp_path / "many"
    write_synthetic_run(many, 40, seed=5, length=LENGTH, run_id="many")
    disk = small_disk("3m")
    out = disk / "task.h5"
    assert cogrl("convert", world.task_bags, "--role", "task", "-o", out, "--quiet").returncode == 0
    before = out.read_bytes()
    r = cogrl("convert", many, "--role", "task", "-o", out, "--force", "--quiet")
    assert r.returncode == 2, r.stderr[-2000:]
    line = one_error_line(r.stderr)
    assert f"disk full: could not write {out}" in line and "needs about" in line
    assert out.read_bytes() == before and sorted(p.name for p in disk.iterdir()) == ["task.h5"]


HDF5_RUNS_OUT = textwrap.dedent("""
    import sys
    import cog_core.data.convert as convert
    from cog_core.files import DiskFull
    convert.free_bytes = lambda path: 10**12  # as if the disk filled up after the check
    try:
        convert.convert_bags([sys.argv[1]], sys.argv[2], convert.ConvertOptions(role="task"))
    except DiskFull as err:
        print("DiskFull", err.needed)
""")


def test_hdf5_running_out_of_space_is_an_error_not_a_crash(tmp_path, small_disk):
    many = tmp_path / "many"
    write_synthetic_run(many, 40, seed=5, length=LENGTH, run_id="many")
    disk = small_disk("2m")
    r = subprocess.run([sys.executable, "-c", HDF5_RUNS_OUT, str(many), str(disk / "x.h5")], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and r.stdout.startswith("DiskFull"), (r.returncode, r.stderr[-2000:])
    assert list(disk.iterdir()) == []  # the temporary is gone


def test_collecting_onto_a_full_disk_says_so_and_keeps_the_finished_episodes(small_disk):
    disk = small_disk("2m")
    out = disk / "bags"
    r = cogrl("collect", "--preset", "drawer-prior", "--episodes", "40", "--out", out, "--quiet")
    assert r.returncode == 2, r.stderr[-2000:]
    line = one_error_line(r.stderr)
    assert "disk full: could not write" in line and str(out / "worker_00") in line and "needs about" in line
    finished = int(line.split("; the ")[1].split()[0])
    episodes = list(BagReader([out]).episodes())
    assert finished >= 1 and len(episodes) == finished


def test_training_onto_a_full_disk_says_so_and_keeps_the_last_checkpoint(world, tmp_path, small_disk):
    probe = trained_run(world, tmp_path / "probe", steps=2, **{"net.state_hidden": "[64,64]"})
    size = (tmp_path / "probe" / "checkpoint.pt").stat().st_size
    disk = small_disk(f"{(size * 3 // 2 + 48 * 1024) // 1024}k")
    run = disk / "run"
    r = cogrl("train", *TINY, "--set", "net.state_hidden=64,64", "--set", "ckpt_interval=2", "--set", "log_interval=100",
              "--steps", "6", "--task", world.task, "--prior", world.prior, "--out", run)
    assert r.returncode == 2, r.stderr[-2000:]
    line = one_error_line(r.stderr)
    assert f"disk full: could not write {run / 'checkpoint.pt'}" in line and "needs about" in line
    assert load_checkpoint(run / "checkpoint.pt")["meta"]["step"] == 2  # the earlier checkpoint, whole
    assert not [p for p in run.iterdir() if p.name.startswith(".")]
    del probe


def test_exporting_onto_a_full_disk_says_so_and_keeps_the_earlier_export(world, tmp_path, small_disk):
    trained_run(world, tmp_path / "small", steps=2)
    trained_run(world, tmp_path / "big", steps=2, **{"net.state_hidden": "[128,128]"})
    disk = small_disk("40k")
    assert cogrl("export", "--run", tmp_path / "small", "--out", disk / "policy").returncode == 0
    before = {f.name: f.read_bytes() for f in (disk / "policy").iterdir()}
    r = cogrl("export", "--run", tmp_path / "big", "--out", disk / "policy")
    assert r.returncode == 2, r.stderr[-2000:]
    assert f"disk full: could not write {disk / 'policy'}" in one_error_line(r.stderr)
    assert {f.name: f.read_bytes() for f in (disk / "policy").iterdir()} == before  # weights and metadata: both old
    PolicyRuntime.load(disk / "policy")


@pytest.mark.parametrize("keep,least", [(-4096, 19), (0.5, 5)], ids=["last 4 KiB cut", "half cut"])
def test_a_sqlite3_bag_cut_short_recovers_its_readable_episodes(tmp_path, keep, least):
    bags = tmp_path / "bags"
    eps = write_synthetic_run(bags, 20, seed=9, length=32, storage="sqlite3", run_id="cut")
    (db,) = bags.rglob("*.db3")
    size = db.stat().st_size
    os.truncate(db, size + keep if keep < 0 else int(size * keep))
    reader = BagReader([bags])
    kept = list(reader.episodes())
    assert len(kept) >= least and reader.dropped_data  # half a file: its b-tree is gone, its table pages are read
    for ep in kept:
        np.testing.assert_array_equal(ep.images, eps[int(ep.episode_id[-6:])].images)
        np.testing.assert_array_equal(ep.actions[:-1], eps[int(ep.episode_id[-6:])].actions)


def test_an_unreadable_mcap_chunk_costs_only_its_own_episode(tmp_path):
    from mcap.records import Chunk
    from mcap.stream_reader import StreamReader

    bags = tmp_path / "bags"
    write_synthetic_run(bags, 6, seed=4, length=LENGTH, run_id="chunk")
    (f,) = bags.rglob("*.mcap")
    with f.open("rb") as fh:
        records = StreamReader(fh, emit_chunks=True).records
        chunks = [r for r in records if isinstance(r, Chunk)]
    third = f.read_bytes().find(chunks[2].data)
    data = bytearray(f.read_bytes())
    data[third + 1:third + 9] = b"\xff" * 8  # the length of the chunk's first record: garbage
    f.write_bytes(bytes(data))
    reader = BagReader([bags])
    kept = sorted(ep.episode_id for ep in reader.episodes())
    assert kept == [f"chunk-w00-{i:06d}" for i in (0, 1, 3, 4, 5)]
    assert reader.dropped_data


# ------------------------------------------------------------------------------------------------
# 5. One clear line instead of a traceback
# ------------------------------------------------------------------------------------------------
@pytest.fixture
def read_only_dir(tmp_path, small_disk) -> Path:
    """A directory this process cannot write in (a read-only tmpfs as root, mode 555 otherwise)."""
    if os.geteuid() == 0:
        return small_disk("1m", "ro", readonly=True)
    path = tmp_path / "ro"
    path.mkdir(mode=0o555)
    return path


def _foreign_dataset(world: SimpleNamespace, path: Path, damage: str) -> Path:
    """A copy of the task dataset without checksums (as another writer would make it), damaged."""
    shutil.copy(world.task, path)
    with h5py.File(path, "a") as h5:
        del h5["data"].attrs["format_version"]
        g = h5["data/demo_1"]
        if damage == "nan_actions":
            a = g["actions"][()]
            a[2, 3] = np.nan
            g["actions"][...] = a
        elif damage == "inf_lowdim":
            x = g["obs/lowdim"][()]
            x[1, 0] = np.inf
            g["obs/lowdim"][...] = x
        elif damage == "float_images":
            im = g["obs/image"][()].astype(np.float32)
            del g["obs/image"]
            g.create_dataset("obs/image", data=im)
        elif damage == "no_next_obs":
            del g["next_obs"]
        elif damage == "2d_rewards":
            r = g["rewards"][()]
            del g["rewards"]
            g.create_dataset("rewards", data=np.stack([r, r], axis=1))
    return path


@pytest.mark.parametrize("damage,said", [("nan_actions", "actions holds NaN or inf"), ("inf_lowdim", "obs/lowdim holds NaN or inf"),
                                         ("float_images", "expected uint8"), ("no_next_obs", "lacks next_obs"),
                                         ("2d_rewards", "rewards has shape")])
def test_a_malformed_dataset_is_one_clear_line(world, tmp_path, capsys, damage, said):
    bad = _foreign_dataset(world, tmp_path / "bad.h5", damage)
    argv = ["train", *TINY, "--steps", "2", "--task", str(bad), "--prior", str(world.prior), "--out", str(tmp_path / "run")]
    if damage == "float_images":
        argv[argv.index("state")] = "image"
    assert main(argv) == 2
    line = one_error_line(capsys.readouterr().err)
    assert said in line and "demo_1" in line


def test_bad_command_lines_are_one_clear_line_each(world, tmp_path, capsys, read_only_dir):
    a_file = tmp_path / "afile"
    a_file.write_text("x")
    a_dir = tmp_path / "dir.h5"
    a_dir.mkdir()
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("algo: cog\nsac: [q_lr: 1\n")
    empty = tmp_path / "empty.h5"
    with h5py.File(empty, "w") as h5:
        h5.create_group("data").attrs["role"] = "task"
    collect = ["collect", "--preset", "drawer-prior", "--quiet"]
    train = ["train", *TINY, "--steps", "2", "--task", str(world.task), "--prior", str(world.prior)]
    cases = [
        ([*collect, "--out", str(tmp_path / "c"), "--episodes", "0"], "--episodes must be >= 1"),
        ([*collect, "--out", str(tmp_path / "c"), "--episodes", "-5"], "--episodes must be >= 1"),
        ([*collect, "--out", str(tmp_path / "c"), "--workers", "0"], "--workers must be >= 1"),
        ([*collect, "--out", str(tmp_path / "c"), "--max-steps", "0"], "--max-steps must be >= 1"),
        ([*collect, "--out", str(tmp_path / "c"), "--seed", "-1"], "--seed must be >= 0"),
        ([*collect, "--out", str(tmp_path / "c"), "--noise", "nan"], "--noise must be a finite number"),
        ([*collect, "--out", str(tmp_path / "c"), "--noise", "-1"], "--noise must be a finite number"),
        ([*collect, "--out", str(a_file)], "is a file"),
        ([*collect, "--out", str(read_only_dir / "c")], "cannot write in"),
        (["convert", str(world.task_bags), "--role", "task", "-o", str(a_dir), "--force"], "is a directory"),
        (["convert", str(world.task_bags), "--role", "task", "-o", str(a_file / "x.h5")], "is a file, not a directory"),
        (["convert", str(world.task_bags), "--role", "task", "-o", str(read_only_dir / "x.h5")], "cannot write in"),
        ([*train, "--out", str(tmp_path / "r"), "--config", str(bad_yaml)], "is not valid YAML at line"),
        ([*train, "--out", str(tmp_path / "r"), "--set", "sac.q_lr=-1e-3"], "sac.q_lr must be > 0"),
        ([*train, "--out", str(tmp_path / "r"), "--set", "log_interval=0"], "log_interval must be > 0"),
        ([*train, "--out", str(tmp_path / "r"), "--set", "cql.alpha=-5"], "cql.alpha must be >= 0"),
        ([*train, "--out", str(tmp_path / "r"), "--eval-conditions", "drawer/open", "--eval-episodes", "-1"], "--eval-episodes must be >= 1"),
        ([*train, "--out", str(a_file)], "is a file"),
        (["export", "--run", str(tmp_path / "nowhere"), "--out", str(tmp_path / "p")], "does not exist"),
        (["inspect", str(empty)], "holds no episodes"),
    ]
    for argv, said in cases:
        assert main(argv) == 2, argv
        assert said in one_error_line(capsys.readouterr().err), argv
    assert not (tmp_path / "c").exists() and not (tmp_path / "r").exists()


def test_exports_to_a_file_and_damaged_checkpoints_are_one_clear_line(world, tmp_path, capsys):
    trained_run(world, tmp_path / "run", steps=2)
    a_file = tmp_path / "afile"
    a_file.write_text("x")
    assert main(["export", "--run", str(tmp_path / "run"), "--out", str(a_file)]) == 2
    assert "is a file" in one_error_line(capsys.readouterr().err)
    doc = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)
    old_format = {k: v for k, v in doc.items() if k != "sha256"} | {"format": "cog_core.rl.checkpoint/1"}
    broken = {
        "no_meta": {k: v for k, v in old_format.items() if k != "meta_json"},
        "meta_not_json": old_format | {"meta_json": "{step: 2"},
        "meta_without_spec": old_format | {"meta_json": json.dumps({"step": 2, "config": {}})},
        "bad_config": old_format | {"meta_json": json.dumps({**json.loads(doc["meta_json"]), "config": {"algo": "cql"}})},
        "no_model": {k: v for k, v in old_format.items() if k != "model"},
        "weights_missing": old_format | {"model": dict(list(doc["model"].items())[1:])},
    }
    for name, ckpt in broken.items():
        path = tmp_path / f"{name}.pt"
        torch.save(ckpt, path)
        assert main(["export", "--run", str(path), "--out", str(tmp_path / f"p_{name}")]) == 2, name
        one_error_line(capsys.readouterr().err)


def _tamper(out: Path, copy: Path, change) -> Path:
    shutil.copytree(out, copy)
    meta = json.loads((copy / "policy.json").read_text())
    weights = torch.load(copy / "policy.pt", weights_only=True)
    result = change(meta, weights)
    if result == "raw":
        return copy
    (copy / "policy.json").write_text(json.dumps(meta))
    torch.save(weights, copy / "policy.pt")
    return copy


TAMPERINGS = {
    "keys_image_only": lambda m, w: m["obs"].update(keys=["image"]),
    "keys_state": lambda m, w: m["obs"].update(keys=["state"]),
    "mode_image": lambda m, w: m["obs"].update(mode="image"),
    "image_size_negative": lambda m, w: m["obs"].update(image_size=-1),
    "vec_dim_text": lambda m, w: m["obs"].update(vec_dim="6"),
    "action_dim_zero": lambda m, w: m["action"].update(dim=0),
    "no_obs": lambda m, w: m.pop("obs"),
    "no_config": lambda m, w: m.pop("config"),
    "config_unknown_key": lambda m, w: m["config"].update(algorithm="cog"),
    "config_bad_algo": lambda m, w: m["config"].update(algo="cql"),
    "format_other": lambda m, w: m.update(format="cog_core.policy/9"),
    "digest_changed": lambda m, w: m.update(weights_sha256="0" * 64),
    "weight_removed": lambda m, w: w.pop(next(iter(w))),
    "weight_added": lambda m, w: w.update(extra=torch.zeros(3)),
    "weight_reshaped": lambda m, w: w.update({next(iter(w)): torch.zeros(1, 1)}),
}


def test_tampered_exports_are_refused_with_a_clear_error(world, tmp_path, capsys):
    trained_run(world, tmp_path / "run", steps=2)
    out = export_policy(tmp_path / "run" / "checkpoint.pt", tmp_path / "policy")
    (tmp_path / "json_broken").mkdir()
    shutil.copy(out / "policy.pt", tmp_path / "json_broken" / "policy.pt")
    (tmp_path / "json_broken" / "policy.json").write_text('{"format": "cog_core.policy/2", "obs": ')
    (tmp_path / "weights_list").mkdir()
    shutil.copy(out / "policy.json", tmp_path / "weights_list" / "policy.json")
    torch.save([torch.zeros(2)], tmp_path / "weights_list" / "policy.pt")
    cases = [tmp_path / "json_broken", tmp_path / "weights_list"]
    cases += [_tamper(out, tmp_path / name, change) for name, change in TAMPERINGS.items()]
    for case in cases:
        with pytest.raises(ExportError):
            PolicyRuntime.load(case)
    assert main(["eval", "--run", str(cases[2]), "--conditions", "drawer/open", "--episodes", "1"]) == 2
    assert "contradicts" in one_error_line(capsys.readouterr().err)


def test_cog_debug_shows_the_traceback_behind_the_line(tmp_path):
    plain = cogrl("collect", "--preset", "drawer-prior", "--episodes", "0", "--out", tmp_path / "c")
    assert plain.returncode == 2 and one_error_line(plain.stderr)
    debug = cogrl("collect", "--preset", "drawer-prior", "--episodes", "0", "--out", tmp_path / "c", env={"COG_DEBUG": "1"})
    assert debug.returncode == 2 and "Traceback" in debug.stderr and debug.stderr.rstrip().splitlines()[-1].startswith("error:")
    flag = cogrl("--debug", "collect", "--preset", "drawer-prior", "--episodes", "0", "--out", tmp_path / "c")
    assert flag.returncode == 2 and "Traceback" in flag.stderr
