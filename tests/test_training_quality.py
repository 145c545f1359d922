"""Trained agents against the exact solver (slow: minutes of CPU training each).

.venv/bin/python -m pytest -m slow tests/test_training_quality.py
"""

import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.evaluate.players import black_wins_vs_solver

REPO = Path(__file__).resolve().parents[1]


def _train(tmp_path, *overrides) -> Path:
    result = subprocess.run(
        [sys.executable, "-m", "pipeline.train", *overrides, "train.progress=false",
         f"results_dir={tmp_path}"],
        cwd=REPO, capture_output=True, text=True, timeout=3600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    (run_dir,) = (tmp_path / "runs").iterdir()
    return sorted((run_dir / "snapshots").iterdir())[-1]


@pytest.mark.slow
def test_cpu_preset_plays_3x3_perfectly(tmp_path):
    snapshot = _train(tmp_path, "board.size=3")  # CPU defaults: 16×2 net, Jones's search, 64 nodes
    assert black_wins_vs_solver(snapshot, 256) == 1.0


@pytest.mark.slow
def test_modest_model_nearly_solves_4x4(tmp_path):
    # 32×2, 64 nodes; the old Grill search passed 95% by 2.2e11 Jones FLOPs (docs/benchmarks.md)
    snapshot = _train(
        tmp_path, "board.size=4", "model.width=32", "model.depth=2", "train.max_flops=4e11"
    )
    assert black_wins_vs_solver(snapshot, 256) >= 0.95
