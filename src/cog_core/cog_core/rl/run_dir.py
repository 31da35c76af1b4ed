"""A training run's folder: the one place that names its files and reads them back.

``cogrl train`` writes ``config.yaml``, ``metrics.csv`` (one row per log interval),
``eval.jsonl`` (one line per in-training evaluation), ``eval_settings.json``, ``tb/``
(TensorBoard) and ``checkpoint.pt`` (the latest state); ``cogrl eval --json`` adds ``final_eval.json`` where the
Table 1 experiment asks for it. The trainer, fine-tuning, export, evaluation, the pipeline's
progress bar and the Table 1 report all find these files through `RunDir`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class RunDir:
    """The files of the training run in `path`."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    @property
    def checkpoint(self) -> Path:
        """The latest training state (`cog_core.rl.checkpoint`); resuming continues from it."""
        return self.path / "checkpoint.pt"

    @property
    def config(self) -> Path:
        """The run's `TrainConfig` as YAML."""
        return self.path / "config.yaml"

    @property
    def metrics(self) -> Path:
        """Training statistics, a CSV row per log interval (``step``, ``wall_s``, ``updates_per_s``, losses)."""
        return self.path / "metrics.csv"

    @property
    def eval_log(self) -> Path:
        """In-training evaluations, one JSON line each (``step``, ``success/<condition>``...)."""
        return self.path / "eval.jsonl"

    @property
    def eval_settings(self) -> Path:
        """The ``--eval-conditions`` / ``--eval-episodes`` of `cogrl train`, reused by ``--resume``."""
        return self.path / "eval_settings.json"

    @property
    def final_eval(self) -> Path:
        """The final evaluation of the run's policy (`cogrl eval --json`), where an experiment asks for one."""
        return self.path / "final_eval.json"

    @property
    def tensorboard(self) -> Path:
        """TensorBoard event files."""
        return self.path / "tb"

    def last_metrics(self) -> dict[str, str] | None:
        """The newest row of `metrics` by column name (None before the first row)."""
        if not self.metrics.is_file():
            return None
        lines = self.metrics.read_text().strip().splitlines()
        if len(lines) < 2:
            return None
        return dict(zip(lines[0].split(","), lines[-1].split(",")))

    def steps_done(self) -> int:
        """The step of the newest metrics row (0 before the first one, or while it is half-written)."""
        row = self.last_metrics()
        try:
            return int(float(row["step"])) if row is not None else 0
        except (KeyError, ValueError):
            return 0

    def train_seconds(self) -> float | None:
        """Wall-clock seconds of training so far (the newest row's ``wall_s``), None before any row."""
        row = self.last_metrics()
        return float(row["wall_s"]) if row is not None and "wall_s" in row else None

    def eval_curve(self) -> list[dict[str, Any]]:
        """Every in-training evaluation, oldest first ([] before the first)."""
        if not self.eval_log.is_file():
            return []
        return [json.loads(line) for line in self.eval_log.read_text().splitlines() if line.strip()]

    def final_results(self) -> dict[str, dict[str, Any]] | None:
        """The final evaluation's result per condition, None when the run has not been evaluated."""
        if not self.final_eval.is_file():
            return None
        return {r["condition"]: r for r in json.loads(self.final_eval.read_text())["results"]}
