"""Figures of Epoch (2023) and Jones (2021) from an Elo table, and a one-call report writer.

``python -m analysis.report results_dir=DIR [figures.out_dir=DIR/figures]
[figures.convention=jones] [figures.nodes=64] [figures.board_size=9] [figures.n_resamples=50]``
reads ``DIR/elo.parquet`` (or ``figures.elo_table``) and writes PNG + PDF of every figure plus
summary.json and summary.md.
"""

from __future__ import annotations

import dataclasses
import io
import pathlib
import sys
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from omegaconf import DictConfig  # noqa: E402

from analysis import tradeoffs  # noqa: E402
from analysis.fits import jones_frontier as jf  # noqa: E402
from analysis.fits import perfect_play as pp  # noqa: E402
from analysis.fits import scurve  # noqa: E402
from analysis.fits.bootstrap import BootstrapResult  # noqa: E402
from analysis.report.summary import (  # noqa: E402
    Failed,
    FailedPolicy,
    Fig13Summary,
    JonesFrontierSummary,
    ParamEstimate,
    PolicyFit,
    Summary,
    TrainTestSummary,
    plain,
)
from pipeline.infra.config import hydra_main, load  # noqa: E402
from pipeline.infra.files import atomic_write_bytes  # noqa: E402
from pipeline.infra.layout import Layout  # noqa: E402
from pipeline.infra.tables import PERFECT_ANCHOR, read_covariances  # noqa: E402

__all__ = [
    "FIG13_CONFIGS",
    "POLICIES",
    "main",
    "plot_fig3",
    "plot_fig4",
    "plot_fig5",
    "plot_fig13",
    "plot_fig14",
    "plot_jones_frontier",
    "plot_train_test",
    "write_all",
]

# S-curve fits reported in the summary: name -> scaling policy (scurve.select_policy). The
# frontier policy is the main fit (Figures 3, 4, 5, 14); the other two are Figure 13's single
# configurations.
POLICIES = {
    "frontier": "frontier",
    "MCTS only": "fixed_arch",
    "Chinchilla-style": "fixed_nodes",
}
# Epoch (2023) Fig. 13 configurations (tradeoffs.fig13_configs): MCTS only, Chinchilla-style,
# combined (all free: the Pareto frontier over every agent).
FIG13_CONFIGS = tradeoffs.FIG13_CONFIGS
_CMAP = "viridis"
_FAIL_STYLE = {"color": "red", "fontsize": 8, "fontweight": "bold"}


def _conv(convention: str) -> str:
    return "Jones convention, 1 MAC = 1 FLOP" if convention == "jones" else "2 FLOPs per MAC"


def _tc_label(convention: str) -> str:
    return f"log10 train compute TC [FLOP] ({_conv(convention)})"


def _ic_label(convention: str) -> str:
    return f"log10 inference compute IC [FLOP per move] ({_conv(convention)})"


def _status_note(status) -> str:
    """'' for a converged fit with nothing at a bound, else the text to print on its figure."""
    return "" if status is None else status.note()


def _write_on(fig: Figure, text: str, *, centre: bool = False) -> None:
    """Write a failure (or a warning about a fit) on the figure itself, in red: centred for a
    fit that failed outright, else in a box at the top left of the first panel."""
    if not text:
        return
    wrapped = textwrap.fill(text, 60 if centre else 70)
    if centre or not fig.axes:
        fig.text(
            0.5, 0.5, wrapped, ha="center", va="center", zorder=10,
            bbox={"facecolor": "white", "alpha": 0.9, "edgecolor": "red"}, **_FAIL_STYLE,
        )  # fmt: skip
        return
    fig.axes[0].text(
        0.02, 0.98, wrapped, transform=fig.axes[0].transAxes, ha="left", va="top", zorder=10,
        bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "red"}, **_FAIL_STYLE,
    )  # fmt: skip


def _failed_figure(title: str, error: str, data: pd.DataFrame | None = None, *, convention="jones"):
    """A figure for a fit that could not be made: the data if any, and the error written on it."""
    fig, ax = plt.subplots(figsize=(7, 5), constrained_layout=True)
    if data is not None and len(data):
        ax.scatter(
            np.log10(data[f"train_flops_{convention}"]),
            data["elo"],
            s=8,
            c=np.log10(data[f"test_flops_{convention}"]),
            cmap=_CMAP,
        )
        ax.set_xlabel(_tc_label(convention))
        ax.set_ylabel("Elo (0 = anchor)")
    else:
        ax.set_xlabel("(no data)")
    ax.set_title(title)
    _write_on(fig, f"FIT FAILED: {error}", centre=True)
    return fig


