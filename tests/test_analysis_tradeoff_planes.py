"""Figure 13's three configurations, span edge flags, and Jones's train/test plane."""

import numpy as np
import pandas as pd
import pytest

from analysis import tradeoffs
from analysis.fits import scurve
from analysis.fits.synthetic import PlaneTruth, make_logistic_table, make_plane_table


@pytest.fixture(scope="module")
def arch_table():
    # Independent generator with architectures that matter: a compute-optimal network size
    # rising with train compute (60 Elo per squared decade away from it).
    return make_logistic_table(
        0, widths=(8, 32, 128, 512), depths=(1, 2), n_snapshots=9, arch_penalty_elo=60.0
    )


@pytest.fixture(scope="module")
def configs(arch_table):
    return tradeoffs.fig13_configs(arch_table, 64, n_starts=3, n_train=161, n_inf=161)


def test_fig13_configurations_are_distinct(configs, arch_table):
    mcts = configs.fits["MCTS only"]
    chin = configs.fits["Chinchilla-style"]
    assert mcts.policy == "fixed_arch" and mcts.test_axis == "nodes"
    assert chin.policy == "fixed_nodes" and chin.test_axis == "flops"
    # MCTS only: one architecture, train length and nodes vary.
    assert configs.n_agents["MCTS only"] == int(
        (arch_table["run"] == f"b9-{configs.reference_arch}").sum()
    )
    # Chinchilla-style: nodes fixed at 64, every architecture and train length.
    assert configs.n_agents["Chinchilla-style"] == int((arch_table["test_nodes"] == 64).sum())
    # Combined: every agent, one fit per architecture (the MCTS-only fit reused for its own).
    assert len(configs.arch_fits) == 8 and configs.skipped_archs == {}
    assert configs.arch_fits[configs.reference_arch] is mcts
    assert configs.n_agents["combined"] == len(arch_table) and configs.n_agents_uncovered == 0
    grids = list(configs.grids.values())
    assert all(g.elo.shape == grids[0].elo.shape for g in grids)
    assert not np.allclose(np.nan_to_num(grids[0].elo), np.nan_to_num(grids[2].elo))


def test_combined_dominates_each_single_configuration(configs):
    spans = tradeoffs.fig13_spans(configs, n_levels=6)
    comb = configs.grids["combined"]
    improved = False
    for level in spans.levels_elo:
        front_c = tradeoffs.pareto_frontier(comb, level)
        for name in ("MCTS only", "Chinchilla-style"):
            front_s = tradeoffs.pareto_frontier(configs.grids[name], level)
            defined = ~np.isnan(front_s)
            # Wherever a single configuration reaches the level, so does the combined one,
            # with no more inference compute.
            assert not np.isnan(front_c[defined]).any()
            assert np.all(front_c[defined] <= front_s[defined] + 1e-9), (name, level)
            improved |= bool(np.any(front_c[defined] < front_s[defined] - 0.1))
    assert improved  # and somewhere strictly less: other architectures' node variants help
    for name in ("MCTS only", "Chinchilla-style"):
        single = configs.grids[name].elo
        ok = ~np.isnan(single)
        assert np.all(comb.elo[ok] >= single[ok] - 1e-9)


def test_fig13_spans_summary_and_sum_marker(configs):
    result = tradeoffs.fig13_spans(configs, n_levels=5)
    assert list(result.summary.index) == list(tradeoffs.FIG13_CONFIGS)
    assert len(result.per_level) == 3 * 5 and "edges" in result.per_level.columns
    s = result.summary
    want = (
        s.loc["MCTS only", "span_train_oom_mean"] + s.loc["Chinchilla-style", "span_train_oom_mean"]
    )
    assert result.sum_of_singles["span_train_oom"] == pytest.approx(want)
    assert np.all(result.per_level[["span_train_oom", "span_inf_oom"]].to_numpy() >= 0)


def _hand_fit(slope=0.0):
    params = scurve.SCurveParams(
        0.0, scurve.Sigma(300.0, 10.0, 14.0, 0.02), scurve.Sigma(200.0, 0.0, 3.0, 0.02)
    )
    return scurve.SCurveFit(
        params, 0.0, 0, "custom", "jones", "nodes", 0.0, slope, 0.0, (9.5, 14.5), (0.0, 2.0)
    )


