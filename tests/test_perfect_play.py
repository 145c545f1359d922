"""Compute to perfect play and the frontier slope per seed (`analysis.fits.perfect_play`), on
Elo tables whose answers are worked out by hand from straight-line runs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.fits.perfect_play import (
    architecture_and_seed,
    first_reach,
    frontier_slopes,
    perfect_play_compute,
    seed_grid,
)


def _table(curves: dict[str, tuple[int, np.ndarray, np.ndarray]], se: float = 0.0) -> pd.DataFrame:
    """An Elo table with one row per snapshot: run → (board, log10 C, Elo)."""
    rows = [
        {"agent": f"{run}/{i:02d}@64", "run": run, "snapshot": i, "board_size": board,
         "test_nodes": 64, "kind": "network", "greedy": False, "train_flops_jones": 10.0**x,
         "elo": y, "elo_se": se}
        for run, (board, xs, ys) in curves.items()
        for i, (x, y) in enumerate(zip(xs, ys, strict=True))
    ]  # fmt: skip
    return pd.DataFrame(rows)


def test_run_names_split_into_architecture_and_seed():
    assert architecture_and_seed("b4-w16-d1-jones64-seed1") == ("b4-w16-d1-jones64", 1)
    assert architecture_and_seed("b3-w2-d8-jones64-seed12") == ("b3-w2-d8-jones64", 12)
    assert architecture_and_seed("custom") == ("custom", 0)


def test_first_reach_is_the_first_frontier_point_within_the_margin():
    frontier = pd.DataFrame({
        "boardsize": [3] * 5 + [4] * 3,
        "log10_train_flops": [9, 10, 11, 12, 13, 9, 10, 11],
        "elo": [-300, -100, -49, -60, -10, -400, -200, -51],
    })  # fmt: skip
    reach = first_reach(frontier, within=50)
    assert reach[3] == 11 and np.isnan(reach[4])


def _lines() -> pd.DataFrame:
    """Per board a good and a worse architecture (100 Elo below), snapshots 1 decade apart.
    Board 3: Elo = −402 + 100·(x − 8) over x ∈ [8, 13]: −50 at x = 11.52, so on the frontier's
    101-point grid (step 0.05) first reached at 11.55; the worse one at 12.55. Board 4: the same
    shifted by one decade: 13.55 (worse: 14.55 is past its last snapshot, x = 14, so never)."""
    x3, x4 = np.arange(8.0, 13.5), np.arange(9.0, 14.5)
    good3, good4 = -402 + 100 * (x3 - 8), -502 + 100 * (x4 - 9)
    return _table({
        "b3-w2-d1-jones64-seed0": (3, x3, good3),
        "b3-w1-d1-jones64-seed0": (3, x3, good3 - 100),
        "b4-w16-d1-jones64-seed0": (4, x4, good4),
        "b4-w1-d1-jones64-seed0": (4, x4, good4 - 100),
    })  # fmt: skip


def test_perfect_play_compute_and_its_interval_over_architectures():
    out = perfect_play_compute(_lines(), n_resamples=400, seed=1)
    b3, b4 = out["boards"][3], out["boards"][4]
    assert b3["log10_flops"] == pytest.approx(11.55) and b4["log10_flops"] == pytest.approx(13.55)
    # a draw holds the good architecture unless it drew the worse one twice (p = 1/4)
    assert b3["ci95"] == pytest.approx([11.55, 12.55])
    assert b3["never_reached_fraction"] == 0.0
    assert 0.15 < b4["never_reached_fraction"] < 0.35  # the worse 4×4 one never gets there
    assert b4["ci95"][0] == pytest.approx(13.55) and b4["ci95"][1] == np.inf
    ratio = out["multipliers"]["3->4"]
    assert ratio["multiplier"] == pytest.approx(100.0)
    assert ratio["ci95"][0] == pytest.approx(10.0) and ratio["ci95"][1] == np.inf


def test_rating_noise_widens_the_interval_of_a_single_architecture():
    x = np.arange(8.0, 13.5)
    table = _table({"b3-w2-d1-jones64-seed0": (3, x, -402 + 100 * (x - 8))}, se=30.0)
    lo, hi = perfect_play_compute(table, n_resamples=200)["boards"][3]["ci95"]
    assert lo < 11.55 < hi


def test_a_seed_s_grid_takes_that_seed_where_trained_and_the_only_run_elsewhere():
    x = np.arange(3.0)
    table = _table({
        "b4-w16-d1-jones64-seed0": (4, x, x), "b4-w16-d1-jones64-seed1": (4, x, x),
        "b4-w1-d1-jones64-seed0": (4, x, x),
    })  # fmt: skip
    assert set(seed_grid(table, 1)["run"]) == {"b4-w16-d1-jones64-seed1", "b4-w1-d1-jones64-seed0"}
    assert set(seed_grid(table, 0)["run"]) == {"b4-w16-d1-jones64-seed0", "b4-w1-d1-jones64-seed0"}


def test_frontier_slope_of_each_seed_and_over_draws():
    """Each seed's runs follow Jones's model exactly: Elo = min(0, max(m·x + m_b·b + c,
    −100·b − 100)) with (m, m_b, c) = (100, −100, −1000) for seed 0, (200, −200, −2000) for
    seed 1, so the per-seed fits recover m = 100 and 200."""
    x = np.arange(8.0, 15.01, 0.25)
    model = {0: (100, -100, -1000), 1: (200, -200, -2000)}
    curves = {
        f"b{b}-w16-d1-jones64-seed{s}": (b, x, np.minimum(0, np.maximum(m * x + mb * b + c,
                                                                        -100 * b - 100)))
        for s, (m, mb, c) in model.items()
        for b in (3, 4)
    }  # fmt: skip
    out = frontier_slopes(_table(curves), n_resamples=12, seed=0)
    assert out["per_seed"][0]["m"] == pytest.approx(100, abs=1)
    assert out["per_seed"][1]["m"] == pytest.approx(200, abs=1)
    boot = out["bootstrap"]
    assert boot["n_ok"] + boot["n_failed"] == 12 and boot["n_ok"] >= 10
    assert 95 <= boot["ci95"][0] <= boot["ci95"][1] <= 205


def test_the_report_section_reads_a_perfect_anchored_table_only(tmp_path):
    from analysis.report import figures, summary

    def inputs(anchor):
        return figures._Inputs(
            df=_lines(), board_df=_lines(), out=tmp_path, convention="jones", nodes=64, board=4,
            anchor=anchor, seed=0, n_resamples=8, n_levels=6, cluster="run",
            extrapolate_nodes=False, train_test_levels=(),
        )  # fmt: skip

    section = figures._perfect_play_section(inputs("perfect=0"))
    assert section["compute"]["boards"][3]["log10_flops"] == pytest.approx(11.55)
    md = "\n".join(summary._perfect_play_md(summary.finite(summary.plain(section))))
    assert "| 3 | 11.55 |" in md and "Multiplier 3->4: 100×" in md and "∞" in md
    other = figures._perfect_play_section(inputs("top agent=0"))
    assert isinstance(other, summary.Failed) and "not perfect play" in other.error