def plot_fig3(df: pd.DataFrame, fit: scurve.SCurveFit) -> Figure:
    """Epoch (2023) Fig. 3: Elo vs log10 TC and vs log10 IC of the fitted policy's agents.

    Points are coloured by the other compute axis; lines are fitted slices (fixed node count
    in the left panel, fixed TC in the right one). A fit that did not converge, or has
    parameters at bounds, says so on the figure.
    """
    conv = fit.convention
    t = np.log10(df[f"train_flops_{conv}"].to_numpy(float))
    i = np.log10(df[f"test_flops_{conv}"].to_numpy(float))
    elo = df["elo"].to_numpy(float)
    fig, (ax_t, ax_i) = plt.subplots(1, 2, figsize=(12, 4.8), constrained_layout=True)
    sc = ax_t.scatter(t, elo, c=i, cmap=_CMAP, s=14, edgecolors="none")
    fig.colorbar(sc, ax=ax_t, label="log10 IC [FLOP per move]")
    t_line = np.linspace(*fit.log10_train_range, 200)
    if fit.test_axis == "nodes":
        nodes = np.sort(df["test_nodes"].unique())
        shades = plt.get_cmap("Greys")(np.linspace(0.4, 0.95, len(nodes)))
        for m, color in zip(nodes, shades, strict=True):
            y = scurve.predict_elo(fit.params, t_line, np.log10(m))
            ax_t.plot(t_line, y, color=color, lw=1.2, label=f"fit, {m} nodes")
    else:
        for level in np.quantile(i, [0.1, 0.5, 0.9]):
            x = scurve.model_variables("flops", t_line, level)
            y = scurve.predict_elo(fit.params, *x)
            ax_t.plot(t_line, y, color="0.3", lw=1.2, label=f"fit, log10 IC = {level:.1f}")
    ax_t.set_xlabel(_tc_label(conv))
    ax_t.set_ylabel("Elo (0 = anchor)")
    ax_t.set_title("Elo vs train compute")
    ax_t.legend(fontsize=7, loc="lower right")

    sc = ax_i.scatter(i, elo, c=t, cmap="plasma", s=14, edgecolors="none")
    fig.colorbar(sc, ax=ax_i, label="log10 TC [FLOP]")
    i_line = tradeoffs.model_grid(fit, n_train=2, n_inf=300).log10_inference_flops
    t_slices = np.quantile(t, [0.05, 0.35, 0.65, 0.95])
    colors = plt.get_cmap("plasma")((t_slices - t.min()) / max(np.ptp(t), 1e-9))
    for t_k, color in zip(t_slices, colors, strict=True):
        y = scurve.elo_on_plane(fit, t_k, i_line)
        ax_i.plot(i_line, y, color=color, lw=1.2, label=f"fit, TC = 1e{t_k:.1f}")
    ax_i.set_xlabel(_ic_label(conv))
    ax_i.set_ylabel("Elo (0 = anchor)")
    ax_i.set_title("Elo vs inference compute (up to the largest measured node count)")
    ax_i.legend(fontsize=7, loc="lower right")
    weighting = "SE-weighted" if fit.status is not None and fit.status.weighted else "unweighted"
    fig.suptitle(
        f"Epoch Fig. 3 — S-curve fit on the {fit.policy!r} policy ({fit.n_agents} agents, "
        f"RMS {fit.rms_elo:.0f} Elo, {weighting})"
    )
    _write_on(fig, _status_note(fit.status))
    return fig


def plot_fig4(df: pd.DataFrame, fit: scurve.SCurveFit, *, n_grid: int = 241) -> Figure:
    """Epoch (2023) Fig. 4: fitted Elo contours on the (log10 TC, log10 IC) plane with the
    region below one MCTS node and above the largest measured node count masked, and the
    empirical agents overlaid, coloured by Elo."""
    conv = fit.convention
    t = np.log10(df[f"train_flops_{conv}"].to_numpy(float))
    i = np.log10(df[f"test_flops_{conv}"].to_numpy(float))
    elo = df["elo"].to_numpy(float)
    i_model = tradeoffs.model_grid(fit, n_train=2, n_inf=2).log10_inference_flops
    grid = tradeoffs.model_grid(
        fit,
        n_train=n_grid,
        n_inf=n_grid,
        log10_inf_range=(min(i_model[0], i.min()), max(i_model[-1], i.max())),
    )
    lo = min(np.nanmin(grid.elo), elo.min())
    hi = max(np.nanmax(grid.elo), elo.max())
    levels = np.linspace(lo, hi, 15)
    fig, ax = plt.subplots(figsize=(7.5, 5.8), constrained_layout=True)
    ax.set_facecolor("0.85")
    tt, ii = np.meshgrid(grid.log10_train_flops, grid.log10_inference_flops, indexing="ij")
    z = np.ma.masked_invalid(grid.elo)
    filled = ax.contourf(tt, ii, z, levels=levels, cmap=_CMAP, alpha=0.85)
    lines = ax.contour(tt, ii, z, levels=levels[1:-1:2], colors="k", linewidths=0.6)
    ax.clabel(lines, fmt="%.0f", fontsize=7)
    ax.scatter(
        t, i, c=elo, cmap=_CMAP, vmin=lo, vmax=hi, s=28, edgecolors="k", linewidths=0.8, zorder=3
    )
    fig.colorbar(filled, ax=ax, label="Elo (fit; points: measured)")
    ax.set_xlabel(_tc_label(conv))
    ax.set_ylabel(_ic_label(conv))
    mask_note = (
        "< 1 node or > largest measured node count"
        if fit.test_axis == "nodes"
        else "outside the measured networks"
    )
    ax.text(
        0.98, 0.02, f"grey: infeasible or unmeasured ({mask_note})", transform=ax.transAxes,
        ha="right", va="bottom", fontsize=8,
    )  # fmt: skip
    ax.set_title(f"Epoch Fig. 4 — fitted Elo contours, {fit.policy!r} policy")
    _write_on(fig, _status_note(fit.status))
    return fig


