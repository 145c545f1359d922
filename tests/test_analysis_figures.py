"""Every figure and the report are produced from a synthetic Elo table in the real schema."""

import dataclasses
import json

import matplotlib.pyplot as plt
import numpy as np
import pytest
from conftest import run_module
from matplotlib.figure import Figure

from analysis import tradeoffs
from analysis.fits import jones_frontier as jf
from analysis.fits import scurve
from analysis.fits.synthetic import ELO_TABLE_COLUMNS, make_elo_table
from analysis.report import figures

FIGURE_NAMES = (
    "jones_frontier",
    "fig3_elo_vs_compute",
    "fig4_contours",
    "fig5_spans",
    "fig13_span_crosses",
    "fig14_pareto_vs_contour",
    "train_test_plane",
)


@pytest.fixture(scope="module")
def table():
    return make_elo_table(
        1,
        board_sizes=(5, 7),
        widths=(4, 16, 64),
        depths=(1, 2),
        n_snapshots=9,
        test_nodes=(1, 4, 16, 64, 256, 1024),
    )


def test_synthetic_table_schema(table):
    assert tuple(table.columns) == ELO_TABLE_COLUMNS
    assert table["agent"].is_unique
    assert np.all(table["test_flops_standard"] == 2 * table["test_flops_jones"])
    assert np.all(table["test_flops_jones"] == table["test_nodes"] * table["params"])
    assert table.groupby("run")["snapshot"].nunique().min() >= 3


def test_each_plot_returns_a_figure(table):
    fit = scurve.fit_policy(table, "frontier", n_starts=3)
    agents = scurve.select_policy(table, "frontier")
    levels = np.linspace(-1200.0, -200.0, 4)
    spans = tradeoffs.span_table(fit, levels, n_train=101, n_inf=101)
    frontier = jf.frontier_from_runs(table)
    f13 = tradeoffs.fig13_spans({"combined": fit}, levels, n_train=101, n_inf=101)
    figs = [
        figures.plot_fig3(agents, fit),
        figures.plot_fig4(agents, fit, n_grid=61),
        figures.plot_fig5(spans),
        figures.plot_fig13(f13),
        figures.plot_fig14(fit, levels[:2], agents=agents, n_grid=61),
        figures.plot_jones_frontier(frontier, jf.fit_jones_frontier(frontier)),
    ]
    for fig in figs:
        assert isinstance(fig, Figure)
        assert all(ax.get_xlabel() for ax in fig.axes if ax.get_label() != "<colorbar>")
        plt.close(fig)
    assert "Jones convention" in figs[0].axes[0].get_xlabel()
    standard = scurve.fit_policy(table, "frontier", convention="standard", n_starts=2)
    fig = figures.plot_fig3(scurve.select_policy(table, "frontier"), standard)
    assert "2 FLOPs per MAC" in fig.axes[0].get_xlabel()
    plt.close(fig)


