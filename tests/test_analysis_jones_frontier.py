"""Jones (2021) frontier: reproduce the published fit from the shared reference data."""

import json
import pathlib

import numpy as np
import pandas as pd
import pytest
from conftest import run_module

from analysis.fits import jones_frontier as jf

DATA = (
    pathlib.Path(__file__).resolve().parents[2] / "shared" / "jones_data" / "derived_from_docs_svg"
)
FRONTIER_CSV = DATA / "frontiers_elo_vs_flops.csv"
RUNS_CSV = DATA / "run_curves_elo_vs_flops.csv"

PUBLISHED = {"m": 505.6, "m_b": -430.1, "c": -4399.0, "p_b": -268.4, "p_c": 575.0}
PUBLISHED_RMS_ELO = 58.0

needs_frontier = pytest.mark.skipif(not FRONTIER_CSV.exists(), reason="Jones reference data absent")
needs_runs = pytest.mark.skipif(not RUNS_CSV.exists(), reason="Jones reference data absent")


@needs_frontier
def test_fit_reproduces_published_parameters():
    fit = jf.fit_jones_frontier(pd.read_csv(FRONTIER_CSV))
    for name, want in PUBLISHED.items():
        assert getattr(fit, name) == pytest.approx(want, rel=0.03), name
    assert fit.rms_elo == pytest.approx(PUBLISHED_RMS_ELO, rel=0.03)
    assert 10 ** (-fit.m_b / fit.m) == pytest.approx(7.0, rel=0.05)


@needs_frontier
def test_cli_prints_json():
    result = run_module("analysis.fits.jones_frontier", f"figures.frontier_csv={FRONTIER_CSV}")
    assert result.returncode == 0, result.stderr[-2000:]
    out = json.loads(result.stdout)
    assert out["m"] == pytest.approx(PUBLISHED["m"], rel=0.03)
    assert set(jf.PARAM_NAMES) <= set(out)


@needs_runs
def test_frontier_from_runs_matches_published_frontier():
    published = pd.read_csv(FRONTIER_CSV)
    ours = jf.frontier_from_runs(pd.read_csv(RUNS_CSV))
    assert len(ours) == len(published) == 707
    np.testing.assert_allclose(ours["log10_train_flops"], published["log10_train_flops"], atol=1e-5)
    diff = np.abs(ours["elo"].to_numpy() - published["elo"].to_numpy())
    # Measured: RMS 0.35 Elo, 705 of 707 points within 1 Elo, worst 8.8 Elo (9x9 grid edge).
    assert np.sqrt(np.mean(diff**2)) < 1.0
    assert np.mean(diff < 1.0) > 0.99
    assert diff.max() < 15.0


def _synthetic_frontier(theta, boards=(3, 4, 5, 6), noise_elo=0.0, seed=0):
    rng = np.random.default_rng(seed)
    fit = jf.FrontierFit(*theta, rms_elo=0.0, n_points=0, board_sizes=())
    rows = []
    for b in boards:
        x = np.linspace(8.0 + 0.3 * b, 11.0 + b, 101)
        elo = jf.predict(fit, b, x) + rng.normal(0.0, noise_elo, x.size)
        rows.append(pd.DataFrame({"boardsize": b, "log10_train_flops": x, "elo": elo}))
    return pd.concat(rows, ignore_index=True)


def test_fit_recovers_exact_synthetic_parameters():
    theta = (500.0, -400.0, -4500.0, -250.0, 500.0)
    fit = jf.fit_jones_frontier(_synthetic_frontier(theta))
    np.testing.assert_allclose(list(fit.params().values()), theta, rtol=1e-3, atol=1e-2)
    assert fit.rms_elo < 1e-6


