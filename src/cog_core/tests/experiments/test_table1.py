"""`cogrl table`: aggregation over seeds, the report and curves; the whole command on a smoke preset (slow)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from cog_core.experiments.pipeline import CollectionMismatch
from cog_core.experiments.stats import welch_test, wilson_interval
from cog_core.experiments.table1.config import ORACLE_METHOD, SCENES, command_line, parse_scales, parse_steps, table_config
from cog_core.experiments.table1.report import (collect_report, headline_problems, markdown_report, merge_report, write_headline,
                                                write_report)
from cog_core.experiments.table1.run import _jobs, recorded_sizes, run_table


def _fake_run(out, scene, method, seed, successes: dict[str, int], episodes: int, curve: list[tuple[int, dict]],
              reached: dict[str, dict[str, float]] | None = None, split: str | None = "test"):
    """A finished run's files as `cogrl train` / `cogrl eval --json` write them."""
    run = out / "runs" / scene / method / f"seed{seed}"
    run.mkdir(parents=True)
    results = [{"condition": c, "episodes": episodes, "successes": k, "success_rate": k / episodes,
                "ci95": list(wilson_interval(k, episodes)), "mean_return": 0.0, "mean_length": 40.0, "videos": [],
                "reached": (reached or {}).get(c, {})}
               for c, k in successes.items()]
    meta = {} if split is None else {"split": split}  # None: an evaluation from before the val/test split
    (run / "final_eval.json").write_text(json.dumps({"meta": meta, "results": results}))
    (run / "eval.jsonl").write_text("".join(json.dumps({"step": s, **{f"success/{c}": v for c, v in r.items()}}) + "\n" for s, r in curve))
    (run / "metrics.csv").write_text("step,wall_s,updates_per_s\n100,12.5,8.0\n")


def test_report_aggregates_seeds_and_writes_table_and_curves(tmp_path):
    cfg = table_config("smoke", out=str(tmp_path), scenes=("pick-place",), methods=("no-prior", "cog"), seeds=(0, 1, 2))
    conds = ("pick_place/object_in_gripper", "pick_place/object_on_table")
    for seed, k in ((0, 8), (1, 6)):
        stages = {conds[1]: {"grasped": k / 10 + 0.1, "object_in_tray": k / 10}}
        _fake_run(tmp_path, "pick-place", "cog", seed, {conds[0]: 10, conds[1]: k}, 10, [(100, {conds[1]: 0.2}), (200, {conds[1]: k / 10})],
                  reached=stages)
        _fake_run(tmp_path, "pick-place", "no-prior", seed, {conds[0]: 9, conds[1]: 0}, 10, [(100, {conds[1]: 0.0})],
                  reached={conds[1]: {"grasped": 0.0, "object_in_tray": 0.0}})
    report = collect_report(cfg, tmp_path, {0: {"pick-place-prior": 123}, 1: {"pick-place-prior": 125}}, 1.0)
    cell = report["cells"][conds[1]]["cog"]
    # the sample std over seeds (ddof=1): 0.1414, not the population std 0.1
    assert cell["rates"] == [0.8, 0.6] and cell["mean"] == pytest.approx(0.7) and cell["std"] == pytest.approx(0.02 ** 0.5)
    assert cell["pooled_ci95"] == pytest.approx(list(wilson_interval(14, 20)))
    assert report["curves"][conds[1]]["cog"] == {"steps": [100, 200], "per_seed": {"0": [0.2, 0.8], "1": [0.2, 0.6]}}
    md = markdown_report(report)
    # seed 2 has no finished run: the cells say how many seeds they average
    assert "| pick_place/object_on_table * | 0.00 ± 0.00 (2 of 3 seeds) (0.00) | 0.70 ± 0.14 (2 of 3 seeds) (0.96) |" in md
    assert "pick-place-prior 124" in md and "data seed of each training seed: 0 -> 0, 1 -> 1, 2 -> 2" in md
    assert report["split"] == "test" and report["data_seeds"] == {"0": 0, "1": 1, "2": 2}
    assert report["dataset_transitions_per_data_seed"] == {"0": {"pick-place-prior": 123}, "1": {"pick-place-prior": 125}}
    assert "Final evaluation on the `test` split" in md
    # COG against the paper's mean and std (0.96, 0.04 over 3 seeds): Welch's test over our 2 seeds
    p = welch_test([0.8, 0.6], 0.96, 0.04, 3)[1]
    assert 0.05 < p < 0.5  # two seeds this spread cannot tell 0.70 from 0.96
    assert f"| pick_place/object_on_table | 0.70 (0.14, 2 seeds) | 0.96 (0.04) | -0.26 | {p:.2f} |" in md
    assert "| pick_place/object_in_gripper | 1.00 (0.00, 2 seeds) | 1.00 (0.00) | +0.00 | - |" in md
    # the stages each method reached, pooled over seeds (0.9 and 0.7 of 10 episodes each)
    assert cell["reached"] == pytest.approx({"grasped": 0.8, "object_in_tray": 0.7})
    # an evaluation that did not track a subgoal (an older one) does not count as 0 for it
    from cog_core.experiments.table1.report import _pooled_reach_rates

    old = {"episodes": 10, "reached": {"grasped": 0.5}}
    new = {"episodes": 30, "reached": {"grasped": 1.0, "blocker_fallen": 0.1}}
    assert _pooled_reach_rates([old, new]) == pytest.approx({"grasped": 0.875, "blocker_fallen": 0.1})
    assert _pooled_reach_rates([{"episodes": 5}]) == {}  # written before subgoals were tracked
    assert "| pick_place/object_on_table | grasped | 0.00 | 0.80 |" in md
    assert "| pick_place/object_in_gripper |" not in md.split("Where the episodes stop")[1].split("## Setup")[0]
    assert f"`cogrl table --preset smoke --scenes pick-place --methods no-prior,cog --seeds 0,1,2 --out {tmp_path}`" in md
    write_report(report, tmp_path)
    assert (tmp_path / "curves_pick-place.png").stat().st_size > 1000
    assert json.loads((tmp_path / "results.json").read_text())["cells"][conds[1]]["cog"]["mean"] == pytest.approx(0.7)


