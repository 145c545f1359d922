"""Fit diagnostics, weighting, bootstrap failure handling and clustering, monotone σ."""

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import least_squares
from scipy.special import expit

from analysis.fits import bootstrap as bs
from analysis.fits import scurve
from analysis.fits.synthetic import make_elo_table


def _two_smoothness_sigma(x, a, x0, x1, d0, d1):
    """The unconstrained form σ = a·[(x0 − x1) + d0·sp((x − x0)/d0) − d1·sp((x − x1)/d1)]."""
    return a * (
        (x0 - x1) + d0 * np.logaddexp(0, (x - x0) / d0) - d1 * np.logaddexp(0, (x - x1) / d1)
    )


def test_two_smoothness_form_is_not_monotone():
    # Why σ has one smoothness: with d0 ≪ d1 the old form dips below its lower plateau.
    x = np.linspace(-20.0, 20.0, 4001)
    y = _two_smoothness_sigma(x, 100.0, 0.0, 1.0, 0.05, 2.0)
    assert np.diff(y).min() < -1e-3
    assert y.min() < 100.0 * (0.0 - 1.0) - 1.0  # below the lower plateau −a·(x1 − x0)


def test_sigma_is_monotone_for_random_admissible_parameters():
    rng = np.random.default_rng(0)
    for _ in range(2000):
        a = 10 ** rng.uniform(0, 3.5)
        x0 = rng.uniform(-5, 20)
        x1 = x0 + 10 ** rng.uniform(-2, 1)
        d = 10 ** rng.uniform(-2, 0.5)
        pad = 10 * (d + (x1 - x0))
        x = np.linspace(x0 - pad, x1 + pad, 4001)
        y = scurve.sigma(x, a, x0, x1, d)
        slope = scurve.sigma_slope(x, a, x0, x1, d)
        assert slope.min() >= 0.0
        assert np.diff(y).min() >= -1e-9 * a * (x1 - x0)
        # Never outside its plateaus −a·(x1 − x0) and 0, and close to them at the grid's ends
        # (10 smoothness widths out the gap is a·(x1 − x0)·e^−10 at most).
        scale = a * (x1 - x0)
        assert y.min() >= -scale * (1 + 1e-9) and y.max() <= 1e-9 * scale
        assert y[0] == pytest.approx(-scale, rel=1e-4)
        assert y[-1] == pytest.approx(0.0, abs=1e-4 * scale)


def test_sigma_slope_matches_finite_differences():
    x = np.linspace(-3.0, 6.0, 2001)
    y = scurve.sigma(x, 300.0, 0.5, 3.0, 0.4)
    numeric = np.gradient(y, x)
    np.testing.assert_allclose(scurve.sigma_slope(x, 300.0, 0.5, 3.0, 0.4), numeric, atol=0.05)
    assert scurve.sigma_slope(1.75, 300.0, 0.5, 3.0, 0.4) == pytest.approx(
        300.0 * (expit(1.25 / 0.4) - expit(-1.25 / 0.4))
    )


@pytest.fixture(scope="module")
def table():
    return make_elo_table(
        5, widths=(16, 128, 1024), depths=(2,), arch_penalty_elo=0.0, n_snapshots=9, elo_se=20.0
    )


def test_fit_status_reports_convergence_bounds_rms_and_n(table):
    fit = scurve.fit_scurve(table, n_starts=2)
    status = fit.status
    assert status.converged and status.status > 0
    assert status.n == len(table) == fit.n_agents
    assert status.n_params == 9 and status.weighted
    assert status.rms == pytest.approx(fit.rms_elo) and status.rms_unit == "Elo"
    assert 0.6 < status.chi2_dof < 1.5
    assert status.at_bounds == ()
    assert status.note() == ""
    d = status.as_dict()
    assert d["converged"] is True and d["at_bounds"] == []


def test_fit_status_flags_parameters_at_bounds(table):
    # Elo falling with nodes, which a monotone σ cannot follow: the test σ is pushed onto
    # its bounds (no slope, or its rise moved out of the data).
    rng = np.random.default_rng(0)
    falling = table.assign(
        elo=-200.0 * np.log10(table["test_nodes"]) + rng.normal(0, 20, len(table))
    )
    fit = scurve.fit_scurve(falling, n_starts=2)
    assert any(name.endswith("_test") for name in fit.status.at_bounds), fit.status
    assert "at bounds" in fit.status.note()