def plot_fig5(spans: pd.DataFrame, *, note: str = "") -> Figure:
    """Epoch (2023) Fig. 5: span_train and span_inf (OOM) against the Elo level.

    `spans` has columns level_elo, span_train_oom, span_inf_oom and optionally the bootstrap
    bands span_train_lo/hi, span_inf_lo/hi and the edge flags (`edges`); spans cut by an edge
    of the grid or of the measured node range are drawn hollow. `note` (e.g. a fit that did
    not converge, or bootstrap intervals withheld) is written on the figure.
    """
    fig, ax = plt.subplots(figsize=(7, 4.5), constrained_layout=True)
    cut = (
        spans["edges"].fillna("").astype(str).str.len().to_numpy() > 0
        if "edges" in spans.columns
        else np.zeros(len(spans), bool)
    )
    for key, label, color in (
        ("span_train", "train span (OOM of TC)", "C0"),
        ("span_inf", "inference span (OOM of IC)", "C1"),
    ):
        x, y = spans["level_elo"].to_numpy(), spans[f"{key}_oom"].to_numpy()
        ax.plot(x, y, "-", color=color, label=label)
        ax.plot(x[~cut], y[~cut], "o", color=color)
        ax.plot(x[cut], y[cut], "o", mfc="none", color=color)
        if f"{key}_lo" in spans.columns and spans[f"{key}_lo"].notna().any():
            ax.fill_between(x, spans[f"{key}_lo"], spans[f"{key}_hi"], color=color, alpha=0.2)
    if cut.any():
        ax.plot([], [], "o", mfc="none", color="0.3", label="cut by a grid or node-range edge")
    ax.set_xlabel("Elo level P (0 = anchor)")
    ax.set_ylabel("span of efficient exchange [orders of magnitude]")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8)
    ax.set_title("Epoch Fig. 5 — efficient spans (1/6 ≤ r ≤ 6, cut at 1 node); bands: bootstrap")
    _write_on(fig, note)
    return fig


def plot_fig13(result: tradeoffs.Fig13Spans, *, notes: dict[str, str] | None = None) -> Figure:
    """Epoch (2023) Fig. 13: one cross per configuration at its mean (span_train, span_inf)
    over the shared Elo levels, arms one standard deviation over levels, and a marker at the
    sum of the "MCTS only" and "Chinchilla-style" means (Epoch: combined ≈ their sum).
    `notes` maps a configuration to a warning about its fit (written on the figure)."""
    fig, ax = plt.subplots(figsize=(6.5, 5.8), constrained_layout=True)
    s = result.summary
    for k, (name, row) in enumerate(s.iterrows()):
        ax.errorbar(
            row["span_train_oom_mean"],
            row["span_inf_oom_mean"],
            xerr=row["span_train_oom_std"],
            yerr=row["span_inf_oom_std"],
            fmt="o",
            capsize=4,
            color=f"C{k}",
            label=name,
        )
    top = np.nanmax(s.filter(like="mean").to_numpy() + s.filter(like="std").fillna(0).to_numpy())
    total = result.sum_of_singles
    if total is not None:
        top = max(top, total["span_train_oom"], total["span_inf_oom"])
        ax.plot(
            total["span_train_oom"],
            total["span_inf_oom"],
            "X",
            color="k",
            ms=10,
            label="sum: MCTS only + Chinchilla-style",
        )
    top = max(1.0, float(top))
    ax.plot([0, top * 1.1], [0, top * 1.1], ":", color="0.6", lw=1, label="equal spans")
    ax.set_xlim(0, top * 1.1)
    ax.set_ylim(0, top * 1.1)
    ax.set_xlabel("span_train [OOM of train compute]")
    ax.set_ylabel("span_inf [OOM of inference compute]")
    lv = result.levels_elo
    ax.set_title(
        f"Epoch Fig. 13 — {len(lv)} Elo levels from {lv.min():.0f} to {lv.max():.0f}\n"
        "MCTS only: one network; Chinchilla: 1 node count; combined: all free",
        fontsize=10,
    )
    ax.legend(fontsize=8, loc="lower right" if notes and any(notes.values()) else "upper left")
    if "edges" in result.per_level.columns:
        n_cut = int((result.per_level["edges"].astype(str).str.len() > 0).sum())
        if n_cut:
            ax.text(
                0.02, 0.02, f"{n_cut} of {len(result.per_level)} spans cut by an edge",
                transform=ax.transAxes, ha="left", va="bottom", fontsize=8,
            )  # fmt: skip
    _write_on(fig, "; ".join(f"{k}: {v}" for k, v in (notes or {}).items() if v))
    return fig