def test_report_command_names_only_what_differs_from_the_preset_and_sizes_come_from_the_bags(tmp_path):
    from dataclasses import asdict

    assert command_line(asdict(table_config("cpu", out="results"))) == "cogrl table --preset cpu --out results"
    assert command_line(asdict(table_config("cpu", out="r", seeds=(0, 1), steps=5000))) == "cogrl table --preset cpu --seeds 0,1 --steps 5000 --out r"
    assert command_line(asdict(table_config("cpu", out="r", obs="image+state"))) == "cogrl table --preset cpu --out r"
    # on state the preset's oracle row drops out by itself, so the command needs no --methods
    assert command_line(asdict(table_config("cpu", out="r", obs="state"))) == "cogrl table --preset cpu --obs state --out r"
    tuned = table_config("cpu", out="r", extra_overrides=("sac.policy_lr=3e-4",))
    assert tuned.train_overrides[-1] == "sac.policy_lr=3e-4"  # after the preset's sac.policy_lr, so it wins
    assert command_line(asdict(tuned)) == "cogrl table --preset cpu --set sac.policy_lr=3e-4 --out r"
    uniform = table_config("cpu", out="r", extra_overrides=("data.policy_task_share=null",))  # the preset before 2026-12-04
    assert command_line(asdict(uniform)) == "cogrl table --preset cpu --set data.policy_task_share=null --out r"
    assert uniform.overrides_for("drawer")[-1] == uniform.overrides_for("pick-place")[-1] == "data.policy_task_share=null"
    assert command_line(asdict(table_config("cpu", out="r", split="val"))) == "cogrl table --preset cpu --split val --out r"
    # the collections depend on the worker count (a seed stream per worker), so the command names it
    assert command_line(asdict(table_config("cpu", out="r", workers=4))) == "cogrl table --preset cpu --workers 4 --out r"
    assert (command_line(asdict(table_config("cpu", out="r", prior_profile="state-table")))
            == "cogrl table --preset cpu --prior-profile state-table --out r")
    # a report from before profiles existed was collected with today's state-table behaviours
    old = {k: v for k, v in asdict(table_config("cpu", out="r")).items() if k not in ("split", "prior_profile")}
    assert command_line(old) == "cogrl table --preset cpu --prior-profile state-table --out r"
    cfg = table_config("cpu", out=str(tmp_path), seeds=(0, 1))
    for data_seed, n in ((0, 4321), (1, 4400)):
        summary = tmp_path / "bags" / f"data_seed{data_seed}" / "drawer-task" / "collection_summary.json"
        summary.parent.mkdir(parents=True)
        summary.write_text(json.dumps({"transitions": n}))
    assert recorded_sizes(cfg, tmp_path) == {0: {"drawer-task": 4321}, 1: {"drawer-task": 4400}}