def test_fit_status_reports_a_fit_that_did_not_converge():
    x = np.linspace(0, 1, 20)
    sol = least_squares(lambda p: p[0] * np.exp(p[1] * x) - (1 + x**2), [1.0, 0.0], max_nfev=2)
    status = bs.fit_status(sol, ["a", "b"], sol.fun)
    assert not status.converged and status.status == 0
    assert "DID NOT CONVERGE" in status.note()


def test_standard_errors_weight_the_fit(table):
    # A few badly measured agents far off the curve: weighted least squares discounts them.
    noisy = table.copy()
    bad = noisy.sample(frac=0.1, random_state=0).index
    noisy.loc[bad, "elo"] += 800.0
    noisy.loc[bad, "elo_se"] = 2000.0
    weighted = scurve.fit_scurve(noisy, n_starts=2)
    plain = scurve.fit_scurve(noisy, n_starts=2, weighted=False)
    clean = scurve.fit_scurve(table, n_starts=2)
    good = noisy.index.difference(bad)

    def err(fit):
        d = noisy.loc[good]
        pred = scurve.predict_elo(
            fit.params, np.log10(d["train_flops_jones"]), np.log10(d["test_nodes"])
        )
        return np.sqrt(np.mean((pred - d["elo"]) ** 2))

    assert weighted.status.weighted and not plain.status.weighted
    assert err(weighted) < err(clean) + 5.0 < err(plain)


def test_weights_floor_the_anchor_and_missing_se():
    df = pd.DataFrame({"elo_se": [0.0, 5.0, 40.0, np.nan]})
    np.testing.assert_allclose(scurve.elo_weights(df), [0.1, 0.1, 0.025, 0.1])
    assert scurve.elo_weights(pd.DataFrame({"elo": [1.0]})) is None


def _runs(n_runs=10, per_run=5):
    return pd.DataFrame(
        {
            "run": np.repeat([f"r{k}" for k in range(n_runs)], per_run),
            "x": np.arange(n_runs * per_run, dtype=float),
        }
    )


def test_bootstrap_counts_failures_and_withholds_intervals():
    df = _runs()
    calls = {"n": 0}

    def flaky(d):
        calls["n"] += 1
        if calls["n"] % 4 == 0:  # every 4th resample fails: 25% > 10%
            raise RuntimeError("did not converge")
        return {"mean": d["x"].mean()}

    result = bs.bootstrap(df, flaky, n_resamples=20, estimates={"mean": df["x"].mean()})
    assert result.n_failed == 5 and result.failed_fraction == 0.25
    assert not result.ci_available
    table = result.table()
    assert np.isnan(table.loc["mean", "lo"]) and np.isnan(table.loc["mean", "hi"])
    assert table.loc["mean", "n_ok"] == 15
    assert result.summary()["ci"] is False and result.summary()["n_failed"] == 5

    calls["n"] = 0

    def rare(d):
        calls["n"] += 1
        if calls["n"] == 3:  # 1 of 20 = 5% ≤ 10%
            raise ValueError("degenerate")
        return {"mean": d["x"].mean()}

    ok = bs.bootstrap(df, rare, n_resamples=20, estimates={"mean": df["x"].mean()})
    assert ok.n_failed == 1 and ok.ci_available
    assert np.isfinite(ok.table().loc["mean", "lo"])


def test_bootstrap_resamples_whole_runs():
    df = _runs(n_runs=8, per_run=5)
    seen = []

    def stat(d):
        sizes = d.groupby("run", sort=False).size()
        seen.append(bool((sizes % 5 == 0).all()))
        # Runs arrive whole: each drawn copy of a run brings all five of its agents.
        return {"n": float(len(d))}

    result = bs.bootstrap(df, stat, n_resamples=30, cluster="run", estimates={"n": 40.0})
    assert all(seen) and result.cluster == "run" and result.n_clusters == 8
    assert (result.draws["n"] == 40).all()


def test_scurve_bootstrap_is_clustered_by_run(table):
    fit = scurve.fit_scurve(table, n_starts=2)
    boot = scurve.bootstrap_scurve(table, fit, n_resamples=4, seed=0)
    assert boot.cluster == "run" and boot.n_clusters == table["run"].nunique() == 3
    summary = boot.summary()
    assert summary["n_resamples"] == 4 and summary["cluster"] == "run"