def plot_fig14(
    fit: scurve.SCurveFit,
    levels_elo: Sequence[float],
    *,
    agents: pd.DataFrame | None = None,
    n_grid: int = 241,
) -> Figure:
    """Epoch (2023) Fig. 14: raw Elo contours vs Pareto frontiers (cumulative max over the
    lower-left quadrant) at a few levels; the efficient part (1/6 ≤ r ≤ 6) drawn thick."""
    conv = fit.convention
    grid = tradeoffs.model_grid(fit, n_train=n_grid, n_inf=n_grid)
    best = tradeoffs.pareto_best(grid)
    fig, ax = plt.subplots(figsize=(7.5, 5.8), constrained_layout=True)
    tt, ii = np.meshgrid(grid.log10_train_flops, grid.log10_inference_flops, indexing="ij")
    levels = np.unique(np.asarray(levels_elo, float))
    colors = plt.get_cmap(_CMAP)(np.linspace(0.05, 0.9, len(levels)))
    ax.contour(tt, ii, np.ma.masked_invalid(grid.elo), levels=levels, colors=colors, linestyles=":")
    t = grid.log10_train_flops
    for level, color in zip(levels, colors, strict=True):
        front = tradeoffs.pareto_frontier(best, level)
        ax.plot(t, front, color=color, lw=1.2, label=f"P = {level:.0f} Elo")
        r = tradeoffs.marginal_rate(t, front)
        eff = (r >= tradeoffs.R_MIN) & (r <= tradeoffs.R_MAX)
        seg = np.where(np.r_[eff, False] | np.r_[False, eff], front, np.nan)
        ax.plot(t, seg, color=color, lw=3.5, alpha=0.8)
    if grid.log10_inf_measured_max is not None:
        ax.plot(t, grid.log10_inf_measured_max, "--", color="0.4", lw=1, label="largest nodes")
    if agents is not None:
        ax.scatter(
            np.log10(agents[f"train_flops_{conv}"]),
            np.log10(agents[f"test_flops_{conv}"]),
            s=6,
            color="0.5",
            label="agents",
        )
    ax.set_xlabel(_tc_label(conv))
    ax.set_ylabel(_ic_label(conv))
    ax.set_title("Epoch Fig. 14 — dotted: Elo contours; solid: Pareto frontiers; thick: efficient")
    ax.legend(fontsize=7, loc="upper right")
    _write_on(fig, _status_note(fit.status))
    return fig


def plot_jones_frontier(
    frontier_df: pd.DataFrame,
    fit: jf.FrontierFit,
    *,
    convention: str = "jones",
    runs: pd.DataFrame | None = None,
    anchor: str = "perfect play / top agent",
) -> Figure:
    """Jones (2021) frontier figure: per board, the empirical compute frontier (solid) and the
    fitted changepoint model (dashed); optional faint run curves (`frontier_from_runs` input
    columns boardsize/board_size, log10_train_flops or train_flops_<convention>, elo)."""
    fig, ax = plt.subplots(figsize=(8, 5), constrained_layout=True)
    boards = sorted(frontier_df["boardsize"].unique())
    colors = plt.get_cmap("plasma")(np.linspace(0.0, 0.85, len(boards)))
    for board, color in zip(boards, colors, strict=True):
        g = frontier_df[frontier_df["boardsize"] == board]
        x = g["log10_train_flops"].to_numpy()
        if runs is not None:
            bcol = "boardsize" if "boardsize" in runs.columns else "board_size"
            r = runs[runs[bcol] == board]
            rx = (
                r["log10_train_flops"]
                if "log10_train_flops" in r.columns
                else np.log10(r[f"train_flops_{convention}"])
            )
            ax.scatter(rx, r["elo"], s=3, color=color, alpha=0.25, edgecolors="none")
        ax.plot(x, g["elo"], color=color, lw=1.6, label=f"{board}×{board}")
        ax.plot(x, jf.predict(fit, board, x), "--", color=color, lw=1.2)
    ax.set_xlabel(_tc_label(convention))
    ax.set_ylabel(f"Elo (0 = {anchor})")
    ax.set_title(
        f"Jones frontier — m = {fit.m:.0f} Elo/decade, m_b = {fit.m_b:.0f}, c = {fit.c:.0f}, "
        f"p_b = {fit.p_b:.0f}, p_c = {fit.p_c:.0f}; RMS {fit.rms_elo:.0f} Elo (dashed: fit)",
        fontsize=9,
    )
    ax.legend(title="board", fontsize=8)
    _write_on(fig, _status_note(fit.status))
    return fig


def plot_train_test(
    fit: tradeoffs.TrainTestFit,
    agents: pd.DataFrame | None = None,
    *,
    note: str = "",
) -> Figure:
    """Jones's (2021) train/test plane: per Elo level, the minimum test compute reaching it as
    train compute grows (solid steps) and the fitted plane log10 test = c + s·log10 train +
    k·Elo (dashed); the agents faint in the background."""
    conv = fit.convention
    fig, ax = plt.subplots(figsize=(7.5, 5.5), constrained_layout=True)
    if agents is not None:
        ax.scatter(
            np.log10(agents[f"train_flops_{conv}"]),
            np.log10(agents[f"test_flops_{conv}"]),
            s=4,
            color="0.75",
            label="agents",
            zorder=1,
        )
    levels = np.asarray(fit.levels_elo, float)
    colors = plt.get_cmap(_CMAP)(np.linspace(0.0, 0.9, max(len(levels), 1)))
    for level, color in zip(levels, colors, strict=True):
        g = fit.frontier[fit.frontier["level_elo"] == level]
        x = g["log10_train_flops"].to_numpy()
        ax.step(
            x, g["log10_test_flops"], where="post", color=color, lw=1.5, label=f"> {level:.0f} Elo"
        )
        ax.plot(x, fit.intercept + fit.slope * x + fit.elo_coef * level, "--", color=color, lw=1)
    row = fit.coef.loc["log10_train"]
    ax.set_xlabel(_tc_label(conv) + f", bins of {fit.bin_decades:g} decade")
    ax.set_ylabel(_ic_label(conv))
    ax.set_title(
        f"Jones train/test plane — slope {fit.slope:.2f} [{row['lo']:.2f}, {row['hi']:.2f}]: "
        f"10× train ≈ {fit.test_reduction_per_10x_train:.0f}× less test compute\n"
        f"{fit.elo_coef * 100:.2f} decades of test per 100 Elo; n = {fit.n}, "
        f"RMS {fit.rms_log10:.2f} decades (dashed: OLS fit)",
        fontsize=9,
    )
    ax.legend(fontsize=7, loc="upper right", title="Elo level")
    _write_on(fig, note or _status_note(fit.status))
    return fig