def test_step_counts_can_differ_per_scene(tmp_path):
    from dataclasses import asdict

    cpu = table_config("cpu", out="r")
    assert (cpu.steps_for("drawer"), cpu.steps_for("pick-place")) == (60_000, 90_000)
    assert parse_steps("20000") == (20_000, {})
    assert parse_steps("20000, pick-place=30000") == (20_000, {"pick-place": 30_000})
    # a plain count replaces the preset's per-scene counts; SCENE=N adds to them
    short = table_config("cpu", out="r", steps=20_000)
    assert (short.steps_for("drawer"), short.steps_for("pick-place")) == (20_000, 20_000)
    assert command_line(asdict(short)) == "cogrl table --preset cpu --steps 20000 --out r"
    longer = table_config("cpu", out="r", scene_steps={"drawer": 80_000})
    assert (longer.steps_for("drawer"), longer.steps_for("pick-place")) == (80_000, 90_000)
    assert command_line(asdict(longer)) == "cogrl table --preset cpu --steps drawer=80000 --out r"
    mixed = table_config("cpu", out="r", steps=20_000, scene_steps={"pick-place": 30_000})
    assert command_line(asdict(mixed)) == "cogrl table --preset cpu --steps 20000,pick-place=30000 --out r"
    # the runs are trained for their scene's count, and the report says so
    data = {s: {"prior": tmp_path / f"prior{s}.h5", "task": tmp_path / f"task{s}.h5"} for s in (0, 1, 2)}
    for scene, expected in (("drawer", 80_000), ("pick-place", 90_000)):
        job = _jobs(longer, tmp_path, SCENES[scene], data)[0]
        train = job.commands[0]
        assert job.steps == expected and train[train.index("--steps") + 1] == str(expected)
    # each training seed trains on its own datasets
    for job in _jobs(longer, tmp_path, SCENES["drawer"], data):
        train, seed = job.commands[0], int(job.name.rsplit("seed", 1)[1])
        assert train[train.index("--seed") + 1] == str(seed) and train[train.index("--task") + 1] == str(tmp_path / f"task{seed}.h5")
        assert train[train.index("--prior") + 1] == str(tmp_path / f"prior{seed}.h5")
    report = collect_report(longer, tmp_path, {}, 0.0)
    assert "gradient steps per run: drawer 80000, pick-place 90000" in markdown_report(report)


def test_data_scales_can_be_set_per_scene():
    from dataclasses import asdict

    assert parse_scales("drawer=0.1:0.05") == {"drawer": (0.1, 0.05)}
    assert parse_scales("drawer=0.1, pick-place=0.5:0.2") == {"drawer": (0.1, None), "pick-place": (0.5, 0.2)}
    cpu = table_config("cpu", out="r")
    bigger = table_config("cpu", out="r", scene_scales={"drawer": (0.1, None)})
    assert bigger.scales == {"drawer": (0.1, cpu.scales["drawer"][1]), "pick-place": cpu.scales["pick-place"]}
    assert command_line(asdict(bigger)) == f"cogrl table --preset cpu --scale drawer=0.1:{cpu.scales['drawer'][1]:g} --out r"
    both = table_config("cpu", out="r", scene_scales={"drawer": (0.1, 0.05)})
    assert command_line(asdict(both)) == "cogrl table --preset cpu --scale drawer=0.1:0.05 --out r"
    report = collect_report(both, Path("r"), {}, 0.0)  # the report's config (lists, as in results.json) gives the same command
    assert "--scale drawer=0.1:0.05" in markdown_report(report)


