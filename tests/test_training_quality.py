"""Trained agents against the exact solver (slow: minutes of CPU training each).

.venv/bin/python -m pytest -m slow tests/test_training_quality.py
"""

import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest

from agents.players import load_player, perfect_player, play_games

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


def _black_win_rate_vs_perfect(snapshot: Path, size: int, n_games: int) -> float:
    """Final snapshot as black (train node count, argmax moves) against the exact solver, whose
    moves are sampled from its winning set, or from all moves when it is lost."""
    player = load_player(snapshot, greedy=True, noise=False)  # the fixed solver protocol
    winners = np.asarray(
        play_games(player, perfect_player(size), size, n_games, jax.random.key(7)).winner
    )
    return float((winners == 0).mean())


@pytest.mark.slow
def test_cpu_preset_plays_3x3_perfectly(tmp_path):
    snapshot = _train(tmp_path, "board.size=3")  # CPU preset: 16×2 net, Grill, 64 nodes
    assert _black_win_rate_vs_perfect(snapshot, 3, 256) == 1.0


@pytest.mark.slow
def test_modest_model_nearly_solves_4x4(tmp_path):
    # 32×2 Grill, 64 nodes: 79% at 1e11 Jones FLOPs, 90% at 1.2e11 (docs/benchmarks.md)
    snapshot = _train(
        tmp_path, "board.size=4", "model.width=32", "model.depth=2", "train.max_flops=4e11"
    )
    assert _black_win_rate_vs_perfect(snapshot, 4, 256) >= 0.95