def _draw(draw, title: str, data: pd.DataFrame | None, convention: str) -> Figure:
    """`draw()`, or, if drawing raises ValueError, a figure with the error written on it."""
    try:
        return draw()
    except ValueError as err:
        plt.close("all")
        return _failed_figure(title, f"cannot draw: {err}", data, convention=convention)


def _with_note(fig: Figure, note: str) -> Figure:
    """`fig` with `note` written along its bottom edge (nothing if the note is empty)."""
    if note:
        fig.text(0.01, 0.005, note, fontsize=7, color="tab:red", ha="left", va="bottom", wrap=True)
    return fig


def _save(fig: Figure, out_dir: pathlib.Path, name: str) -> list[str]:
    paths = []
    for ext in ("png", "pdf"):
        path = out_dir / f"{name}.{ext}"
        buffer = io.BytesIO()
        fig.savefig(buffer, format=ext, dpi=130)
        atomic_write_bytes(path, buffer.getvalue())
        paths.append(path.name)
    plt.close(fig)
    return paths


@dataclass(frozen=True)
class _Inputs:
    """What every section of `write_all` reads: the Elo table, the board and the options."""

    df: pd.DataFrame
    board_df: pd.DataFrame  # the rows of `board`
    out: pathlib.Path
    convention: str
    nodes: int
    board: int
    anchor: str
    seed: int
    n_resamples: int
    n_levels: int
    cluster: str | None
    extrapolate_nodes: bool
    train_test_levels: Sequence[float]


@dataclass(frozen=True)
class _MainFit:
    """The S-curve fit behind Figs. 3, 4, 5 and 14: the frontier policy's, else the first fitted."""

    name: str
    fit: scurve.SCurveFit
    agents: pd.DataFrame
    fallback_note: str  # '' unless the frontier policy was not fitted


@dataclass(frozen=True)
class _Spans:
    """The main fit's efficient spans (Epoch Fig. 5) and their bootstrap, if one was run."""

    table: pd.DataFrame  # tradeoffs.span_table, with bands span_*_lo/hi when bootstrapped
    records: list[dict]  # `table` as summary.json holds it
    levels: np.ndarray  # the Elo levels
    boot: BootstrapResult | None
    boot_table: pd.DataFrame | None  # boot.table()
    note: str  # why there are no bootstrap bands, if there are none


def _jones_section(run: _Inputs) -> tuple[JonesFrontierSummary | Failed, list[str]]:
    """Fit Jones's frontier jointly over every board at `run.nodes` nodes and draw it."""
    frontier = jf.frontier_from_runs(run.df, convention=run.convention, test_nodes=run.nodes)
    runs = run.df[run.df["test_nodes"] == run.nodes]
    try:
        jfit = jf.fit_jones_frontier(frontier, seed=run.seed)
        section = JonesFrontierSummary(
            params=jfit.params(),
            rms_elo=jfit.rms_elo,
            board_sizes=list(jfit.board_sizes),
            converged=jfit.status.converged,
            status=jfit.status.as_dict(),
            note="m_b and p_b fixed at 0 (one board)" if len(jfit.board_sizes) < 2 else "",
            per_board=jf.per_board_fits(frontier).to_dict(orient="records"),
        )
        fig = plot_jones_frontier(
            frontier, jfit, convention=run.convention, runs=runs, anchor=run.anchor
        )
    except ValueError as err:
        section = Failed(str(err))
        fig = _failed_figure("Jones frontier", str(err), runs, convention=run.convention)
    return section, _save(fig, run.out, "jones_frontier")


def _perfect_play_section(run: _Inputs) -> dict | Failed:
    """Compute to perfect play per board, its multiplier between boards and the frontier slope
    per seed (`analysis.fits.perfect_play`), for a table anchored to the solver only."""
    if run.anchor != PERFECT_ANCHOR:
        return Failed(f"anchor is {run.anchor!r}, not perfect play ({PERFECT_ANCHOR})")
    settings = dict(n_resamples=run.n_resamples, seed=run.seed, test_nodes=run.nodes,
                    convention=run.convention)  # fmt: skip
    try:
        return {"compute": pp.perfect_play_compute(run.df, **settings),
                "slopes": pp.frontier_slopes(run.df, **settings)}  # fmt: skip
    except (ValueError, RuntimeError) as err:
        return Failed(str(err))


def _uncapped_section(run: _Inputs, main: _MainFit) -> dict | Failed:
    """The main fit again without the cap E ≤ 0 (Epoch's fit leaves E free): where the upper
    plateau lands when the data alone place it. Only for a capped main fit."""
    if main.fit.elo_ceiling is None:
        return Failed("the main fit has no ceiling")
    try:
        fit = scurve.fit_scurve(main.agents, convention=run.convention,
                                test_axis=main.fit.test_axis, policy=main.fit.policy,
                                seed=run.seed, cap_at_perfect=False)  # fmt: skip
    except ValueError as err:
        return Failed(str(err))
    return {"policy": main.name, "E": fit.params.E, "params": fit.params.as_dict(),
            "rms_elo": fit.rms_elo, "status": fit.status.as_dict()}  # fmt: skip