def test_training_settings_can_differ_per_scene(tmp_path):
    from dataclasses import asdict

    preset = table_config("cpu", out="r")  # the drawer's task rows carry 55 % of the actor's loss, pick-place's 50 %
    assert preset.overrides_for("drawer")[-1] == "data.policy_task_share=0.55"
    assert [o for o in preset.overrides_for("pick-place") if "policy_task_share" in o] == ["data.policy_task_share=0.5"]
    cfg = table_config("cpu", out="r", extra_overrides=("pick-place:data.policy_task_share=0.6", "sac.q_lr=1e-4"))
    assert cfg.scene_overrides == {"drawer": ("data.policy_task_share=0.55",), "pick-place": ("data.policy_task_share=0.6",)}
    assert cfg.train_overrides[-1] == "sac.q_lr=1e-4" and "pick-place:" not in " ".join(cfg.train_overrides)
    # the scene's setting comes after the preset's 0.5, so it wins on that scene only
    assert cfg.overrides_for("pick-place")[-2:] == ("sac.q_lr=1e-4", "data.policy_task_share=0.6")
    assert "data.policy_task_share=0.6" not in cfg.overrides_for("drawer")
    data = {s: {"prior": tmp_path / "prior.h5", "task": tmp_path / "task.h5"} for s in (0, 1, 2)}
    for scene, share in (("drawer", "0.55"), ("pick-place", "0.6")):
        train = _jobs(cfg, tmp_path, SCENES[scene], data)[0].commands[0]
        shares = [a for a in train if a.startswith("data.policy_task_share=")]
        assert shares[-1] == f"data.policy_task_share={share}"
    expected = "cogrl table --preset cpu --set sac.q_lr=1e-4 --set pick-place:data.policy_task_share=0.6 --out r"
    assert command_line(asdict(cfg)) == expected
    md = markdown_report(collect_report(cfg, tmp_path, {}, 0.0))  # through results.json's lists as well
    assert f"`{expected}`" in md and "`data.policy_task_share=0.6` (pick-place only)" in md
    assert "`data.policy_task_share=0.55` (drawer only)" in md
    # what the command line sets wins over the preset's setting for a scene
    assert table_config("cpu", extra_overrides=("data.policy_task_share=0.6",)).overrides_for("drawer")[-1] == "data.policy_task_share=0.6"
    # Table 1 until 2026-12-04: the drawer at 50 % too
    half = table_config("cpu", out="r", extra_overrides=("drawer:data.policy_task_share=0.5",))
    assert half.overrides_for("drawer")[-1] == "data.policy_task_share=0.5"
    assert command_line(asdict(half)) == "cogrl table --preset cpu --set drawer:data.policy_task_share=0.5 --out r"
    with pytest.raises(ValueError, match="unknown scene 'kitchen' in --set kitchen:KEY=VALUE"):
        table_config("cpu", extra_overrides=("kitchen:sac.q_lr=1e-4",))
    with pytest.raises(ValueError, match="SCENE:KEY=VALUE"):
        table_config("cpu", extra_overrides=("drawer:sac.no_such_field=1",))


