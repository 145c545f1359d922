"""Every figure and the report are produced from a synthetic Elo table in the real schema."""

import json

import matplotlib.pyplot as plt
import numpy as np
import pytest
from conftest import run_module
from matplotlib.figure import Figure

from analysis import figures, scurve, tradeoffs
from analysis import jones_frontier as jf
from analysis.synthetic import ELO_TABLE_COLUMNS, make_elo_table

FIGURE_NAMES = (
    "jones_frontier",
    "fig3_elo_vs_compute",
    "fig4_contours",
    "fig5_spans",
    "fig13_span_crosses",
    "fig14_pareto_vs_contour",
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
        "analysis.figures", f"results_dir={results}", f"figures.out_dir={out}",
        "figures.n_resamples=2",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    for name in FIGURE_NAMES:
        for ext in ("png", "pdf"):
            path = out / f"{name}.{ext}"
            assert path.exists() and path.stat().st_size > 1000, path
    summary = json.loads((out / "summary.json").read_text())
    assert summary["board_size"] == 7
    assert set(summary["policies"]) == set(figures.FIG13_CONFIGS)
    combined = summary["policies"]["combined"]["params"]
    assert combined["a_train"]["lo"] is not None
    assert len(summary["spans"]) == 10
    assert set(summary["jones_frontier"]["board_sizes"]) == {5, 7}
    assert "Efficient spans" in (out / "summary.md").read_text()


def test_cli_refuses_a_missing_elo_table_in_one_line(tmp_path):
    result = run_module("analysis.figures", f"results_dir={tmp_path}")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: no Elo table at {tmp_path / 'elo.parquet'} (run pipeline.evaluate first)"
    ]