def test_model_grid_stays_inside_the_measured_node_range():
    # Nodes measured up to 10^2 while σ_test keeps rising to 10^3: no cell above 100 nodes.
    fit = _hand_fit()
    grid = tradeoffs.model_grid(fit, n_train=101, n_inf=101)
    i = grid.log10_inference_flops
    assert np.all(np.isnan(grid.elo[:, i > 2.0 + 1e-9]))
    np.testing.assert_allclose(grid.log10_inf_measured_max, 2.0)
    best = tradeoffs.pareto_best(grid)
    # -900 Elo: 300·u + 200·v = 900 with v ≤ 2 (measured) instead of v ≤ 3 (the model's range).
    span = tradeoffs.efficient_span(best, -900.0)
    assert span.span_inf_oom == pytest.approx(2.0, abs=0.06)
    assert "nodes_max" in span.edges and not span.extrapolated
    # Extrapolating beyond the measured nodes gives the longer span, flagged as such.
    wide = tradeoffs.model_grid(
        fit, n_train=101, n_inf=151, log10_inf_range=(0.0, 3.0), extrapolate_nodes=True
    )
    long = tradeoffs.efficient_span(tradeoffs.pareto_best(wide), -900.0)
    # (3 OOM less the σ_test's smoothed upper corner, where r exceeds 6)
    assert long.span_inf_oom == pytest.approx(3.0, abs=0.1) and long.extrapolated


def test_spans_cut_by_the_train_grid_are_flagged():
    fit = _hand_fit()
    # Nodes up to 10^2: a level P needs 300·u + 200·w = −P − 200, u decades of TC below 14,
    # w ∈ [0, 2] decades of nodes below 100. With TC from 11 to 13.8, -1300 Elo (TC 10.33 to
    # 11.67) is cut at the smallest TC and -300 Elo (TC 13.67 to 14) at the largest.
    best = tradeoffs.pareto_best(
        tradeoffs.model_grid(fit, n_train=141, n_inf=101, log10_train_range=(11.0, 13.8))
    )
    assert "train_min" in tradeoffs.efficient_span(best, -1300.0).edges
    assert "train_max" in tradeoffs.efficient_span(best, -300.0).edges
    assert "train" not in tradeoffs.efficient_span(best, -900.0).edges
    table = tradeoffs.span_table(fit, [-900.0, -300.0])
    assert {"edges", "extrapolated"} <= set(table.columns)


@pytest.fixture(scope="module")
def plane_table():
    return make_plane_table(0)


PLANE_LEVELS = (-1500.0, -1250.0, -1000.0, -750.0, -500.0, -250.0)


def test_train_test_frontier_is_jones_running_minimum():
    agents = pd.DataFrame(
        {
            "train_flops_jones": [1e10, 1.1e10, 1e11, 1e12, 1e12, 1e13],
            "test_flops_jones": [1e6, 1e5, 1e7, 1e4, 1e3, 1e2],
            "elo": [-900.0, -1100.0, -800.0, -700.0, -1200.0, -600.0],
        }
    )
    front = tradeoffs.train_test_frontier(agents, levels_elo=(-1000.0, 0.0))
    # 1e10 and 1.1e10 share the 0.1-decade bin 10.0; the 1e11 agent needs more test compute
    # than already reached, so the running minimum stays at 6 there.
    assert list(front["level_elo"].unique()) == [-1000.0]  # nobody is above 0
    np.testing.assert_allclose(front["log10_train_flops"], [10.0, 11.0, 12.0, 13.0])
    np.testing.assert_allclose(front["log10_test_flops"], [6.0, 6.0, 4.0, 2.0])
    # Jones trims the flat tail after the frontier's final minimum.
    agents.loc[5, "test_flops_jones"] = 1e5
    front = tradeoffs.train_test_frontier(agents, levels_elo=(-1000.0,))
    np.testing.assert_allclose(front["log10_train_flops"], [10.0, 11.0, 12.0])