def test_a_report_takes_the_runs_it_lacks_from_an_earlier_report_of_the_same_settings(tmp_path):
    drawer, pick = SCENES["drawer"].conditions, SCENES["pick-place"].conditions
    earlier_dir, out = tmp_path / "earlier", tmp_path / "out"
    cfg = table_config("smoke", out=str(out), methods=("no-prior", "cog"))
    for scene, conds in (("drawer", drawer), ("pick-place", pick)):
        for method in ("no-prior", "cog"):
            _fake_run(earlier_dir, scene, method, 0, dict.fromkeys(conds, 1), 2, [(150, dict.fromkeys(conds, 0.5))])
    earlier = json.loads(json.dumps(collect_report(replace(cfg, out=str(earlier_dir)), earlier_dir,
                                                   {0: {"drawer-prior": 10, "pick-place-prior": 20}}, 0.0)))
    _fake_run(out, "drawer", "cog", 0, dict.fromkeys(drawer, 2), 2, [])  # retrained here: this folder's run wins
    report = merge_report(collect_report(cfg, out, {0: {"drawer-prior": 11}}, 0.0), earlier, "earlier/results.json")
    assert report["merged"]["cells"] == {"drawer": ["no-prior"], "pick-place": ["no-prior", "cog"]}
    assert report["cells"][drawer[1]]["cog"]["rates"] == [1.0] and report["cells"][drawer[1]]["no-prior"]["rates"] == [0.5]
    assert report["cells"][pick[1]]["cog"] == earlier["cells"][pick[1]]["cog"]
    assert report["curves"][pick[1]]["cog"]["steps"] == [150]
    assert report["dataset_transitions"] == {"drawer-prior": 11, "pick-place-prior": 20}  # this folder's own sizes stay
    md = markdown_report(report)
    assert "Taken from `earlier/results.json`" in md and "pick-place: no prior, COG" in md
    # a merged report is a probe, labelled as such, and never a headline table
    assert report["probe"] == "merged" and "Probe: merged." in md
    with pytest.raises(ValueError, match="merged from earlier/results.json"):
        write_headline(report, tmp_path / "docs" / "table.json")
    assert not (tmp_path / "docs").exists()
    # cells evaluated on another split cannot stand in
    val = json.loads(json.dumps({**earlier, "split": "val"}))
    with pytest.raises(ValueError, match="evaluated on the val episodes and this report on the test split"):
        merge_report(collect_report(cfg, out, {}, 0.0), val, "val/results.json")
    legacy = {k: v for k, v in earlier.items() if k != "split"}  # a report from before the split
    with pytest.raises(ValueError, match=r"old \(pre-split\) episodes"):
        merge_report(collect_report(cfg, out, {}, 0.0), legacy, "old/results.json")
    # runs trained differently cannot stand in: the error names the setting and both values
    other = table_config("smoke", out=str(out), methods=("no-prior", "cog"), extra_overrides=("pick-place:sac.q_lr=1e-4",))
    with pytest.raises(ValueError, match=r"trained pick-place differently \(sac.q_lr 0.0001 here, 0.0003 there\)"):
        merge_report(collect_report(other, out, {}, 0.0), earlier, "earlier/results.json")
    with pytest.raises(ValueError, match="steps 500 here, 300 there"):
        merge_report(collect_report(replace(cfg, steps=500), out, {}, 0.0), earlier, "earlier/results.json")


def test_the_headline_table_is_one_complete_command_on_the_test_split(tmp_path):
    conds = SCENES["pick-place"].conditions
    cfg = table_config("smoke", out=str(tmp_path), scenes=("pick-place",), methods=("no-prior", "cog"), seeds=(0, 1))
    for seed in (0, 1):
        for method in ("no-prior", "cog"):
            _fake_run(tmp_path, "pick-place", method, seed, dict.fromkeys(conds, 1 + seed), 2, [])
    report = json.loads(json.dumps(collect_report(cfg, tmp_path, {0: {"pick-place-prior": 10}, 1: {"pick-place-prior": 12}}, 0.0)))
    write_headline(report, tmp_path / "docs" / "table.json")
    assert json.loads((tmp_path / "docs" / "table.json").read_text()) == report
    assert "Final evaluation on the `test` split" in (tmp_path / "docs" / "table.md").read_text()
    # a probe on val, or a table with a missing run, is refused
    for problem, bad in (("on the val episodes, not the test split", {**report, "split": "val"}),
                         (r"on the old \(pre-split\) episodes", {k: v for k, v in report.items() if k != "split"})):
        with pytest.raises(ValueError, match=problem):
            write_headline(bad, tmp_path / "bad.json")
    (tmp_path / "runs" / "pick-place" / "cog" / "seed1" / "final_eval.json").unlink()
    with pytest.raises(ValueError, match="runs are missing for 2 cells"):
        write_headline(collect_report(cfg, tmp_path, {}, 0.0), tmp_path / "bad.json")
    assert not (tmp_path / "bad.json").exists()


PIXEL_TABLE = Path(__file__).resolve().parents[4] / "docs" / "results" / "table_image.json"


