"""The main job runs every stage and writes its report (tiny sizes; slow: opt in with -m slow)."""

import json

import pytest

from cog_core.demo import CONDITIONS, DemoConfig, run_demo


@pytest.mark.slow
def test_demo_runs_every_stage_and_writes_the_success_table(tmp_path):
    cfg = DemoConfig(out=str(tmp_path / "demo"), steps=100, prior_scale=0.0003, task_scale=0.0003, eval_episodes=1)
    report = run_demo(cfg)
    saved = json.loads((tmp_path / "demo" / "results.json").read_text())
    assert saved["results"].keys() == report["results"].keys() == {"cog", "no-prior"}
    for algo in ("cog", "no-prior"):
        assert set(saved["results"][algo]) == set(CONDITIONS)
    assert (tmp_path / "demo" / "scenes.png").is_file() and (tmp_path / "demo" / "results.md").is_file()