@pytest.mark.parametrize("seed", [0, 1])
def test_train_test_plane_recovers_a_known_slope(seed):
    truth = PlaneTruth()
    agents = make_plane_table(seed, truth=truth)
    fit = tradeoffs.fit_train_test(agents, levels_elo=PLANE_LEVELS)
    # Generator: iso-Elo slope −600/500 = −1.2 and 1/500 decades of test compute per Elo.
    # Measured on seeds 0-2: slope −1.17 to −1.23, Elo coefficient 0.00207-0.00215.
    assert truth.slope == pytest.approx(-1.2)
    assert fit.slope == pytest.approx(truth.slope, abs=0.06)
    assert fit.elo_coef == pytest.approx(1 / truth.a_test, rel=0.1)
    assert fit.test_reduction_per_10x_train == pytest.approx(10**1.2, rel=0.15)
    assert fit.levels_elo == PLANE_LEVELS and fit.n > 40
    lo, hi = fit.coef.loc["log10_train", ["lo", "hi"]]
    assert lo < fit.slope < hi
    assert fit.status.converged and fit.status.rms_unit.startswith("decades")
    out = fit.as_dict()
    assert set(out["coefficients"]) == {"intercept", "log10_train", "elo"}
    assert {"estimate", "se", "lo", "hi"} <= set(out["coefficients"]["log10_train"])


def test_train_test_plane_keeps_only_levels_the_data_reach(plane_table):
    top = plane_table[plane_table["elo"] < -600]
    fit = tradeoffs.fit_train_test(top)
    assert max(fit.levels_elo) <= -750.0 and -1500.0 in fit.levels_elo


def test_train_test_bootstrap_resamples_runs(plane_table):
    fit = tradeoffs.fit_train_test(plane_table, levels_elo=PLANE_LEVELS)
    boot = tradeoffs.bootstrap_train_test(
        plane_table, fit, n_resamples=6, seed=0, levels_elo=PLANE_LEVELS
    )
    assert boot.cluster == "run" and boot.n_clusters == plane_table["run"].nunique()
    assert boot.n_failed == 0
    lo, hi = boot.table().loc["slope", ["lo", "hi"]]
    assert lo <= hi and abs(fit.slope + 1.2) < 0.06


def test_train_test_plane_rejects_too_little_data():
    one = pd.DataFrame({"train_flops_jones": [1e10], "test_flops_jones": [1e5], "elo": [-900.0]})
    with pytest.raises(ValueError, match="frontier points"):
        tradeoffs.fit_train_test(one)
    one_bin = pd.DataFrame(
        {
            "train_flops_jones": [1e10, 1.05e10, 0.95e10, 1e10],
            "test_flops_jones": [1e5, 1e4, 1e3, 1e2],
            "elo": [-1400.0, -1100.0, -900.0, -600.0],
        }
    )
    with pytest.raises(ValueError, match="rank deficient"):
        tradeoffs.fit_train_test(one_bin)


def test_node_scaling_per_decade_and_doublings_by_hand():
    """30 Elo per doubling is 30 / log10 2 = 99.66 Elo per decade; a −20 step with SEs of 10
    (one SE of the step: √200 = 14.1) breaks "rises at every doubling"."""
    rows = [("r", 3, n, e, "network") for n, e in [(1, 0.0), (2, 30.0), (4, 60.0), (8, 90.0)]]
    rows += [("r", 5, n, e, "network") for n, e in [(1, 0.0), (2, -20.0), (4, 40.0)]]
    rows += [("r", 7, 64, 10.0, "network")]  # one node count only: no scaling row
    elo = pd.DataFrame(rows, columns=["run", "snapshot", "test_nodes", "elo", "kind"])
    pairs = zip(elo["snapshot"], elo["test_nodes"], strict=True)
    elo["agent"] = [f"r/{s:02d}@{n}" for s, n in pairs]
    elo.loc[len(elo)] = ["r", 3, 16, 900.0, "network", "r/03@16/puct"]  # a test-time search
    elo["elo_se"], elo["board_size"], elo["train_flops_jones"] = 10.0, 4, 1e9
    table = {r["snapshot"]: r for r in tradeoffs.node_scaling_table(elo)}
    assert sorted(table) == [3, 5]
    assert table[3]["elo_per_decade_1_64"] == pytest.approx(30 / np.log10(2), rel=1e-9)
    assert table[3]["nodes"] == [1, 2, 4, 8] and table[3]["doubling_gains"] == [30, 30, 30]
    assert table[3]["rises_every_doubling_within_1se"]
    assert not table[5]["rises_every_doubling_within_1se"]
    assert table[5]["elo_per_decade_se"] > 0
    assert table[3]["step_se_basis"] == table[5]["step_se_basis"] == "anchor"
    # with the board's fit covariance (snapshot 5's variants only, variance 100 each): the −20
    # step has SE √(2·100) = 14, still no; snapshot 3's agents are not in it: anchor SEs
    ids = list(elo["agent"][elo["snapshot"] == 5])
    cov = pd.DataFrame(np.eye(3) * 100.0, index=ids, columns=ids)
    joint = {r["snapshot"]: r for r in tradeoffs.node_scaling_table(elo, covariances={4: cov})}
    assert joint[5]["step_se_basis"] == "covariance" and joint[3]["step_se_basis"] == "anchor"
    assert joint[5]["doubling_se"] == [pytest.approx(np.sqrt(200.0), abs=0.05)] * 2