def test_jones_frontier_fit_reports_status_and_uses_se():
    from analysis.fits import jones_frontier as jf

    runs = pd.DataFrame(
        {
            "board_size": 5,
            "run": ["a"] * 3 + ["b"] * 2,
            "test_nodes": 64,
            "train_flops_jones": [1e10, 1e11, 1e12, 1e11, 1e13],
            "elo": [-900.0, -600.0, -300.0, -500.0, -100.0],
            "elo_se": [50.0, 40.0, 30.0, 45.0, 0.0],
        }
    )
    front = jf.frontier_from_runs(runs, grid_points=4)
    # The se of the run giving the maximum, interpolated like its Elo (b wins from 1e11 on).
    np.testing.assert_allclose(front["elo_se"], [50.0, 45.0, 30.0, 0.0])
    theta = (500.0, 0.0, -5500.0, 0.0, -1500.0)
    truth = jf.FrontierFit(*theta, rms_elo=0.0, n_points=0, board_sizes=())
    x = np.linspace(8.0, 13.0, 101)
    rng = np.random.default_rng(0)
    se = np.where(x < 10.5, 200.0, 20.0)
    frontier = pd.DataFrame(
        {
            "boardsize": 5,
            "log10_train_flops": x,
            "elo": jf.predict(truth, 5, x) + rng.normal(0, 1, x.size) * se,
            "elo_se": se,
        }
    )
    weighted = jf.fit_jones_frontier(frontier)
    plain = jf.fit_jones_frontier(frontier, weighted=False)
    assert weighted.status.converged and weighted.status.weighted
    assert not plain.status.weighted and weighted.status.at_bounds == ()
    assert weighted.status.n == 101 and weighted.rms_elo == pytest.approx(weighted.status.rms)
    # The precise upper half pins the incline better when it is weighted by its small se.
    assert abs(weighted.m - 500.0) < abs(plain.m - 500.0) + 5.0


def test_bootstrap_gives_no_interval_from_too_few_runs():
    df = _runs(n_runs=2, per_run=5)
    result = bs.bootstrap(df, lambda d: {"mean": d["x"].mean()}, n_resamples=10, cluster="run")
    assert result.n_failed == 0 and result.n_clusters == 2 and not result.ci_available
    assert np.isnan(result.table().loc["mean", "lo"])


def _still_rising(anchor: str) -> pd.DataFrame:
    """Agents trained only to 1e11 while σ_train still rises at 400 Elo per decade until 1e12
    (the CPU runs' frontier): all below perfect play, but a free fit follows the rise and puts
    its upper plateau E above it."""
    truth = scurve.SCurveParams(
        E=200.0, train=scurve.Sigma(400.0, 9.5, 12.0, 0.3), test=scurve.Sigma(150.0, 0.0, 1.2, 0.2)
    )
    t, nodes = (g.ravel() for g in np.meshgrid(np.linspace(9.0, 11.0, 6), [1, 4, 16, 64]))
    noise = np.random.default_rng(1).normal(0.0, 20.0, t.size)
    return pd.DataFrame(
        {
            "train_flops_jones": 10.0**t,
            "test_nodes": nodes,
            "test_flops_jones": nodes * 1e4,
            "elo": scurve.predict_elo(truth, t, np.log10(nodes)) + noise,
            "elo_se": 20.0,
            "anchor": anchor,
        }
    )


def test_e_is_capped_at_perfect_play_where_the_table_is_anchored_there():
    agents = _still_rising("perfect=0")
    assert agents["elo"].max() < 0.0
    free = scurve.fit_scurve(agents, n_starts=2, cap_at_perfect=False)
    assert free.elo_ceiling is None and free.params.E > 0.0  # above perfect play
    capped = scurve.fit_scurve(agents, n_starts=2)
    assert scurve.elo_ceiling(agents) == 0.0 == capped.elo_ceiling
    assert capped.params.E <= 0.0 and "E" in capped.status.at_bounds
    assert capped.status.converged, capped.status
    assert capped.rms_elo < 30.0  # the noise is 20
    # Other anchors give no ceiling (5×5+: the top agent is 0, not perfect play).
    assert scurve.elo_ceiling(_still_rising("top=0")) is None
    assert scurve.elo_ceiling(pd.concat([agents, _still_rising("top=0")])) is None
