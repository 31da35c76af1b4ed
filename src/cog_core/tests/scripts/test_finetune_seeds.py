"""scripts/finetune_seeds.py: several fine-tuning outputs into one table and one figure."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[4] / "scripts" / "finetune_seeds.py"


def _run(out: Path, rates: dict[int, tuple[float, float]]) -> Path:
    out.mkdir()
    rows = [{"episode": e, "eval_success": (a + b) / 2, "eval_by_condition": {"drawer/closed": a, "drawer/blocked_by_object": b}}
            for e, (a, b) in rates.items()]
    (out / "finetune.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return out


def test_means_over_the_episodes_every_seed_reached(tmp_path):
    a = _run(tmp_path / "a", {0: (0.5, 0.0), 50: (0.6, 0.1), 100: (1.0, 0.4)})
    b = _run(tmp_path / "b", {0: (0.7, 0.2), 100: (0.9, 0.6), 200: (1.0, 1.0)})
    png = tmp_path / "ft.png"
    res = subprocess.run([sys.executable, str(SCRIPT), str(a), str(b), "--png", str(png)], capture_output=True, text=True, check=True)
    lines = res.stdout.splitlines()
    assert "| online episodes | 0 | 100 |" in lines
    assert "| `drawer/closed` | 0.60 | 0.95 (1.00, 0.90) |" in lines
    assert "| `drawer/blocked_by_object` | 0.10 | 0.50 (0.40, 0.60) |" in lines
    assert png.stat().st_size > 0
    missing = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path / "nope")], capture_output=True, text=True)
    assert missing.returncode != 0 and "finetune.jsonl: not found" in missing.stderr


def test_rounds_joined_by_plus_count_on(tmp_path):
    first = _run(tmp_path / "a", {0: (0.5, 0.0), 100: (0.8, 0.2)})
    more = _run(tmp_path / "a_more", {0: (0.8, 0.2), 100: (1.0, 0.6)})
    res = subprocess.run([sys.executable, str(SCRIPT), f"{first}+{more}"], capture_output=True, text=True, check=True)
    assert "| online episodes | 0 | 100 | 200 |" in res.stdout.splitlines()
    assert "| `drawer/blocked_by_object` | 0.00 | 0.20 | 0.60 (0.60) |" in res.stdout.splitlines()
