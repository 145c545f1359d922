"""Epoch (2023) S-curve fit, scaling policies, Pareto frontiers and efficient spans."""

import numpy as np
import pandas as pd
import pytest

from analysis import tradeoffs
from analysis.fits import scurve
from analysis.fits.synthetic import (
    logistic_truth_for_board,
    make_elo_table,
    make_logistic_table,
    param_count,
    truth_for_board,
)


def _hand_fit(a_train=300.0, a_test=200.0, slope=0.0):
    """Near-piecewise-linear S-curves (d = 0.02) whose spans can be derived by hand."""
    params = scurve.SCurveParams(
        0.0,
        scurve.Sigma(a_train, 10.0, 14.0, 0.02),
        scurve.Sigma(a_test, 0.0, 3.0, 0.02),
    )
    return scurve.SCurveFit(
        params, 0.0, 0, "custom", "jones", "nodes", 0.0, slope, 0.0, (9.5, 14.5), (0.0, 3.5)
    )


def test_sigma_plateaus_and_slope():
    x = np.array([-50.0, 2.0, 3.0, 60.0])
    y = scurve.sigma(x, 100.0, 1.0, 4.0, 0.05)
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


def test_fit_code_recovers_its_own_model(pure_fit):
    """A check of the fitting code only: data drawn from the S-curve model itself. Recovery
    from an independent generator is tested below and in test_analysis_fits.py."""
    truth = truth_for_board(9)
    got = pure_fit.params
    assert pure_fit.status.converged and pure_fit.status.weighted
    assert pure_fit.rms_elo == pytest.approx(20.0, rel=0.15)
    assert got.train.a == pytest.approx(truth.train.a, rel=0.05)
    assert got.test.a == pytest.approx(truth.test.a, rel=0.1)
    assert got.train.x0 == pytest.approx(truth.train.x0, abs=0.1)
    assert got.train.x1 == pytest.approx(truth.train.x1, abs=0.1)
    assert got.test.x1 == pytest.approx(truth.test.x1, abs=0.15)
    assert got.E == pytest.approx(truth.E, abs=40.0)


# Independent generator: additive logistic deficits in log10 TC and log10 M (not the S-curve
# family), realistic standard errors (15 Elo + 4% of the distance below perfect play, 20-100
# Elo here), one large network (no sample cap inside the compute bounds), 21 snapshots x 11
# node counts.
LOGISTIC_LEVELS = (-1500.0, -1200.0, -900.0, -600.0, -400.0)


def _logistic_agents(seed, p=1.0):
    truth = logistic_truth_for_board(9, p=p)
    agents = make_logistic_table(seed, widths=(1024,), depths=(4,), n_snapshots=21, truth=truth)
    return agents, truth


def _truth_grid(fit, truth, **grid_kwargs):
    """The generator's Elo on the fit's own (TC, IC) grid and node mapping and masks."""
    g = tradeoffs.model_grid(fit, **grid_kwargs)
    fwd = fit.log10_fwd_flops_intercept + fit.log10_fwd_flops_slope * g.log10_train_flops
    m = g.log10_inference_flops[None, :] - fwd[:, None]
    inside = (m >= -1e-9) & (m <= fit.log10_test_range[1] + 1e-9)
    elo = np.where(inside, truth.elo(g.log10_train_flops[:, None], m), np.nan)
    return tradeoffs.PlaneGrid(
        g.log10_train_flops, g.log10_inference_flops, elo, g.log10_inf_measured_max
    )


@pytest.fixture(scope="module")
def logistic_fit():
    agents, truth = _logistic_agents(0)
    return agents, truth, scurve.fit_scurve(agents, n_starts=4)


def test_fit_recovers_an_independent_logistic_surface(logistic_fit):
    agents, truth, fit = logistic_fit
    log10_tc = np.log10(agents["train_flops_jones"])
    log10_m = np.log10(agents["test_nodes"])
    error = scurve.predict_elo(fit.params, log10_tc, log10_m) - truth.elo(log10_tc, log10_m)
    # Measured on seeds 0-2: residual RMS 68-74 Elo (the noise), χ²/dof 0.85-0.98, fitted
    # surface within 5-9 Elo RMS of the generator's.
    assert fit.status.converged and fit.status.weighted
    assert 0.7 < fit.status.chi2_dof < 1.3
    assert np.sqrt(np.mean(error**2)) < 20.0


def test_fitted_spans_match_independent_truth(logistic_fit):
    _, truth, fit = logistic_fit
    kw = {"n_train": 201, "n_inf": 201}
    got = [tradeoffs.efficient_span(tradeoffs.pareto_best(tradeoffs.model_grid(fit, **kw)), p)
           for p in LOGISTIC_LEVELS]  # fmt: skip
    want = [tradeoffs.efficient_span(tradeoffs.pareto_best(_truth_grid(fit, truth, **kw)), p)
            for p in LOGISTIC_LEVELS]  # fmt: skip
    # Measured on seeds 0-2: every span within 0.1 OOM of the generator's (1.1-3.0 OOM).
    for g, w in zip(got, want, strict=True):
        assert g.span_train_oom == pytest.approx(w.span_train_oom, abs=0.15)
        assert g.span_inf_oom == pytest.approx(w.span_inf_oom, abs=0.15)
    # The top levels' efficient parts run into the largest train compute, the lowest into the
    # largest node count: the flags say so.
    assert "train_max" in want[-1].edges and "train_max" in got[-1].edges
    assert "nodes_max" in want[0].edges


def test_bootstrap_span_intervals_cover_independent_truth(logistic_fit):
    agents, truth, fit = logistic_fit
    kw = {"n_train": 121, "n_inf": 121}
    levels = LOGISTIC_LEVELS[1:4]
    # One run here, so resample agents (cluster=None); write_all resamples runs.
    boot = tradeoffs.bootstrap_spans(agents, fit, levels, n_resamples=8, seed=1, cluster=None, **kw)
    table = boot.table()
    assert boot.n_failed == 0 and boot.ci_available and boot.cluster is None
    best = tradeoffs.pareto_best(_truth_grid(fit, truth, **kw))
    for p in levels:
        want = tradeoffs.efficient_span(best, p)
        for key, value in (
            ("span_train_oom", want.span_train_oom),
            ("span_inf_oom", want.span_inf_oom),
        ):
            lo, hi = table.loc[f"{key}@{p:.0f}", ["lo", "hi"]]
            # 8 resamples give rough intervals: allow one width plus 0.05 OOM of slack.
            slack = (hi - lo) + 0.05
            assert lo - slack <= value <= hi + slack, (key, p, lo, hi, value)


def test_misspecified_generator_shows_in_the_fit_statistics():
    # p = 1.5: the two logistic deficits overlap, which no additive S-curve can express.
    agents, truth = _logistic_agents(0, p=1.5)
    fit = scurve.fit_scurve(agents, n_starts=4)
    # Measured on seeds 0-2: χ²/dof 1.7-1.9 and inference spans overstated by 0.2-0.9 OOM.
    assert fit.status.chi2_dof > 1.4
    got = tradeoffs.efficient_span(tradeoffs.pareto_best(tradeoffs.model_grid(fit)), -900.0)
    want = tradeoffs.efficient_span(tradeoffs.pareto_best(_truth_grid(fit, truth)), -900.0)
    assert got.span_inf_oom > want.span_inf_oom + 0.3


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