def test_cli_writes_every_figure_and_summary(table, tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    table.to_parquet(results / "elo.parquet")
    out = tmp_path / "figs"
    result = run_module(
        "analysis.report", f"results_dir={results}", f"figures.out_dir={out}",
        "figures.n_resamples=2",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    for name in FIGURE_NAMES:
        for ext in ("png", "pdf"):
            path = out / f"{name}.{ext}"
            assert path.exists() and path.stat().st_size > 1000, path
    summary = json.loads((out / "summary.json").read_text())
    assert summary["board_size"] == 7
    assert set(summary["policies"]) == set(figures.POLICIES)
    main_fit = summary["policies"]["frontier"]["params"]
    assert main_fit["a_train"]["lo"] is not None
    assert len(summary["spans"]) == 10
    assert set(summary["jones_frontier"]["board_sizes"]) == {5, 7}
    assert "Efficient spans" in (out / "summary.md").read_text()


def test_cli_refuses_a_missing_elo_table_in_one_line(tmp_path):
    result = run_module("analysis.report", f"results_dir={tmp_path}")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: no Elo table at {tmp_path / 'elo.parquet'} (run pipeline.evaluate first)"
    ]


@pytest.fixture(scope="module")
def report(table, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    summary = figures.write_all(table.assign(elo_model="jones"), out, n_resamples=4, n_levels=6)
    return out, summary


def test_write_all_reports_every_fit(report):
    out, summary = report
    for name in FIGURE_NAMES:
        assert (out / f"{name}.png").stat().st_size > 1000, name
    assert summary["elo_model"] == "jones"
    for name, pol in summary["policies"].items():
        status = pol["status"]
        assert {"converged", "at_bounds", "rms", "n", "weighted"} <= set(status), name
        assert status["n"] == pol["n_agents"] and status["weighted"]
    assert summary["jones_frontier"]["status"]["n"] > 0
    boot = summary["policies"]["frontier"]["bootstrap"]
    assert boot["n_resamples"] == 4 and boot["cluster"] == "run" and "n_failed" in boot
    # Spans: edge flags on every row.
    assert all("edges" in row and "extrapolated" in row for row in summary["spans"])
    md = (out / "summary.md").read_text()
    assert "| fit | converged | at bounds | RMS | n | weighting |" in md
    assert "cut by" in md and "train/test plane" in md


def test_write_all_fig13_and_train_test_plane(report, table):
    _, summary = report
    f13 = summary["fig13"]
    assert list(f13["summary"]) == list(figures.FIG13_CONFIGS)
    assert f13["n_agents"]["combined"] + f13["n_agents_uncovered"] == int(
        (table["board_size"] == 7).sum()
    )
    assert f13["n_agents"]["MCTS only"] < f13["n_agents"]["combined"]
    total = f13["sum_of_singles"]
    assert total["span_train_oom"] == pytest.approx(
        f13["summary"]["MCTS only"]["span_train_oom_mean"]
        + f13["summary"]["Chinchilla-style"]["span_train_oom_mean"]
    )
    tt = summary["train_test"]
    assert set(tt["coefficients"]) == {"intercept", "log10_train", "elo"}
    row = tt["coefficients"]["log10_train"]
    assert row["lo"] <= row["estimate"] <= row["hi"]
    assert tt["bootstrap"]["cluster"] == "run" and "slope" in tt["bootstrap_ci"]
    assert tt["status"]["converged"] and tt["n"] >= 4


def _texts(fig):
    texts = list(fig.texts) + [t for ax in fig.axes for t in ax.texts]
    return " ".join(t.get_text().replace("\n", " ") for t in texts)


def test_a_failed_fit_is_written_on_its_figure(table):
    fit = scurve.fit_policy(table, "frontier", n_starts=2)
    agents = scurve.select_policy(table, "frontier")
    assert "DID NOT CONVERGE" not in _texts(figures.plot_fig3(agents, fit))
    failed = dataclasses.replace(
        fit, status=dataclasses.replace(fit.status, converged=False, status=0, message="max nfev")
    )
    for fig in (
        figures.plot_fig3(agents, failed),
        figures.plot_fig4(agents, failed, n_grid=41),
        figures.plot_fig14(failed, [-1000.0], n_grid=41),
    ):
        assert "DID NOT CONVERGE" in _texts(fig) and "max nfev" in _texts(fig)
        plt.close(fig)
    fig = figures._failed_figure(
        "Jones train/test plane", "need at least 4 frontier points", agents
    )
    assert "FIT FAILED" in _texts(fig)
    plt.close(fig)


def test_a_plane_that_cannot_be_fitted_is_reported_on_its_figure(table, tmp_path):
    # Two runs of the largest board and one Elo level below every agent: the level's frontier
    # is a single point (the smallest test compute is reached in the first train bin), too
    # few for the plane; the report still writes every figure, the plane's with the error.
    small = table[(table["board_size"] == 7) & table["run"].isin(["b7-w64-d1", "b7-w64-d2"])]
    summary = figures.write_all(
        small, tmp_path, n_resamples=0, n_levels=4, train_test_levels=(-5000.0,)
    )
    assert "need at least 4 frontier points" in summary["train_test"]["error"]
    assert "train/test plane (OLS) | FAILED" in (tmp_path / "summary.md").read_text()
    for name in FIGURE_NAMES:
        assert (tmp_path / f"{name}.png").exists(), name