def test_node_scaling_with_the_fit_covariance_drops_the_shared_link_by_hand():
    """Three variants sharing a link to the anchor (variance 1600) plus 100 of their own:
    Σ = 1600·J + 100·I. A step's SE is √(1700 + 1700 − 2·1600) = √200, so a −20 step fails
    "rises within 1 SE" (it passes with the anchor SEs: √3400 = 58); the least-squares slope is
    40 / (2 log10 2), its SE √(cᵀΣc) = √(100 / Sxx), Sxx = 2 (log10 2)², as the shared part
    cancels (Σc = 0); taken as independent, the anchor SEs give √(1700 / Sxx)."""
    ids = ["r/05@1", "r/05@2", "r/05@4"]
    variants = pd.DataFrame(
        {"agent": ids, "nodes": [1, 2, 4], "elo": [0.0, -20.0, 40.0], "elo_se": np.sqrt(1700.0)}
    )
    cov = pd.DataFrame(1600.0 + 100.0 * np.eye(3), index=ids, columns=ids)
    by_anchor = tradeoffs.node_scaling(variants)
    joint = tradeoffs.node_scaling(variants, cov)
    log2 = np.log10(2.0)
    assert by_anchor["rises_every_doubling_within_1se"] and by_anchor["step_se_basis"] == "anchor"
    assert not joint["rises_every_doubling_within_1se"]
    assert joint["doubling_se"] == [pytest.approx(np.sqrt(200.0), abs=0.05)] * 2
    assert joint["elo_per_decade_1_64"] == pytest.approx(40 / (2 * log2), rel=1e-6)
    assert joint["elo_per_decade_se"] == pytest.approx(np.sqrt(100 / (2 * log2**2)), rel=1e-4)
    assert by_anchor["elo_per_decade_se"] == pytest.approx(np.sqrt(1700 / (2 * log2**2)), rel=1e-6)


def test_node_scaling_results_are_kept_per_board_and_run():
    """scripts/node_scaling.py's JSON: writing one board and run replaces only its own entries
    (and rows written before results were keyed by run, for that board), never another run's."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "scripts" / "node_scaling.py"
    spec = importlib.util.spec_from_file_location("node_scaling_script", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    legacy = {"config": {"b4": {"run": "a"}, "b5": {"run": "c"}},
              "rows": [{"board": 4, "elo": 1.0}, {"board": 5, "elo": 2.0}],
              "fits": [{"board": 4}, {"board": 5}]}  # fmt: skip
    first = script.merge(legacy, 4, "a", {"run": "a"}, [{"board": 4, "run": "a", "elo": 3.0}], [])
    assert set(first["config"]) == {"b4/a", "b5"}
    assert first["rows"] == [{"board": 5, "elo": 2.0}, {"board": 4, "run": "a", "elo": 3.0}]
    assert first["fits"] == [{"board": 5}]
    second = script.merge(first, 4, "b", {"run": "b"}, [{"board": 4, "run": "b", "elo": 4.0}], [])
    assert set(second["config"]) == {"b4/a", "b4/b", "b5"}
    assert [r["elo"] for r in second["rows"]] == [2.0, 3.0, 4.0]
    again = script.merge(second, 4, "a", {"run": "a"}, [{"board": 4, "run": "a", "elo": 5.0}], [])
    assert [r["elo"] for r in again["rows"]] == [2.0, 4.0, 5.0]
