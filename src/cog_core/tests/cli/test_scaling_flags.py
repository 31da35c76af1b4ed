"""`--device` and `--executor` / `--ray-address` on the command line: bad values are one clear error
line before any work starts; the local path never imports Ray; a command with `--executor ray`
starts its own Ray instance and stops it."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import pytest
import torch

from cog_core.cli import main


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A one-update BC run on pick-place's 12-D lowdim (the real trainer and checkpoint)."""
    from ..rl.helpers import tiny_bc_run

    return tiny_bc_run(tmp_path_factory.mktemp("flags") / "run")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens once it is closed


no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA: a cuda request is valid here")


def test_a_malformed_device_is_one_line_naming_the_choices(run, tmp_path, capsys):
    assert main(["train", "--task", "x.h5", "--out", str(tmp_path / "r"), "--device", "gpu"]) == 2
    assert "device='gpu' is not one of auto (CUDA when available, else CPU), cpu, cuda or cuda:N" in capsys.readouterr().err
    assert main(["table", "--preset", "smoke", "--device", "tpu", "--out", str(tmp_path / "t")]) == 2
    assert "device='tpu'" in capsys.readouterr().err
    assert not (tmp_path / "t").exists()


@no_cuda
def test_cuda_on_a_machine_without_it_is_one_line_for_train_finetune_and_table(run, tmp_path, capsys):
    assert main(["train", "--task", "missing.h5", "--obs", "state", "--out", str(tmp_path / "r"), "--device", "cuda"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --device cuda: torch") and "sees no CUDA device" in err and "--device cpu" in err
    assert main(["finetune", "--run", str(run), "--device", "cuda:0", "--out", str(tmp_path / "ft")]) == 2
    assert "--device cuda:0: torch" in capsys.readouterr().err
    assert main(["table", "--preset", "smoke", "--device", "cuda", "--out", str(tmp_path / "t")]) == 2
    assert "sees no CUDA device" in capsys.readouterr().err
    assert not (tmp_path / "t").exists() and not (tmp_path / "ft").exists()


def test_resume_may_move_a_run_to_another_device(run, tmp_path, capsys):
    import shutil

    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    assert main(["train", "--out", str(copy), "--resume", "--device", "cpu", "--task", "t.h5", "--prior", "p.h5", "--print-config"]) == 0
    assert "device: cpu" in capsys.readouterr().out


def test_bad_executor_requests_are_refused_before_anything_runs(run, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["collect", "--preset", "drawer-task", "--out", str(tmp_path / "c"), "--executor", "dask"])
    assert exit_info.value.code == 2 and "invalid choice: 'dask'" in capsys.readouterr().err
    assert main(["collect", "--preset", "drawer-task", "--out", str(tmp_path / "c"), "--ray-address", "auto"]) == 2
    assert "--ray-address only applies with --executor ray" in capsys.readouterr().err
    assert main(["eval", "--run", str(run), "--conditions", "pick_place/object_in_gripper", "--executor", "ray",
                 "--ray-address", "http://head"]) == 2
    assert "--ray-address takes auto, HOST:PORT or ray://HOST:PORT" in capsys.readouterr().err
    assert main(["table", "--preset", "smoke", "--executor", "ray", "--device", "cuda:1", "--out", str(tmp_path / "t")]) == 2
    assert "each run gets a GPU of its own from Ray; use --device cuda" in capsys.readouterr().err
    assert not (tmp_path / "c").exists() and not (tmp_path / "t").exists()


def test_an_address_where_no_cluster_answers_is_one_line_within_seconds(run, tmp_path, capsys):
    address = f"127.0.0.1:{_closed_port()}"
    assert main(["eval", "--run", str(run), "--conditions", "pick_place/object_in_gripper", "--executor", "ray",
                 "--ray-address", address]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: --ray-address {address}: nothing answers there") and "ray start --head" in err


def test_the_help_and_the_local_executor_never_import_ray():
    code = ("import sys\n"
            "from cog_core.cli import build_parser\n"
            "build_parser()\n"
            "import cog_core.experiments.table1.run, cog_core.experiments.evaluate, cog_core.experiments.collect\n"
            "assert 'ray' not in sys.modules, 'ray imported'\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_a_command_on_ray_starts_its_own_instance_and_stops_it(tmp_path):
    pytest.importorskip("ray")
    out = tmp_path / "bags"
    proc = subprocess.run([sys.executable, "-m", "cog_core", "collect", "--preset", "drawer-task", "--episodes", "2",
                           "--workers", "2", "--executor", "ray", "--quiet", "--out", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads((out / "collection_summary.json").read_text())
    assert summary["episodes"] == 2 and sorted(p.name for p in out.glob("worker_*")) == ["worker_00", "worker_01"]
