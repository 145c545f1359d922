"""Epoch (2023) S-curve fit, scaling policies, Pareto frontiers and efficient spans."""

import numpy as np
import pandas as pd
import pytest

from analysis import scurve, tradeoffs
from analysis.synthetic import make_elo_table, param_count, truth_for_board


def _hand_fit(a_train=300.0, a_test=200.0, slope=0.0):
    """Near-piecewise-linear S-curves (d = 0.02) whose spans can be derived by hand."""
    params = scurve.SCurveParams(
        0.0,
        scurve.Sigma(a_train, 10.0, 14.0, 0.02, 0.02),
        scurve.Sigma(a_test, 0.0, 3.0, 0.02, 0.02),
    )
    return scurve.SCurveFit(
        params, 0.0, 0, "custom", "jones", "nodes", 0.0, slope, 0.0, (9.5, 14.5), (0.0, 3.5)
    )


def test_sigma_plateaus_and_slope():
    x = np.array([-50.0, 2.0, 3.0, 60.0])
    y = scurve.sigma(x, 100.0, 1.0, 4.0, 0.05, 0.05)
    np.testing.assert_allclose(y, [-300.0, -200.0, -100.0, 0.0], atol=1e-3)


def test_param_count_matches_spec():
    assert param_count(9, 1024, 4) == 4_449_362


@pytest.mark.parametrize(
    "deficit, span_train",
    [(450.0, 1.5), (900.0, 2.0), (1500.0, 1.0)],
)
def test_spans_match_hand_derivation(deficit, span_train):
    # a_C·u + a_M·v = deficit with u ∈ [0, 4] decades of TC below x1, v ∈ [0, 3] decades of
    # nodes below 1000 (v = 3 is one node): u runs from max(0, (D − 600)/300) to min(4, D/300),
    # and the frontier's slope is a_C/a_M = 1.5 inside [1/6, 6].
    best = tradeoffs.pareto_best(tradeoffs.model_grid(_hand_fit(), n_train=401, n_inf=401))
    span = tradeoffs.efficient_span(best, -deficit)
    assert span.span_train_oom == pytest.approx(span_train, abs=0.06)
    assert span.span_inf_oom == pytest.approx(1.5 * span_train, abs=0.08)


def test_span_is_empty_when_rate_outside_band():
    best = tradeoffs.pareto_best(tradeoffs.model_grid(_hand_fit(a_train=1400.0, a_test=200.0)))
    # Only the smoothed corner where the slope turns from 7 to 0 passes through the band.
    assert tradeoffs.efficient_span(best, -900.0).span_train_oom < 0.05


def test_span_cut_at_one_node_with_growing_network():
    # With β > 0 one node costs more IC as TC grows; the frontier still ends at M = 1.
    best = tradeoffs.pareto_best(tradeoffs.model_grid(_hand_fit(slope=0.3), n_train=401))
    front = tradeoffs.pareto_frontier(best, -900.0)
    valid = front[~np.isnan(front)]
    assert np.all(np.diff(valid) <= 1e-12)
    span = tradeoffs.efficient_span(best, -900.0)
    assert 0.5 < span.span_train_oom < 3.0


def test_empirical_pareto_grid_is_cumulative_max():
    agents = pd.DataFrame(
        {
            "train_flops_jones": [1e10, 1e12, 1e11],
            "test_flops_jones": [1e8, 1e6, 1e7],
            "elo": [-100.0, -300.0, -200.0],
        }
    )
    grid = tradeoffs.empirical_grid(agents, np.array([10.0, 11.0, 12.0]), np.array([6.0, 7.0, 8.0]))
    best = tradeoffs.pareto_best(grid)
    assert best.elo[2, 0] == -300.0
    assert best.elo[1, 1] == -200.0
    assert best.elo[2, 2] == -100.0
    assert np.isnan(best.elo[0, 0])
    # At TC 1e12 the level lies between B (IC 1e6, -300) and C (1e7, -200): interpolated.
    np.testing.assert_allclose(tradeoffs.pareto_frontier(best, -250.0), [8.0, 7.0, 6.5])
    assert np.all(np.isnan(tradeoffs.pareto_frontier(best, 0.0)))