def _policy_fit(fit: scurve.SCurveFit, agents: pd.DataFrame, policy: str) -> PolicyFit:
    """The summary of one policy's S-curve fit, before any bootstrap."""
    return PolicyFit(
        policy=policy,
        n_agents=len(agents),
        n_runs=int(agents["run"].nunique()) if "run" in agents else None,
        rms_elo=fit.rms_elo,
        test_axis=fit.test_axis,
        elo_ceiling=fit.elo_ceiling,
        converged=fit.status.converged,
        status=fit.status.as_dict(),
        log10_fwd_flops_intercept=fit.log10_fwd_flops_intercept,
        log10_fwd_flops_slope=fit.log10_fwd_flops_slope,
        log10_train_range=list(fit.log10_train_range),
        log10_test_range=list(fit.log10_test_range),
        params={k: ParamEstimate(v) for k, v in fit.params.as_dict().items()},
    )


def _fit_policies(
    run: _Inputs,
) -> tuple[dict[str, PolicyFit | FailedPolicy], dict[str, tuple[scurve.SCurveFit, pd.DataFrame]]]:
    """Fit the S-curve of every policy in POLICIES: their summaries, and the fits with their
    agents; a policy that raises ValueError is reported, not fitted."""
    policies: dict[str, PolicyFit | FailedPolicy] = {}
    fitted: dict[str, tuple[scurve.SCurveFit, pd.DataFrame]] = {}
    for name, policy in POLICIES.items():
        try:
            agents = scurve.select_policy(
                run.df, policy, run.nodes, board_size=run.board, convention=run.convention
            )
            fit = scurve.fit_scurve(
                agents,
                convention=run.convention,
                test_axis="flops" if policy == "fixed_nodes" else "nodes",
                policy=policy,
                seed=run.seed,
            )
            fitted[name] = (fit, agents)
            policies[name] = _policy_fit(fit, agents, policy)
        except ValueError as err:
            policies[name] = FailedPolicy(policy, str(err))
    return policies, fitted


def _main_fit(
    policies: Mapping[str, PolicyFit | FailedPolicy],
    fitted: Mapping[str, tuple[scurve.SCurveFit, pd.DataFrame]],
) -> _MainFit:
    """The first fitted policy in POLICIES' order (ValueError if none was)."""
    name = next((name for name in POLICIES if name in fitted), None)
    if name is None:
        raise ValueError(f"no scaling policy could be fitted: {plain(dict(policies))}")
    note = ""
    if name != "frontier":  # too few agents on the frontier: say so on every figure
        note = (
            f"frontier policy not fitted ({policies['frontier'].error}); "
            f"Figs. 3-5, 14 show the {name} fit"
        )
    fit, agents = fitted[name]
    return _MainFit(name, fit, agents, note)


def _spans(run: _Inputs, main: _MainFit) -> _Spans:
    """The main fit's spans at `run.n_levels` levels across its reachable Elo range, with
    bootstrap bands when `run.n_resamples` > 0."""
    grid_kw = {"extrapolate_nodes": run.extrapolate_nodes}
    best = tradeoffs.pareto_best(tradeoffs.model_grid(main.fit, **grid_kw))
    lo, hi = tradeoffs.reachable_elo_range(best)
    levels = np.round(np.linspace(lo + 0.05 * (hi - lo), hi - 0.02 * (hi - lo), run.n_levels))
    spans = tradeoffs.span_table(main.fit, levels, **grid_kw)
    if run.n_resamples <= 0:
        return _Spans(spans, spans.to_dict(orient="records"), levels, None, None, "")
    boot = tradeoffs.bootstrap_spans(
        main.agents,
        main.fit,
        levels,
        n_resamples=run.n_resamples,
        seed=run.seed,
        with_params=True,
        cluster=run.cluster,
        **grid_kw,
    )
    table = boot.table()
    for key in ("span_train", "span_inf"):
        rows = [f"{key}_oom@{p:.0f}" for p in levels]
        spans[f"{key}_lo"] = table.loc[rows, "lo"].to_numpy()
        spans[f"{key}_hi"] = table.loc[rows, "hi"].to_numpy()
    note = ""
    if not boot.ci_available:
        note = (
            f"no bootstrap bands: {boot.n_failed} of {boot.n_resamples} refits failed, "
            f"{boot.n_clusters} {'runs' if boot.cluster else 'agents'} resampled"
        )
    return _Spans(spans, spans.to_dict(orient="records"), levels, boot, table, note)


def _bootstrapped(pol: PolicyFit, spans: _Spans, n_resamples: int) -> PolicyFit:
    """`pol` (the main fit) with the parameter intervals and counts of the spans' bootstrap."""
    table = spans.boot_table
    params = {
        k: dataclasses.replace(p, interval=(table.loc[k, "lo"], table.loc[k, "hi"]))
        for k, p in pol.params.items()
    }
    return dataclasses.replace(
        pol, params=params, bootstrap=spans.boot.summary(), bootstrap_resamples=n_resamples
    )


