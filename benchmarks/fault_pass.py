"""A fault-injection pass over the pipeline (issue 42's kinds of faults); prints the outcome counts.

Each fault is tried the way a careless user or a failing machine would meet it, through the
`cogrl` command (in this process, or as a subprocess where the fault is a signal, a crash or a
full disk), and classified:

- held: the pipeline did what its docs promise (damaged data dropped and reported, the rest
  kept exact; workers stopped; logs and checkpoints whole);
- clear error: refused with exit status 2 and one `error:` line, no traceback;
- traceback: a raw traceback or a crash (exit >= 128, a segfault);
- silent: accepted without a word while the data or the run is wrong (corrupted arrays in the
  output, a bad value used, a flag ignored);
- lost: data that should have survived did not;
- runaway: a process still running after its parent was stopped.

Usage: python benchmarks/fault_pass.py [--out DIR] [--groups 1,2,3,4,5] [--json results.json]
Groups 2 and 4 start subprocesses (collectors, a small tmpfs: root only, else those faults are
skipped). It uses only the public command line and readers, so it runs against older versions
of cog_core too (PYTHONPATH=<old checkout>/src/cog_core) for a before/after comparison.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import traceback
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import torch

os.environ.setdefault("MUJOCO_GL", "egl")

from cog_core.bag.reader import BagReader  # noqa: E402
from cog_core.bag.synthetic import write_synthetic_run  # noqa: E402
from cog_core.cli import main  # noqa: E402
from cog_core.rl.runtime import PolicyRuntime  # noqa: E402

OUTCOMES = ("held", "clear error", "traceback", "silent", "lost", "runaway")
TINY = ["--algo", "cog", "--obs", "state", "--batch-size", "8", "--threads", "1", "--quiet", "--set", "net.state_hidden=8,8"]
LENGTH = 10


class Pass:
    """Runs faults and counts their outcomes per group."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.results: list[dict] = []

    def record(self, group: int, name: str, outcome: str, detail: str = "") -> None:
        assert outcome in OUTCOMES, outcome
        self.results.append({"group": group, "fault": name, "outcome": outcome, "detail": detail[-300:]})
        print(f"  [{group}] {name:48s} {outcome}{': ' + detail[-140:] if detail and outcome != 'held' else ''}", flush=True)

    def tmp(self, name: str) -> Path:
        path = Path(tempfile.mkdtemp(prefix=name + "_", dir=self.root))
        return path


def run_cli(argv: list[str]) -> tuple[int, str]:
    """`cogrl ARGV` in this process: (exit status, stderr + stdout); an exception that escapes is
    returned as a traceback with status 1."""
    err, out = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            code = main(argv)
    except SystemExit as exc:
        code = int(exc.code or 0)
    except BaseException:  # noqa: BLE001 - what the user would have seen
        return 1, err.getvalue() + traceback.format_exc()
    return code, err.getvalue() + out.getvalue()