@pytest.fixture(scope="module")
def pure_table():
    return make_elo_table(3, arch_penalty_elo=0.0, widths=(16, 128, 1024), elo_se=20.0)


@pytest.fixture(scope="module")
def pure_fit(pure_table):
    return scurve.fit_scurve(pure_table, n_starts=4)


def test_fit_recovers_known_parameters(pure_fit):
    truth = truth_for_board(9)
    got = pure_fit.params
    assert pure_fit.rms_elo == pytest.approx(20.0, rel=0.15)
    assert got.train.a == pytest.approx(truth.train.a, rel=0.05)
    assert got.test.a == pytest.approx(truth.test.a, rel=0.1)
    assert got.train.x0 == pytest.approx(truth.train.x0, abs=0.1)
    assert got.train.x1 == pytest.approx(truth.train.x1, abs=0.1)
    assert got.test.x1 == pytest.approx(truth.test.x1, abs=0.15)
    assert got.E == pytest.approx(truth.E, abs=40.0)


def test_bootstrap_cis_cover_truth(pure_table, pure_fit):
    boot = scurve.bootstrap_scurve(pure_table, pure_fit, n_resamples=8, seed=1)
    table = boot.table()
    truth = truth_for_board(9).as_dict()
    assert boot.n_failed == 0
    for name in ("a_train", "x0_train", "x1_train", "a_test", "x1_test"):
        width = table.loc[name, "hi"] - table.loc[name, "lo"]
        # 8 resamples give rough intervals; allow one interval width of slack around them.
        assert table.loc[name, "lo"] - width <= truth[name] <= table.loc[name, "hi"] + width, name


def test_fitted_spans_match_true_spans(pure_fit):
    truth_fit = scurve.SCurveFit(**{**pure_fit.__dict__, "params": truth_for_board(9)})
    levels = [-1200.0, -800.0, -400.0]
    got = tradeoffs.span_table(pure_fit, levels)
    want = tradeoffs.span_table(truth_fit, levels)
    np.testing.assert_allclose(got["span_train_oom"], want["span_train_oom"], atol=0.25)
    np.testing.assert_allclose(got["span_inf_oom"], want["span_inf_oom"], atol=0.3)


def test_select_policy_frontier_is_envelope():
    df = make_elo_table(0, widths=(8, 32, 128, 512), depths=(1, 2), n_snapshots=8)
    chosen = scurve.select_policy(df, "frontier")
    at64 = chosen[chosen.test_nodes == 64].sort_values("train_flops_jones")
    assert np.all(np.diff(at64["elo"].to_numpy()) > 0)
    assert set(chosen.test_nodes) == set(df.test_nodes)
    fixed = scurve.select_policy(df, "fixed_arch")
    assert fixed[["width", "depth"]].drop_duplicates().shape[0] == 1
    assert set(scurve.select_policy(df, "fixed_nodes").test_nodes) == {64}


def test_fig13_spans_on_synthetic_policies():
    df = make_elo_table(0, widths=(8, 32, 128, 512), depths=(1, 2), n_snapshots=9)
    fits = {
        "MCTS only": scurve.fit_policy(df, "fixed_arch", n_starts=3),
        "Chinchilla-style": scurve.fit_policy(df, "fixed_nodes", n_starts=3),
        "combined": scurve.fit_policy(df, "frontier", n_starts=3),
    }
    result = tradeoffs.fig13_spans(fits, n_levels=5, n_train=121, n_inf=121)
    assert len(result.levels_elo) == 5
    assert list(result.summary.index) == list(fits)
    assert np.all(result.per_level[["span_train_oom", "span_inf_oom"]].to_numpy() >= 0.0)
