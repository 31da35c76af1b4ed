"""cog_core.rl.run_dir: a run folder's files and their readers."""

from __future__ import annotations

import json

from cog_core.rl.run_dir import RunDir


def test_names_and_readers_of_an_empty_run(tmp_path):
    run = RunDir(tmp_path / "run")
    assert run.checkpoint == tmp_path / "run" / "checkpoint.pt" and run.metrics.name == "metrics.csv"
    assert run.eval_log.name == "eval.jsonl" and run.config.name == "config.yaml" and run.tensorboard.name == "tb"
    assert run.steps_done() == 0 and run.train_seconds() is None
    assert run.eval_curve() == [] and run.final_results() is None


def test_metrics_curve_and_final_evaluation(tmp_path):
    run = RunDir(tmp_path)
    run.metrics.write_text("step,wall_s,updates_per_s\n100,12.5,8.0\n200,25.0,8.0\n")
    assert run.steps_done() == 200 and run.train_seconds() == 25.0
    run.metrics.write_text("step,wall_s,updates_per_s\n100,12.5,8.0\n2")  # a row being written
    assert run.steps_done() == 2 and run.train_seconds() is None
    run.metrics.write_text("step,wall_s\n1e")  # half a number: not a step yet
    assert run.steps_done() == 0
    run.eval_log.write_text('{"step": 5, "success/drawer/open": 0.5}\n\n{"step": 10, "success/drawer/open": 1.0}\n')
    assert [row["step"] for row in run.eval_curve()] == [5, 10]
    run.final_eval.write_text(json.dumps({"meta": {}, "results": [{"condition": "drawer/open", "episodes": 4}]}))
    assert run.final_results() == {"drawer/open": {"condition": "drawer/open", "episodes": 4}}