@pytest.mark.skipif(not PIXEL_TABLE.exists(), reason="docs/results/table_image.json is not in this checkout")
def test_the_committed_pixel_table_is_a_headline_table_and_its_page_is_its_own_rendering():
    report = json.loads(PIXEL_TABLE.read_text())
    assert headline_problems(report) == []
    cfg = report["config"]
    assert cfg["obs"] == "image+state" and ORACLE_METHOD in cfg["methods"] and cfg["eval_episodes"] == 250
    assert sorted(int(s) for s in report["data_seeds"]) == sorted(cfg["seeds"])
    for cond, methods in report["cells"].items():
        for method, cell in methods.items():
            assert cell["episodes"] == cfg["eval_episodes"] * len(cfg["seeds"]), (cond, method)
    assert PIXEL_TABLE.with_suffix(".md").read_text() == markdown_report(report), (
        "docs/results/table_image.md differs from what its JSON renders: regenerate both with "
        "`cogrl table --report-only --out <the table's folder> --headline docs/results/table_image.json`")


def test_the_report_keeps_to_its_split_and_uses_the_sample_std(tmp_path):
    conds = SCENES["pick-place"].conditions
    cfg = table_config("smoke", out=str(tmp_path), scenes=("pick-place",), methods=("cog",), seeds=(0, 1, 2))
    _fake_run(tmp_path, "pick-place", "cog", 0, dict.fromkeys(conds, 9), 10, [])
    _fake_run(tmp_path, "pick-place", "cog", 1, dict.fromkeys(conds, 5), 10, [], split="val")
    _fake_run(tmp_path, "pick-place", "cog", 2, dict.fromkeys(conds, 7), 10, [], split=None)
    report = collect_report(cfg, tmp_path, {}, 0.0)
    cell = report["cells"][conds[1]]["cog"]
    assert cell["rates"] == [0.9] and cell["std"] is None  # one seed has no sample std
    assert report["not_on_this_split"] == ["pick-place/cog/seed1", "pick-place/cog/seed2"]
    md = markdown_report(report)
    assert "| 0.90 (1 of 3 seeds) (0.96) |" in md and "evaluated on another split than `test`" in md
    val = collect_report(replace(cfg, split="val"), tmp_path, {}, 0.0)
    assert val["cells"][conds[1]]["cog"]["rates"] == [0.5] and "Probe: final evaluation on the `val` split" in markdown_report(val)


def test_a_folder_whose_seeds_share_one_dataset_is_not_resumed(tmp_path):
    (tmp_path / "bags" / "pick-place-prior").mkdir(parents=True)  # the layout before each seed had its own data
    with pytest.raises(CollectionMismatch, match="share one dataset"):
        run_table(table_config("smoke", out=str(tmp_path), scenes=("pick-place",)))


def test_finished_runs_are_skipped_and_runs_evaluated_differently_are_evaluated_again(tmp_path):
    cfg = table_config("smoke", out=str(tmp_path), scenes=("pick-place",), methods=("no-prior", "cog"))
    conds = SCENES["pick-place"].conditions
    _fake_run(tmp_path, "pick-place", "cog", 0, dict.fromkeys(conds, 1), cfg.eval_episodes, [])
    _fake_run(tmp_path, "pick-place", "no-prior", 0, dict.fromkeys(conds, 1), cfg.eval_episodes + 3, [])
    (tmp_path / "runs" / "pick-place" / "no-prior" / "seed0" / "checkpoint.pt").touch()
    data = {0: {"prior": tmp_path / "prior.h5", "task": tmp_path / "task.h5"}}
    jobs = _jobs(cfg, tmp_path, SCENES["pick-place"], data)
    assert [j.name for j in jobs] == ["pick-place/no-prior/seed0"]
    train, evaluate = jobs[0].commands
    assert "--resume" in train  # a finished run resumes at its last step: nothing is retrained
    assert evaluate[evaluate.index("--episodes") + 1] == str(cfg.eval_episodes)
    assert evaluate[evaluate.index("--split") + 1] == "test"
    # a final evaluation on val (a probe's) is not the table's: evaluated again, on test
    _fake_run(tmp_path / "val", "pick-place", "cog", 0, dict.fromkeys(conds, 1), cfg.eval_episodes, [], split="val")
    names = [j.name for j in _jobs(replace(cfg, out=str(tmp_path / "val")), tmp_path / "val", SCENES["pick-place"], data)]
    assert "pick-place/cog/seed0" in names