def test_frontier_from_runs_on_elo_table_schema():
    runs = pd.DataFrame(
        {
            "board_size": 5,
            "run": ["a"] * 3 + ["b"] * 2 + ["a"],
            "test_nodes": [64] * 5 + [1],
            "train_flops_jones": [1e10, 1e11, 1e12, 1e11, 1e13, 1e12],
            "elo": [-900.0, -600.0, -300.0, -500.0, -100.0, -2000.0],
        }
    )
    out = jf.frontier_from_runs(runs, grid_points=4)
    np.testing.assert_allclose(out["log10_train_flops"], [10, 11, 12, 13])
    # run b starts at 1e11; run a stops at 1e12 and is carried forward there.
    np.testing.assert_allclose(out["elo"], [-900.0, -500.0, -300.0, -100.0])
    no_fill = jf.frontier_from_runs(runs, grid_points=4, forward_fill=False)
    np.testing.assert_allclose(no_fill["elo"], [-900.0, -500.0, -300.0, -100.0])


def test_held_out_board_prediction_has_bands():
    theta = (500.0, -400.0, -4500.0, -250.0, 500.0)
    df = _synthetic_frontier(theta, boards=(3, 4, 5, 6), noise_elo=20.0)
    pred = jf.predict_held_out_board(df, 6, n_resamples=8)
    assert pred.train_boards == (3, 4, 5)
    assert np.all(pred.elo_lo <= pred.elo_hi + 1e-9)
    assert pred.rms_elo < 80.0


@needs_frontier
def test_bootstrap_frontier_ci_brackets_estimate():
    boot = jf.bootstrap_frontier_fit(pd.read_csv(FRONTIER_CSV), n_resamples=6, seed=1)
    table = boot.table()
    assert table.loc["m", "lo"] <= table.loc["m", "estimate"] + 20.0
    assert table.loc["m", "hi"] >= table.loc["m", "estimate"] - 20.0
    assert boot.n_failed == 0


@needs_frontier
def test_nine_by_nine_frontier_predicted_from_smaller_boards():
    # Measured: RMS 69 Elo on 9x9 from a fit to 3x3..8x8 (134 Elo for 8x8 from 3..7).
    pred = jf.predict_held_out_board(pd.read_csv(FRONTIER_CSV), 9, n_resamples=4, by="boards")
    assert pred.train_boards == (3, 4, 5, 6, 7, 8)
    assert pred.rms_elo < 100.0
    assert pred.fit.m == pytest.approx(PUBLISHED["m"], rel=0.05)


def test_per_board_fit_recovers_each_boards_curve():
    """Two boards with their own slopes and plateaus (no shared m): each is recovered alone,
    and the compute to come within 50 Elo of perfect is (−50 − c)/m, worked by hand."""
    x = np.linspace(8.0, 13.0, 41)
    curves = {3: (200.0, -2300.0, -250.0), 4: (400.0, -4900.0, -550.0)}  # m, c, plateau
    frontier = pd.concat(
        pd.DataFrame(
            {"boardsize": b, "log10_train_flops": x, "elo": np.minimum(0, np.maximum(m * x + c, p))}
        )
        for b, (m, c, p) in curves.items()
    )
    table = jf.per_board_fits(frontier).set_index("boardsize")
    assert table.loc[3, "m"] == pytest.approx(200.0, rel=1e-3)
    assert table.loc[4, "plateau"] == pytest.approx(-550.0, abs=0.5)
    assert table.loc[3, "log10_flops_within_fit"] == pytest.approx(11.25, abs=1e-3)  # 2250/200
    assert table.loc[4, "log10_flops_within_fit"] == pytest.approx(12.125, abs=1e-3)  # 4850/400
    assert table.loc[4, "log10_flops_within_seen"] == pytest.approx(12.125, abs=0.07)  # grid step
    assert table["converged"].all()


@needs_frontier
def test_per_board_compute_to_near_perfect_grows_about_sevenfold_per_board():
    """Jones's per-board curves, each fitted alone: the compute to come within 50 Elo of
    perfect grows by a factor in the published ≈ 7× per board size, on average over 3…9."""
    table = jf.per_board_fits(pd.read_csv(FRONTIER_CSV))
    steps = np.diff(table.sort_values("boardsize")["log10_flops_within_fit"].to_numpy())
    assert (steps > 0).all()
    assert 5.0 < 10 ** steps.mean() < 9.0
