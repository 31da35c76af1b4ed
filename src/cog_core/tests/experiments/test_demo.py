"""The main job runs every stage and writes its report (tiny sizes; slow: opt in with -m slow)."""

import json
from pathlib import Path

import pytest

from cog_core.experiments.demo import CONDITIONS, DEFAULT_STEPS, DemoConfig, run_demo
from cog_core.rl.config import SHORT_RUN_OVERRIDES


@pytest.mark.slow
@pytest.mark.parametrize("profile", [None, "paper"], ids=["default-profile", "paper-profile"])
def test_demo_runs_every_stage_and_writes_the_success_table(tmp_path, profile):
    cfg = DemoConfig(out=str(tmp_path / "demo"), steps=100, prior_scale=0.0003, task_scale=0.0003, eval_episodes=1, videos=1,
                     train_overrides=(*SHORT_RUN_OVERRIDES, "encoder.steps=20", "encoder.crops=2"))
    if profile is not None:
        cfg.prior_profile = profile
    report = run_demo(cfg)
    saved = json.loads((tmp_path / "demo" / "results.json").read_text())
    assert saved["results"].keys() == report["results"].keys() == {"cog", "no-prior"}
    for algo in ("cog", "no-prior"):
        assert set(saved["results"][algo]) == set(CONDITIONS)
    assert (tmp_path / "demo" / "scenes.png").is_file() and (tmp_path / "demo" / "results.md").is_file()
    # it learns from the camera, shows COG's rollouts and ends with a policy the node accepts
    assert saved["config"]["obs"] == "image+state"
    assert len(saved["videos"]) == len(CONDITIONS) and all(Path(v).is_file() for v in saved["videos"])
    deployed = saved["deployed"]
    assert (Path(deployed["policy"]) / "policy.json").is_file() and "run.launch.py" in deployed["launch"]
    assert [e["condition"] for e in deployed["episodes"]] == list(CONDITIONS)
    assert all(Path(e["bag"]).is_dir() and e["status"] == "finished" for e in deployed["episodes"])
    # by default the demo keeps the prior it was tuned on, whatever `cogrl collect` defaults to
    for preset in ("drawer-prior", "drawer-task"):
        summary = json.loads((tmp_path / "demo" / "bags" / preset / "collection_summary.json").read_text())
        assert summary["prior_profile"] == (profile or "state-table")


def _cells(rates: dict[str, float]) -> dict:
    return {c: {"success_rate": rates.get(c, 0.0), "ci95": [0.0, 1.0]} for c in CONDITIONS}


def test_the_verdict_compares_cog_with_no_prior_only_when_both_ran(tmp_path):
    from cog_core.experiments.demo import _write_report

    seconds = {"total": 60.0, "train": 50.0}
    results = {"cog": _cells({"drawer/closed": 0.5}), "no-prior": _cells({})}
    _write_report(tmp_path, {"results": results, "seconds": seconds})
    assert "COG beats no-prior on 1 of 3 novel conditions: drawer/closed" in (tmp_path / "results.md").read_text()
    _write_report(tmp_path, {"results": {"cog": results["cog"]}, "seconds": seconds})
    assert "no verdict: the comparison needs both cog and no-prior (this run trained cog)" in (tmp_path / "results.md").read_text()


def test_the_demo_learns_from_the_camera_by_default_and_its_steps_follow_the_observations():
    assert DemoConfig().obs == "image+state" and DemoConfig().train_steps() == DEFAULT_STEPS["image+state"]
    assert DemoConfig(obs="state").train_steps() == DEFAULT_STEPS["state"] < DEFAULT_STEPS["image+state"]
    assert DemoConfig(obs="state", steps=123).train_steps() == 123


@pytest.mark.parametrize("args, message", [
    (["--eval-episodes", "0"], "eval episodes must be >= 1"),
    (["--steps", "0"], "steps must be >= 1"),
    (["--videos", "-1"], "videos must be >= 0"),
    (["--prior-scale", "0"], "data scales must be > 0"),
])
def test_bad_demo_settings_are_refused_in_one_line_before_anything_runs(tmp_path, capsys, args, message):
    from cog_core.cli import main

    assert main(["demo", "--out", str(tmp_path / "demo"), *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [err[0]] and message in err[0] and "Traceback" not in err[0]
    assert not (tmp_path / "demo").exists()  # nothing collected or written