def _epoch_figures(run: _Inputs, main: _MainFit, spans: _Spans) -> list[str]:
    """Draw Epoch's Figs. 3, 4, 5 and 14 of the main fit; a figure that cannot be drawn says
    why, and each says so when the frontier policy was not fitted."""
    main_note = "; ".join(n for n in (main.fallback_note, _status_note(main.fit.status)) if n)
    fig5_note = "; ".join(n for n in (main_note, spans.note) if n)
    levels = spans.levels
    fig14_levels = levels[[1, len(levels) // 2, -2]] if len(levels) >= 3 else levels
    files = []
    for name, title, draw in (
        ("fig3_elo_vs_compute", "Epoch Fig. 3", lambda: plot_fig3(main.agents, main.fit)),
        ("fig4_contours", "Epoch Fig. 4", lambda: plot_fig4(main.agents, main.fit)),
        ("fig5_spans", "Epoch Fig. 5", lambda: plot_fig5(spans.table, note=fig5_note)),
        (
            "fig14_pareto_vs_contour",
            "Epoch Fig. 14",
            lambda: plot_fig14(main.fit, fig14_levels, agents=main.agents),
        ),
    ):
        fig = _draw(draw, title, main.agents, run.convention)
        files += _save(_with_note(fig, main.fallback_note), run.out, name)
    return files


def _fig13_summary(
    configs: tradeoffs.Fig13Configs, f13: tradeoffs.Fig13Spans, nodes: int
) -> Fig13Summary:
    """The summary of Figure 13's configurations and spans."""
    per_level = f13.per_level
    cut = per_level["edges"].astype(str).str.len() > 0
    return Fig13Summary(
        levels_elo=list(f13.levels_elo),
        summary=f13.summary.to_dict(orient="index"),
        sum_of_singles=f13.sum_of_singles,
        per_level=per_level.to_dict(orient="records"),
        n_cut={k: int(v) for k, v in cut.groupby(per_level["config"]).sum().items()},
        n_agents=configs.n_agents,
        n_agents_uncovered=configs.n_agents_uncovered,
        reference_arch=configs.reference_arch,
        configs={
            "MCTS only": f"architecture {configs.reference_arch}; train length and nodes vary",
            "Chinchilla-style": f"{nodes} nodes; architecture and train length vary",
            "combined": "all free: Pareto over every agent (one fit per architecture, "
            "plus the Chinchilla-style fit)",
        },
        fits={k: f.status.as_dict() for k, f in configs.fits.items()},
        arch_fits={k: f.status.as_dict() for k, f in configs.arch_fits.items()},
        skipped_archs=configs.skipped_archs,
    )


def _fig13_section(run: _Inputs) -> tuple[Fig13Summary | Failed, list[str]]:
    """Fit Figure 13's configurations (`tradeoffs.fig13_configs`) and draw their span crosses."""
    try:
        configs = tradeoffs.fig13_configs(
            run.df,
            run.nodes,
            board_size=run.board,
            convention=run.convention,
            seed=run.seed,
            extrapolate_nodes=run.extrapolate_nodes,
        )
        f13 = tradeoffs.fig13_spans(configs, n_levels=run.n_levels)
        notes = {k: _status_note(f.status) for k, f in configs.fits.items()}
        bad_archs = [k for k, f in configs.arch_fits.items() if not f.status.converged]
        if bad_archs:
            notes["combined"] = f"did not converge: {', '.join(bad_archs)}"
        section = _fig13_summary(configs, f13, run.nodes)
        fig = plot_fig13(f13, notes=notes)
    except ValueError as err:
        section = Failed(str(err))
        fig = _failed_figure("Epoch Fig. 13", str(err), run.board_df, convention=run.convention)
    return section, _save(fig, run.out, "fig13_span_crosses")


def _train_test_bootstrap(run: _Inputs, tt: tradeoffs.TrainTestFit) -> tuple[TrainTestSummary, str]:
    """The plane's summary with its run-resampling bootstrap, and the note for its figure."""
    boot = tradeoffs.bootstrap_train_test(
        run.board_df,
        tt,
        n_resamples=run.n_resamples,
        seed=run.seed,
        cluster=run.cluster,
        levels_elo=run.train_test_levels,
    )
    table = boot.table()
    ci = {
        k: {"lo": table.loc[k, "lo"], "hi": table.loc[k, "hi"], "se": table.loc[k, "se"]}
        for k in table.index
    }
    note = ""
    if not boot.ci_available:
        note = f"no bootstrap intervals: {boot.n_failed} of {run.n_resamples} refits failed"
    return TrainTestSummary(tt.as_dict(), bootstrap=boot.summary(), bootstrap_ci=ci), note


def _train_test_section(run: _Inputs) -> tuple[TrainTestSummary | Failed, list[str]]:
    """Fit Jones's train/test plane on every agent of the board and draw it."""
    try:
        tt = tradeoffs.fit_train_test(
            run.board_df, convention=run.convention, levels_elo=run.train_test_levels
        )
        section, note = TrainTestSummary(tt.as_dict()), ""
        if run.n_resamples > 0:
            section, note = _train_test_bootstrap(run, tt)
        fig = plot_train_test(tt, run.board_df, note=note)
    except ValueError as err:
        section = Failed(str(err))
        fig = _failed_figure(
            "Jones train/test plane", str(err), run.board_df, convention=run.convention
        )
    return section, _save(fig, run.out, "train_test_plane")


def _warn_mixed_backends(df: pd.DataFrame) -> None:
    """One stderr line if the table's networks were trained on more than one backend (column
    ``train_backend``; nulls, from snapshots that predate it, and tables without it are silent)."""
    if "train_backend" not in df.columns:
        return
    nets = df[df["kind"] == "network"] if "kind" in df.columns else df
    counts = nets["train_backend"].dropna().astype(str).value_counts().sort_index()
    if len(counts) > 1:
        named = ", ".join(f"{backend} {n}" for backend, n in counts.items())
        print(
            "warning: the Elo table's networks were trained on more than one backend "
            f"(agents per backend: {named}); the fits mix them",
            file=sys.stderr,
        )


def write_all(
    elo_table: str | pathlib.Path | pd.DataFrame,
    out_dir: str | pathlib.Path,
    *,
    convention: str = "jones",
    nodes: int = 64,
    board_size: int | None = None,
    n_resamples: int = 50,
    n_levels: int = 10,
    seed: int = 0,
    cluster: str | None = "run",
    extrapolate_nodes: bool = False,
    train_test_levels: Sequence[float] = tradeoffs.JONES_TRAIN_TEST_LEVELS,
    covariances: Mapping[int, pd.DataFrame] | None = None,
) -> dict:
    """Fit everything and write every figure (PNG + PDF), summary.json and summary.md.

    The S-curve analysis runs on `board_size` (default: the largest board) with the frontier
    policy at `nodes` nodes as the main fit (Epoch 2023); the fits are weighted by the Elo
    standard errors. Bootstrap intervals use `n_resamples` refits resampling whole runs
    (`cluster`; None resamples agents) and are withheld when more than 10% of the refits fail.
    Figure 13 compares MCTS only, Chinchilla-style and combined (`tradeoffs.fig13_configs`);
    Jones's train/test plane uses every agent of the board at `train_test_levels`. Spans stay
    inside the measured node range unless `extrapolate_nodes` (then flagged). Every fit
    reports convergence, parameters at bounds, RMS and n; a failed fit is written on its
    figure. Node scaling takes its SEs from the Elo fits' `covariances` (board → agents ×
    agents, `pipeline.infra.tables.read_covariances`) where given, else from the table's SEs.
    Returns the summary dict that is also written as JSON (`Summary.as_dict`).
    """
    df = elo_table if isinstance(elo_table, pd.DataFrame) else pd.read_parquet(elo_table)
    _warn_mixed_backends(df)
    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    board = int(df["board_size"].max()) if board_size is None else board_size
    elo_model = ", ".join(map(str, df["elo_model"].unique())) if "elo_model" in df else "unknown"
    anchor = ", ".join(map(str, df["anchor"].unique())) if "anchor" in df else "anchor"
    run = _Inputs(
        df=df,
        board_df=df[df["board_size"] == board],
        out=out,
        convention=convention,
        nodes=nodes,
        board=board,
        anchor=anchor,
        seed=seed,
        n_resamples=n_resamples,
        n_levels=n_levels,
        cluster=cluster,
        extrapolate_nodes=extrapolate_nodes,
        train_test_levels=train_test_levels,
    )
    jones, files = _jones_section(run)
    perfect_play = _perfect_play_section(run)
    node_scaling = tradeoffs.node_scaling_table(df, covariances=covariances)
    policies, fitted = _fit_policies(run)
    main = _main_fit(policies, fitted)
    spans = _spans(run, main)
    uncapped = _uncapped_section(run, main)
    if spans.boot is not None:
        policies[main.name] = _bootstrapped(policies[main.name], spans, n_resamples)
    files += _epoch_figures(run, main, spans)
    fig13, fig13_files = _fig13_section(run)
    train_test, train_test_files = _train_test_section(run)
    summary = Summary(
        convention=convention,
        board_size=board,
        nodes=nodes,
        files=files + fig13_files + train_test_files,
        elo_model=elo_model,
        anchor=anchor,
        jones_frontier=jones,
        perfect_play=perfect_play,
        node_scaling=node_scaling,
        policies=policies,
        main_policy=main.name,
        main_policy_note=main.fallback_note or None,
        spans_bootstrap=None if spans.boot is None else spans.boot.summary(),
        spans=spans.records,
        scurve_uncapped=uncapped,
        fig13=fig13,
        train_test=train_test,
    )
    return summary.write(out)


@hydra_main
def main(cfg: DictConfig) -> None:
    """Fit everything and draw every figure from `<results_dir>/elo.parquet` (or
    `figures.elo_table`) into `<results_dir>/figures` (or `figures.out_dir`)."""
    job = load(cfg)
    fig = job.figures
    layout = Layout(job.results_dir)
    elo_path = pathlib.Path(fig.elo_table or layout.elo)
    out_dir = pathlib.Path(fig.out_dir or layout.figures)
    if not elo_path.exists():
        print(f"error: no Elo table at {elo_path} (run pipeline.evaluate first)", file=sys.stderr)
        sys.exit(2)
    try:
        summary = write_all(
            elo_path,
            out_dir,
            convention=fig.convention,
            nodes=fig.nodes,
            board_size=fig.board_size,
            n_resamples=fig.n_resamples,
            n_levels=fig.n_levels,
            seed=fig.seed,
            # the covariances belong to the results directory's own Elo table
            covariances=None if fig.elo_table else read_covariances(job.results_dir),
        )
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    print(f"wrote {len(summary['files'])} files to {out_dir}")