def test_the_cpu_preset_learns_from_the_camera_with_cog_on_privileged_state_as_an_oracle_row(tmp_path):
    cfg = table_config("cpu", out=str(tmp_path), seeds=(0,))
    assert cfg.obs == "image+state" and cfg.methods[-1] == ORACLE_METHOD
    data = {0: {"prior": tmp_path / "prior.h5", "task": tmp_path / "task.h5"}}
    trains = {j.name: j.commands[0] for j in _jobs(cfg, tmp_path, SCENES["drawer"], data)}
    oracle, cog = trains[f"drawer/{ORACLE_METHOD}/seed0"], trains["drawer/cog/seed0"]
    assert oracle[oracle.index("--algo") + 1] == "cog" and oracle[oracle.index("--obs") + 1] == "state"
    assert oracle[oracle.index("--out") + 1].endswith(f"{ORACLE_METHOD}/seed0")  # its own runs, beside COG's
    assert cog[cog.index("--obs") + 1] == "image+state"
    assert [o for o in oracle if "=" in o] == [o for o in cog if "=" in o]  # same training settings otherwise
    assert ORACLE_METHOD not in table_config("cpu", obs="state").methods  # it would repeat cog
    with pytest.raises(ValueError, match="oracle row of a table from images"):
        table_config("cpu", obs="state", methods=("cog", ORACLE_METHOD))


def test_bad_table_requests_are_clear():
    with pytest.raises(ValueError, match="unknown scene 'kitchen'"):
        table_config("cpu", scenes=("kitchen",))
    with pytest.raises(ValueError, match="unknown observations 'depth'"):
        table_config("cpu", obs="depth")
    with pytest.raises(ValueError, match="unknown method 'dqn'"):
        table_config("cpu", methods=("dqn",))
    with pytest.raises(ValueError, match="unknown preset"):
        table_config("huge")
    with pytest.raises(ValueError, match="KEY=VALUE"):
        table_config("cpu", extra_overrides=("sac.policy_lr",))
    with pytest.raises(ValueError, match="SCENE=N"):
        parse_steps("pick-place=lots")
    with pytest.raises(ValueError, match="unknown scene 'kitchen' in the step counts"):
        table_config("cpu", scene_steps={"kitchen": 1000})
    with pytest.raises(ValueError, match=">= 1"):
        table_config("cpu", scene_steps={"drawer": 0})
    with pytest.raises(ValueError, match="SCENE=PRIOR"):
        parse_scales("drawer=lots")
    with pytest.raises(ValueError, match="SCENE=PRIOR"):
        parse_scales("0.1")
    with pytest.raises(ValueError, match="unknown scene 'kitchen' in the data scales"):
        table_config("cpu", scene_scales={"kitchen": (0.1, 0.1)})
    with pytest.raises(ValueError, match="> 0"):
        table_config("cpu", scene_scales={"drawer": (0.0, None)})


@pytest.mark.slow
def test_table_command_runs_end_to_end_and_resumes(tmp_path):
    cfg = table_config("smoke", out=str(tmp_path), scenes=("pick-place",), methods=("bc", "cog"))
    report = run_table(cfg)
    for method in ("bc", "cog"):
        cell = report["cells"]["pick_place/object_on_table"][method]
        assert cell["seeds"] == [0] and cell["episodes"] == cfg.eval_episodes
    assert report["split"] == "test" and report["data_seeds"] == {"0": 0}
    summary = json.loads((tmp_path / "bags" / "data_seed0" / "pick-place-prior" / "collection_summary.json").read_text())
    assert summary["config"]["seed"] == 0 and summary["config"]["prior_profile"] == cfg.prior_profile == "paper"
    assert list((tmp_path / "videos" / "pick-place").glob("*"))  # COG's rollout videos
    before = (tmp_path / "runs" / "pick-place" / "cog" / "seed0" / "final_eval.json").stat().st_mtime
    run_table(cfg)  # everything finished: nothing is retrained
    assert (tmp_path / "runs" / "pick-place" / "cog" / "seed0" / "final_eval.json").stat().st_mtime == before