def run_sub(*args: object, timeout: float = 600, env: dict | None = None) -> subprocess.CompletedProcess:
    """`cogrl ARGS` as a subprocess."""
    return subprocess.run([sys.executable, "-m", "cog_core", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def refusal(code: int, text: str) -> str:
    """Outcome of a command that should refuse its input."""
    if "Traceback" in text or code >= 128 or code < 0:
        return "traceback"
    lines = [line for line in text.splitlines() if line.startswith("error:")]
    if code == 2 and len(lines) == 1:
        return "clear error"
    return "silent" if code == 0 else "traceback"


def flip_bits(path: Path, n: int, rng: np.random.Generator, lo: int = 0) -> None:
    data = bytearray(path.read_bytes())
    for _ in range(n):
        data[int(rng.integers(lo, len(data)))] ^= 1 << int(rng.integers(8))
    path.write_bytes(bytes(data))


def demos(path: Path, keys: tuple[str, ...] = ("obs/image", "obs/state", "actions", "rewards")) -> dict[str, dict[str, np.ndarray]]:
    """episode id -> arrays of a dataset."""
    out = {}
    with h5py.File(path) as h5:
        for name in h5["data"]:
            g = h5["data"][name]
            out[str(g.attrs["episode_id"])] = {k: g[k][()] for k in keys}
    return out


# What `cogrl train --obs state` reads of a dataset (a flip elsewhere, in the images, cannot reach it).
STATE_TRAINING_KEYS = ("obs/lowdim", "next_obs/lowdim", "actions", "rewards", "dones")


def same(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
    return all(np.array_equal(a[k], b[k]) for k in a)


# ------------------------------------------------------------------------------------------ 1
def group1(p: Pass) -> None:
    print("group 1: silent corruption", flush=True)
    rng = np.random.default_rng(42)
    for storage, flips_list in (("mcap", (1, 10, 1000)), ("sqlite3", (1, 10))):
        clean = p.tmp(f"clean_{storage}")
        write_synthetic_run(clean / "bags", 10, seed=3, length=LENGTH, storage=storage, run_id="fp")
        assert run_cli(["convert", str(clean / "bags"), "--role", "task", "-o", str(clean / "clean.h5"), "--quiet"])[0] == 0
        truth = demos(clean / "clean.h5")
        for flips in flips_list:
            for trial in range(10):
                d = p.tmp("flip")
                shutil.copytree(clean / "bags", d / "bags")
                (f,) = [x for x in (d / "bags").rglob("*") if x.suffix in (".mcap", ".db3")]
                flip_bits(f, flips, rng)
                code, text = run_cli(["convert", str(d / "bags"), "--role", "task", "-o", str(d / "out.h5"), "--quiet"])
                name = f"{storage} {flips} flipped bit(s) #{trial}"
                if "Traceback" in text or code not in (0, 1, 2):
                    p.record(1, name, "traceback", text)
                elif code == 2:
                    p.record(1, name, refusal(code, text), text)
                else:
                    got = demos(d / "out.h5")
                    corrupted = [e for e in got if e not in truth or not same(got[e], truth[e])]
                    if corrupted:
                        p.record(1, name, "silent", f"{len(corrupted)} corrupted episode(s) written, exit {code}")
                    elif len(got) < len(truth) and code == 0:
                        p.record(1, name, "lost", f"{len(truth) - len(got)} episode(s) missing, exit 0")
                    else:
                        p.record(1, name, "held")
                shutil.rmtree(d)

    bags = p.tmp("dup") / "bags"
    write_synthetic_run(bags, 6, seed=4, length=LENGTH, run_id="dup")
    copy = bags.parent / "copy"
    shutil.copytree(bags, copy)
    for name, inputs in (("same bag twice", [bags, bags]), ("folder and its subfolder", [bags, next(bags.glob("bag_*"))]),
                         ("a copied bag", [bags, copy])):
        out = bags.parent / f"{name.replace(' ', '_')}.h5"
        code, text = run_cli(["convert", *map(str, inputs), "--role", "task", "-o", str(out), "--quiet"])
        n = len(demos(out)) if out.exists() else 0
        p.record(1, f"duplicate inputs: {name}", "held" if code == 0 and n == 6 else ("silent" if n > 6 else refusal(code, text)),
                 f"{n} episodes written")

    world = make_world(p)
    for trial in range(10):
        d = p.tmp("h5flip")
        bad = d / "task.h5"
        shutil.copy(world / "task.h5", bad)
        flip_bits(bad, 1, rng, lo=4096)
        code, text = run_cli(["train", *TINY, "--steps", "1", "--task", str(bad), "--prior", str(world / "prior.h5"),
                              "--out", str(d / "run")])
        if code == 0:
            try:
                got = demos(bad, STATE_TRAINING_KEYS)
                changed = any(not same(got[e], v) for e, v in demos(world / "task.h5", STATE_TRAINING_KEYS).items())
            except Exception:  # noqa: BLE001 - unreadable after all
                changed = True
            p.record(1, f"dataset 1 flipped bit #{trial}", "silent" if changed else "held", "trained on changed arrays" if changed else "")
        else:
            p.record(1, f"dataset 1 flipped bit #{trial}", refusal(code, text), text)

    clean_export = world / "export"
    reference = torch.load(clean_export / "policy.pt", weights_only=True)
    for trial in range(10):
        d = p.tmp("ckflip")
        shutil.copy(world / "run" / "checkpoint.pt", d / "checkpoint.pt")
        flip_bits(d / "checkpoint.pt", 1, rng)
        code, text = run_cli(["export", "--run", str(d / "checkpoint.pt"), "--out", str(d / "p")])
        if code == 0:
            got = torch.load(d / "p" / "policy.pt", weights_only=True)
            same_w = got.keys() == reference.keys() and all(torch.equal(got[k], reference[k]) for k in got)
            p.record(1, f"checkpoint 1 flipped bit #{trial}", "held" if same_w else "silent", "" if same_w else "exported changed weights")
        else:
            p.record(1, f"checkpoint 1 flipped bit #{trial}", refusal(code, text), text)
    for trial in range(10):
        d = p.tmp("exflip")
        shutil.copytree(clean_export, d / "p")
        flip_bits(d / "p" / "policy.pt", 1, rng)
        p.record(1, f"export 1 flipped bit #{trial}", load_export(d / "p", reference))
    d = p.tmp("exnan")
    shutil.copytree(clean_export, d / "p")
    w = {k: v.clone() for k, v in reference.items()}
    next(v for v in w.values() if v.is_floating_point() and v.numel() > 1)[0] = float("nan")
    torch.save(w, d / "p" / "policy.pt")
    p.record(1, "export weights set to NaN", load_export(d / "p", reference))

    run = p.tmp("roles") / "run"
    for name, task, prior in (("--task and --prior swapped", "prior.h5", "task.h5"), ("one file for both", "task.h5", "task.h5"),
                              ("a task file as --prior", "task.h5", "task2.h5")):
        code, text = run_cli(["train", *TINY, "--steps", "1", "--task", str(world / task), "--prior", str(world / prior), "--out", str(run)])
        p.record(1, name, "silent" if code == 0 else refusal(code, text), text)
        shutil.rmtree(run, ignore_errors=True)
    code, text = run_cli(["train", "--out", str(world / "run2"), "--resume", "--steps", "3", "--task", str(world / "task_other.h5"), "--quiet"])
    p.record(1, "--resume --task <another task file>", "silent" if code == 0 else refusal(code, text), text)


def load_export(path: Path, reference: dict) -> str:
    """Outcome of loading a damaged export: refused, or loaded with the reference weights."""
    try:
        rt = PolicyRuntime.load(path)
    except (ValueError, FileNotFoundError):
        return "clear error"
    except Exception:  # noqa: BLE001 - a raw error from torch or the state-dict load
        return "traceback"
    got = {k: v for k, v in rt.net.state_dict().items()}
    return "held" if all(torch.equal(got[k], reference[k].to(got[k].dtype)) for k in reference if k in got) else "silent"


_WORLD: Path | None = None


def make_world(p: Pass) -> Path:
    """Task, prior and a second task dataset; a trained tiny run and its export."""
    global _WORLD
    if _WORLD is not None:
        return _WORLD
    w = p.tmp("world")
    for name, seed, n, role in (("task", 1, 6, "task"), ("prior", 2, 8, "prior"), ("task2", 3, 6, "task"), ("task_other", 5, 6, "task")):
        write_synthetic_run(w / "bags" / name, n, seed=seed, length=LENGTH, run_id=name)
        assert run_cli(["convert", str(w / "bags" / name), "--role", role, "-o", str(w / f"{name}.h5"), "--quiet"])[0] in (0, 1)
    for run in ("run", "run2"):
        code, text = run_cli(["train", *TINY, "--steps", "4", "--task", str(w / "task.h5"), "--prior", str(w / "prior.h5"),
                              "--out", str(w / run)])
        assert code == 0, text
    assert run_cli(["export", "--run", str(w / "run"), "--out", str(w / "export")])[0] == 0
    _WORLD = w
    return w


# ------------------------------------------------------------------------------------------ 2
def _children(pid: int) -> list[int]:
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(stat.parent.name))
    return kids


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def group2(p: Pass) -> None:
    print("group 2: collectors and their parent", flush=True)
    for storage in ("mcap", "sqlite3"):
        for sig, whole_group in ((signal.SIGTERM, False), (signal.SIGKILL, False), (signal.SIGINT, False), (signal.SIGKILL, True)):
            name = f"{signal.Signals(sig).name} to the {'process group' if whole_group else 'parent alone'} ({storage})"
            out = p.tmp("collect") / "bags"
            proc = subprocess.Popen([sys.executable, "-m", "cog_core", "collect", "--preset", "drawer-prior", "--episodes", "400",
                                     "--workers", "2", "--storage", storage, "--out", str(out), "--quiet"],
                                    start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            try:
                t0 = time.monotonic()
                while time.monotonic() - t0 < 120 and not (len(list(out.glob("worker_*/*/metadata.yaml"))) == 2 and time.monotonic() - t0 > 6):
                    time.sleep(0.5)
                workers = [k for k in _children(proc.pid) if "spawn_main" in Path(f"/proc/{k}/cmdline").read_text()]
                (os.killpg if whole_group else os.kill)(proc.pid, sig)
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline and any(_alive(k) for k in workers):
                    time.sleep(0.2)
                runaway = [k for k in workers if _alive(k)]
                try:
                    stdout, stderr = proc.communicate(timeout=60)
                except subprocess.TimeoutExpired:
                    stdout, stderr = "", ""
            finally:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
            reader = BagReader([out])
            episodes = list(reader.episodes())
            dropped = [x for x in reader.problems if x.dropped]
            if runaway:
                p.record(2, name, "runaway", f"{len(runaway)} worker(s) still running 30 s after the signal")
            elif "Traceback" in stderr:
                p.record(2, name, "traceback", stderr)
            elif sig == signal.SIGINT:
                said = " ".join(stdout.split())
                ok = proc.returncode == 130 and f"{len(episodes)} of 400 episodes finished" in said
                p.record(2, name, "held" if ok and not dropped else "silent", f"exit {proc.returncode}, {len(episodes)} episodes in the bags")
            else:
                p.record(2, name, "held" if len(dropped) <= 2 and episodes else "lost", f"{len(episodes)} episodes, {len(dropped)} dropped")


# ------------------------------------------------------------------------------------------ 3
CRASH_AT_EVAL = textwrap.dedent("""
    import os, sys
    from cog_core.rl.data import load_train_data
    from cog_core.rl.trainer import Trainer
    from cog_core.config import from_dict
    from cog_core.rl.config import TrainConfig
    import torch, json
    run, task, prior, crash_at = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    meta = json.loads(torch.load(run + "/checkpoint.pt", weights_only=True)["meta_json"])
    cfg = from_dict(TrainConfig, meta["config"])
    def evaluate(step, runtime):
        if step == crash_at:
            os._exit(9)
        return {}
    Trainer.resume(run, load_train_data(cfg, task, prior), evaluate, steps=100).train(progress=False)
""")


def group3(p: Pass) -> None:
    print("group 3: training work and logs", flush=True)
    w = make_world(p)
    data = ["--task", str(w / "task.h5"), "--prior", str(w / "prior.h5")]
    code, text = run_cli(["train", *TINY, "--steps", "2", *data, "--out", str(p.tmp("typo") / "run"), "--eval-conditions", "drawer/clsoed"])
    p.record(3, "typo in --eval-conditions", refusal(code, text) if code else "silent", text)
    for override in ("sac.q_lr=-1e-3", "sac.policy_lr=0", "log_interval=0", "cql.alpha=-5", "cql.alpha=nan", "seed=-1",
                     "sac.entropy_lr=-1", "ckpt_interval=-5"):
        code, text = run_cli(["train", *TINY, "--steps", "2", *data, "--out", str(p.tmp("cfg") / "run"), "--set", override])
        p.record(3, f"--set {override}", refusal(code, text), text)
    code, text = run_cli(["train", *TINY, "--steps", "2", *data, "--out", str(p.tmp("ev") / "run"), "--eval-conditions", "drawer/open",
                          "--eval-episodes", "-1"])
    p.record(3, "--eval-episodes -1", refusal(code, text), text)

    for crash_at, name in ((43, "crash after --resume, before its first row"), (86, "crash after --resume, after new checkpoints")):
        run = p.tmp("crash") / "run"
        code, text = run_cli(["train", *TINY, "--steps", "40", *data, "--out", str(run), "--set", "log_interval=5",
                              "--set", "ckpt_interval=20", "--set", "eval_interval=43"])
        before = (run / "metrics.csv").read_text().splitlines()[1:]
        r = subprocess.run([sys.executable, "-c", CRASH_AT_EVAL, str(run), str(w / "task.h5"), str(w / "prior.h5"), str(crash_at)],
                           capture_output=True, text=True, timeout=600)
        after = (run / "metrics.csv").read_text().splitlines()[1:]
        kept = [row for row in before if row in after]
        p.record(3, name, "held" if len(kept) == len(before) and r.returncode == 9 else ("lost" if r.returncode == 9 else "traceback"),
                 f"{len(before) - len(kept)} of {len(before)} rows lost")

    straight = p.tmp("kill") / "straight"
    run_cli(["train", *TINY, "--steps", "100", *data, "--out", str(straight), "--set", "ckpt_interval=10"])
    ref = torch.load(straight / "checkpoint.pt", weights_only=True)["model"]
    rng = np.random.default_rng(7)
    for trial in range(3):
        run = p.tmp("kill") / "run"
        proc = subprocess.Popen([sys.executable, "-m", "cog_core", "train", *TINY, "--steps", "100", *data, "--out", str(run),
                                 "--set", "ckpt_interval=10"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        t0 = time.monotonic()
        while not (run / "checkpoint.pt").exists() and time.monotonic() - t0 < 120:
            time.sleep(0.05)
        time.sleep(float(rng.uniform(0, 0.5)))
        proc.kill()
        proc.wait()
        r = run_sub("train", "--out", run, "--resume", "--quiet")
        got = torch.load(run / "checkpoint.pt", weights_only=True)["model"] if (run / "checkpoint.pt").exists() else {}
        identical = got.keys() == ref.keys() and all(torch.equal(got[k], ref[k]) for k in ref)
        p.record(3, f"kill -9 mid-training, then --resume #{trial}", "held" if r.returncode == 0 and identical else
                 ("traceback" if "Traceback" in r.stderr else "lost"), r.stderr)

    run = p.tmp("stale") / "run"
    run.mkdir()
    stale = run / ".checkpoint.pt.4194000-0123abcd.tmp.pt"
    stale.write_bytes(b"half a checkpoint")
    run_cli(["train", *TINY, "--steps", "2", *data, "--out", str(run)])
    p.record(3, "stale checkpoint temporary", "held" if not stale.exists() else "silent", "left in place" if stale.exists() else "")

    run = p.tmp("resume") / "run"
    run_cli(["train", *TINY, "--steps", "2", *data, "--out", str(run)])
    for flags in (["--algo", "bc"], ["--obs", "image"], ["--set", "cql.alpha=5"], ["--batch-size", "16"]):
        code, text = run_cli(["train", "--out", str(run), "--resume", "--steps", "3", "--quiet", *flags])
        p.record(3, f"--resume {' '.join(flags)}", "silent" if code == 0 else refusal(code, text), text)


# ------------------------------------------------------------------------------------------ 4
@contextlib.contextmanager
def tmpfs(path: Path, size: str):
    path.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True, text=True)
    if r.returncode:
        raise PermissionError(r.stderr.strip())
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def disk_full(p: Pass, name: str, code: int, text: str, intact: bool, leftovers: list) -> None:
    outcome = refusal(code, text)
    if outcome == "clear error" and "disk full" not in text.lower():
        outcome = "traceback"
    if outcome == "clear error" and (not intact or leftovers):
        outcome = "lost"
    p.record(4, name, outcome, text if outcome != "clear error" else "")


def group4(p: Pass) -> None:
    print("group 4: disk full, truncation", flush=True)
    w = make_world(p)
    if os.geteuid() == 0:
        for storage in ("mcap", "sqlite3"):
            src = p.tmp("many") / "bags"
            write_synthetic_run(src, 40, seed=8, length=LENGTH, storage=storage, run_id="many")
            with tmpfs(p.tmp("full_convert") / "disk", "3m") as disk:
                run_sub("convert", w / "bags" / "task", "--role", "task", "-o", disk / "task.h5", "--quiet")
                before = (disk / "task.h5").read_bytes()
                r = run_sub("convert", src, "--role", "task", "-o", disk / "task.h5", "--force", "--quiet")
                disk_full(p, f"convert onto a full disk ({storage} bags)", r.returncode, r.stderr + r.stdout,
                          (disk / "task.h5").read_bytes() == before, [x for x in disk.iterdir() if x.name != "task.h5"])
            with tmpfs(p.tmp("full_collect") / "disk", "2m") as disk:
                r = run_sub("collect", "--preset", "drawer-prior", "--episodes", "40", "--storage", storage, "--out", disk / "bags", "--quiet")
                try:
                    kept = len(list(BagReader([disk / "bags"]).episodes()))
                except Exception:  # noqa: BLE001
                    kept = 0
                disk_full(p, f"collect onto a full disk ({storage})", r.returncode, r.stderr + r.stdout, kept > 0, [])
        big = ["--set", "net.state_hidden=64,64"]  # a checkpoint large enough that two do not fit beside the logs
        probe = p.tmp("probe") / "run"
        run_cli(["train", *TINY, *big, "--steps", "2", "--task", str(w / "task.h5"), "--prior", str(w / "prior.h5"), "--out", str(probe)])
        size = (probe / "checkpoint.pt").stat().st_size
        with tmpfs(p.tmp("full_train") / "disk", f"{(size * 3 // 2 + 48 * 1024) // 1024}k") as disk:
            r = run_sub("train", *TINY, *big, "--steps", "6", "--task", w / "task.h5", "--prior", w / "prior.h5", "--out", disk / "run",
                        "--set", "ckpt_interval=2", "--set", "log_interval=100")
            intact = False
            with contextlib.suppress(Exception):
                intact = json.loads(torch.load(disk / "run" / "checkpoint.pt", weights_only=True)["meta_json"])["step"] == 2
            disk_full(p, "train onto a full disk", r.returncode, r.stderr + r.stdout, intact,
                      [x for x in (disk / "run").iterdir() if x.name.startswith(".")])
        with tmpfs(p.tmp("full_export") / "disk", "8k") as disk:
            r = run_sub("export", "--run", w / "run", "--out", disk / "p")
            disk_full(p, "export onto a full disk", r.returncode, r.stderr + r.stdout, True,
                      [x for x in (disk / "p").iterdir() if x.name.startswith(".")] if (disk / "p").exists() else [])
    else:
        print("  (not root: the full-disk faults need a tmpfs; skipped)")

    for storage in ("mcap", "sqlite3"):
        src = p.tmp("cut") / "bags"
        write_synthetic_run(src, 20, seed=9, length=32, storage=storage, run_id="cut")
        (f0,) = [x for x in src.rglob("*") if x.suffix in (".mcap", ".db3")]
        size = f0.stat().st_size
        for cut in (4096, 65536, size // 2):
            d = p.tmp("cutn")
            shutil.copytree(src, d / "bags")
            (f,) = [x for x in (d / "bags").rglob("*") if x.suffix in (".mcap", ".db3")]
            os.truncate(f, size - cut)
            try:
                reader = BagReader([d / "bags"])
                n = len(list(reader.episodes()))
            except Exception as err:  # noqa: BLE001
                p.record(4, f"{storage} cut by {cut} bytes", "traceback", repr(err))
                continue
            expect = int(20 * (size - cut) / size) - 1  # the episodes wholly in the bytes kept, less one
            ok = n >= expect and (n == 20 or reader.dropped_data)  # a loss is reported
            p.record(4, f"{storage} cut by {cut} bytes", "held" if ok else "lost", f"{n} of 20 episodes kept")
        for name, damage in (("metadata.yaml deleted", lambda m: m.unlink()), ("metadata.yaml garbage", lambda m: m.write_text("::: {"))):
            d = p.tmp("meta")
            shutil.copytree(src, d / "bags")
            damage(next((d / "bags").rglob("metadata.yaml")))
            n = len(list(BagReader([d / "bags"]).episodes()))
            p.record(4, f"{storage} {name}", "held" if n == 20 else "lost", f"{n} of 20")


# ------------------------------------------------------------------------------------------ 5
def group5(p: Pass) -> None:
    print("group 5: bad inputs", flush=True)
    w = make_world(p)
    d = p.tmp("bad")
    a_file = d / "afile"
    a_file.write_text("x")
    (d / "dir.h5").mkdir()
    (d / "bad.yaml").write_text("algo: cog\nsac: [q_lr: 1\n")
    ro = d / "ro"
    ro.mkdir()
    mounted = False
    if os.geteuid() == 0:
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,ro", "tmpfs", str(ro)], capture_output=True).returncode == 0
    else:
        ro.chmod(0o555)
    with h5py.File(d / "empty.h5", "w") as h5:
        h5.create_group("data").attrs["role"] = "task"
    collect = ["collect", "--preset", "drawer-prior", "--quiet"]
    train = ["train", *TINY, "--steps", "2", "--task", str(w / "task.h5"), "--prior", str(w / "prior.h5")]
    conv = ["convert", str(w / "bags" / "task"), "--role", "task"]
    cases = {
        "collect --episodes 0": [*collect, "--out", str(d / "c"), "--episodes", "0"],
        "collect --episodes -5": [*collect, "--out", str(d / "c"), "--episodes", "-5"],
        "collect --workers 0": [*collect, "--out", str(d / "c"), "--workers", "0"],
        "collect --max-steps 0": [*collect, "--out", str(d / "c"), "--max-steps", "0"],
        "collect --seed -1": [*collect, "--out", str(d / "c"), "--seed", "-1"],
        "collect --noise nan": [*collect, "--out", str(d / "c"), "--noise", "nan"],
        "collect --noise -1": [*collect, "--out", str(d / "c"), "--noise", "-1"],
        "collect --out <file>": [*collect, "--out", str(a_file)],
        "collect --out <read-only dir>": [*collect, "--out", str(ro / "c")],
        "convert -o dir.h5 --force": [*conv, "-o", str(d / "dir.h5"), "--force"],
        "convert -o afile/x.h5": [*conv, "-o", str(a_file / "x.h5")],
        "convert -o <read-only>/x.h5": [*conv, "-o", str(ro / "x.h5")],
        "train --config bad.yaml": [*train, "--out", str(d / "r"), "--config", str(d / "bad.yaml")],
        "train negative learning rate": [*train, "--out", str(d / "r"), "--set", "sac.policy_lr=-1e-4"],
        "train --set log_interval=0": [*train, "--out", str(d / "r"), "--set", "log_interval=0"],
        "train --set cql.alpha=-5": [*train, "--out", str(d / "r"), "--set", "cql.alpha=-5"],
        "train --out <file>": [*train, "--out", str(a_file)],
        "export --out <file>": ["export", "--run", str(w / "run"), "--out", str(a_file)],
        "inspect empty.h5": ["inspect", str(d / "empty.h5")],
    }
    for damage in ("nan_actions", "inf_state", "float_images", "no_next_obs", "2d_rewards"):
        path = _foreign(w / "task.h5", d / f"{damage}.h5", damage)
        cases[f"train on a dataset with {damage}"] = ["train", *TINY, "--steps", "2", "--task", str(path), "--prior",
                                                      str(w / "prior.h5"), "--out", str(d / "r")] \
            if damage != "float_images" else ["train", *[x if x != "state" else "image" for x in TINY], "--steps", "2",
                                              "--task", str(path), "--prior", str(w / "prior.h5"), "--out", str(d / "r")]
    doc = torch.load(w / "run" / "checkpoint.pt", weights_only=True)
    old = {k: v for k, v in doc.items() if k != "sha256"} | {"format": "cog_core.rl.checkpoint/1"}
    meta = json.loads(doc["meta_json"])
    for name, ck in (("no metadata", {k: v for k, v in old.items() if k != "meta_json"}),
                     ("metadata not JSON", old | {"meta_json": "{step: 2"}),
                     ("metadata without spec", old | {"meta_json": json.dumps({"step": 2, "config": meta["config"]})}),
                     ("metadata with a bad config", old | {"meta_json": json.dumps({**meta, "config": {"algo": "cql"}})}),
                     ("no model", {k: v for k, v in old.items() if k != "model"}),
                     ("a weight missing", old | {"model": dict(list(doc["model"].items())[1:])})):
        torch.save(ck, d / f"ck_{len(cases)}.pt")
        cases[f"export a checkpoint with {name}"] = ["export", "--run", str(d / f"ck_{len(cases)}.pt"), "--out", str(d / f"p{len(cases)}")]
    for name, argv in cases.items():
        code, text = run_cli(argv)
        p.record(5, name, refusal(code, text), text)
    if mounted:
        subprocess.run(["umount", "-l", str(ro)], capture_output=True)

    export = w / "export"
    tamperings: dict[str, Callable] = {
        "obs.keys=[image]": lambda m, x: m["obs"].update(keys=["image"]),
        "obs.keys=[state]": lambda m, x: m["obs"].update(keys=["state"]),
        "obs.mode=image": lambda m, x: m["obs"].update(mode="image"),
        "obs.image_size=-1": lambda m, x: m["obs"].update(image_size=-1),
        "obs.vec_dim as text": lambda m, x: m["obs"].update(vec_dim="6"),
        "obs.vec_dim=3": lambda m, x: m["obs"].update(vec_dim=3),
        "action.dim=0": lambda m, x: m["action"].update(dim=0),
        "action.dim=7": lambda m, x: m["action"].update(dim=7),
        "no obs": lambda m, x: m.pop("obs"),
        "no action": lambda m, x: m.pop("action"),
        "no config": lambda m, x: m.pop("config"),
        "config with an unknown key": lambda m, x: m["config"].update(algorithm="cog"),
        "config algo=cql": lambda m, x: m["config"].update(algo="cql"),
        "config obs=image": lambda m, x: m["config"].update(obs="image"),
        "config hidden sizes changed": lambda m, x: m["config"]["net"].update(state_hidden=[4, 4]),
        "format changed": lambda m, x: m.update(format="cog_core.policy/9"),
        "weight removed": lambda m, x: x.pop(next(iter(x))),
        "weight added": lambda m, x: x.update(extra=torch.zeros(3)),
        "weight reshaped": lambda m, x: x.update({next(iter(x)): torch.zeros(1, 1)}),
        "weight as an int tensor": lambda m, x: x.update({next(iter(x)): x[next(iter(x))].long()}),
        "policy.json not JSON": "json",
        "policy.pt a list": "list",
    }
    for name, change in tamperings.items():
        t = d / f"t_{len(p.results)}"
        shutil.copytree(export, t)
        m = json.loads((t / "policy.json").read_text())
        x = torch.load(t / "policy.pt", weights_only=True)
        if change == "json":
            (t / "policy.json").write_text('{"format": "cog_core.policy/1", "obs": ')
        elif change == "list":
            torch.save([torch.zeros(2)], t / "policy.pt")
        else:
            change(m, x)
            (t / "policy.json").write_text(json.dumps(m))
            torch.save(x, t / "policy.pt")
        code, text = run_cli(["eval", "--run", str(t), "--conditions", "drawer/open", "--episodes", "1"])
        p.record(5, f"tampered export: {name}", refusal(code, text), text)


def _foreign(src: Path, path: Path, damage: str) -> Path:
    """A dataset as another writer would make it (no checksums), damaged one way."""
    shutil.copy(src, path)
    with h5py.File(path, "a") as h5:
        if "format_version" in h5["data"].attrs:
            del h5["data"].attrs["format_version"]
        g = h5["data/demo_1"]
        if damage == "nan_actions":
            a = g["actions"][()]
            a[2, 3] = np.nan
            g["actions"][...] = a
        elif damage == "inf_state":
            s = g["obs/lowdim"][()]
            s[1, 0] = np.inf
            g["obs/lowdim"][...] = s
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


def main_(argv: list[str] | None = None) -> int:
    """Run the pass; print per-group and total counts."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", help="working directory (default: a temporary one, removed)")
    parser.add_argument("--groups", default="1,2,3,4,5")
    parser.add_argument("--json", help="write every fault's outcome here")
    args = parser.parse_args(argv)
    root = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="fault_pass_"))
    root.mkdir(parents=True, exist_ok=True)
    p = Pass(root)
    t0 = time.perf_counter()
    try:
        for g in sorted(int(x) for x in args.groups.split(",")):
            {1: group1, 2: group2, 3: group3, 4: group4, 5: group5}[g](p)
    finally:
        if not args.out:
            shutil.rmtree(root, ignore_errors=True)
    print(f"\n{len(p.results)} faults in {time.perf_counter() - t0:.0f} s")
    header = f"{'group':>6} {'tried':>6} " + " ".join(f"{o:>12}" for o in OUTCOMES)
    print(header)
    for g in sorted({r["group"] for r in p.results}) + [0]:
        rows = [r for r in p.results if g == 0 or r["group"] == g]
        c = Counter(r["outcome"] for r in rows)
        print(f"{g if g else 'all':>6} {len(rows):>6} " + " ".join(f"{c[o]:>12}" for o in OUTCOMES))
    if args.json:
        Path(args.json).write_text(json.dumps(p.results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main_())
