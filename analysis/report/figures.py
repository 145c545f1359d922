"""Figures of Epoch (2023) and Jones (2021) from an Elo table, and a one-call report writer.

``python -m analysis.report results_dir=DIR [figures.out_dir=DIR/figures]
[figures.convention=jones] [figures.nodes=64] [figures.board_size=9] [figures.n_resamples=50]``
reads ``DIR/elo.parquet`` (or ``figures.elo_table``) and writes PNG + PDF of every figure plus
summary.json and summary.md.
"""

from __future__ import annotations

import io
import json
import math
import pathlib
import sys
import textwrap
from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from omegaconf import DictConfig  # noqa: E402

from analysis import tradeoffs  # noqa: E402
from analysis.fits import jones_frontier as jf  # noqa: E402
from analysis.fits import scurve
from pipeline.evaluate.elo_table import read_covariances  # noqa: E402
from pipeline.infra.config import hydra_main, load, register_configs  # noqa: E402
from pipeline.infra.files import atomic_write_bytes  # noqa: E402
from pipeline.infra.layout import Layout  # noqa: E402

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


def _finite(x):
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_finite(v) for v in x]
    if isinstance(x, bool | np.bool_):
        return bool(x)
    if isinstance(x, float | np.floating):
        return float(x) if math.isfinite(x) else None
    if isinstance(x, np.integer):
        return int(x)
    return x


def _fmt(v, spec: str = ".4g") -> str:
    return "–" if v is None else format(v, spec)


def _fit_row(name: str, d: dict) -> str:
    status = d.get("status") or {}
    if "error" in d:
        return f"| {name} | FAILED: {d['error']} | | | | |"
    bounds = ", ".join(status.get("at_bounds", [])) or "none"
    conv = "yes" if status.get("converged") else f"**NO** ({status.get('message', '')})"
    rms = status.get("rms")
    unit = status.get("rms_unit", "Elo")
    return (
        f"| {name} | {conv} | {bounds} | {_fmt(rms, '.3g')} {unit} | {status.get('n', '–')} | "
        f"{'SE-weighted' if status.get('weighted') else 'unweighted'} |"
    )


def _boot_line(b: dict | None) -> str:
    if not b:
        return "no bootstrap."
    if b.get("ci"):
        cis = "intervals given"
    elif b.get("cluster") and b.get("n_clusters", 0) < b.get("min_clusters", 0):
        cis = "**no intervals** (too few runs to resample)"
    else:
        cis = "**no intervals** (more than 10% of the refits failed)"
    unit = f"runs ({b.get('n_clusters')})" if b.get("cluster") else f"rows ({b.get('n_clusters')})"
    return (
        f"bootstrap: {b['n_resamples']} resamples of {unit}, {b['n_failed']} failed "
        f"({_fmt(b.get('failed_fraction'), '.0%')}); {cis}."
    )


def _markdown(summary: dict) -> str:
    lines = ["# hexscale analysis summary", ""]
    lines += [
        f"FLOP convention: {summary['convention']}; board {summary['board_size']}; reference "
        f"nodes {summary.get('nodes', '–')}; Elo model: {summary.get('elo_model', 'unknown')}; "
        f"anchor: {summary.get('anchor', 'unknown')}.",
        "",
    ]
    if summary.get("main_policy_note"):
        lines += [f"**Main fit: {summary['main_policy_note']}.**", ""]
    fits = {}
    j = summary.get("jones_frontier")
    if j:
        fits["Jones frontier"] = j
    for name, pol in summary.get("policies", {}).items():
        fits[f"S-curve, {name} ({pol.get('policy')})"] = pol
    f13 = summary.get("fig13") or {}
    for key, st in (f13.get("arch_fits") or {}).items():
        fits[f"S-curve, architecture {key} (combined)"] = {"status": st}
    tt = summary.get("train_test")
    if tt:
        fits["train/test plane (OLS)"] = tt
    lines += ["## Fits", "", "| fit | converged | at bounds | RMS | n | weighting |"]
    lines += ["|---|---|---|---|---|---|"]
    lines += [_fit_row(name, d) for name, d in fits.items()]
    lines.append("")
    if j and "params" in j:
        lines += ["## Jones (2021) frontier fit", "", "| param | value |", "|---|---|"]
        lines += [f"| {k} | {v:.4g} |" for k, v in j["params"].items() if v is not None]
        lines += [f"| RMS (Elo) | {j['rms_elo']:.3g} |", ""]
        lines += [
            "Each board alone (Elo = min(0, max(m·log10 C + c, plateau)); C within 50 Elo of "
            "perfect: fitted incline, and first frontier point seen there):",
            "",
            "| board | m (Elo/decade) | plateau | log10 C, fit | log10 C, seen | best Elo "
            "| RMS | converged |",
            "|---|---|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {r['boardsize']} | {r['m']:.0f} | {r['plateau']:.0f} "
            f"| {r['log10_flops_within_fit']:.2f} | {_fmt(r['log10_flops_within_seen'], '.2f')} "
            f"| {r['best_elo']:.0f} | {r['rms_elo']:.0f} | {r['converged']} |"
            for r in j.get("per_board", [])
        ]
        lines.append("")
    if summary.get("node_scaling"):
        lines += [
            "## Node scaling at fixed snapshots (Jones 9×9: ≈ 250 Elo per decade)",
            "",
            "| board | run | snapshot | train FLOPs | Elo/decade (1–64) | Elo at 1 … max nodes "
            "| every doubling rises (1 SE of the step) |",
            "|---|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {r['board']} | {r['run']} | {r['snapshot']} | {r['train_flops_jones']:.2g} "
            f"| {r['elo_per_decade_1_64']:.0f} ± {r['elo_per_decade_se']:.0f} "
            f"| {', '.join(f'{e:.0f}' for e in r['elo'])} (nodes {r['nodes'][0]}…{r['nodes'][-1]}) "
            f"| {'yes' if r['rises_every_doubling_within_1se'] else 'no'} "
            f"({'fit covariance' if r['step_se_basis'] == 'covariance' else 'SEs vs anchor'}) |"
            for r in summary["node_scaling"]
        ]
        lines.append("")
    for name, pol in summary.get("policies", {}).items():
        lines += [f"## S-curve fit, {name} ({pol['policy']})", ""]
        if "error" in pol:
            lines += [f"not fitted: {pol['error']}", ""]
            continue
        ceiling = pol.get("elo_ceiling")
        cap = "" if ceiling is None else f" E ≤ {ceiling:g} (no agent beats perfect play)."
        lines += [f"{pol['n_agents']} agents, RMS {pol['rms_elo']:.1f} Elo.{cap}", ""]
        if pol.get("bootstrap"):
            lines += [_boot_line(pol["bootstrap"]), ""]
        lines += ["| param | estimate | CI lo | CI hi |", "|---|---|---|---|"]
        for k, row in pol["params"].items():
            lines.append(
                f"| {k} | {_fmt(row['estimate'])} | {_fmt(row.get('lo'))} | {_fmt(row.get('hi'))} |"
            )
        lines.append("")
    lines += ["## Efficient spans (frontier policy; Epoch Fig. 5)", ""]
    if summary.get("spans_bootstrap"):
        lines += [_boot_line(summary["spans_bootstrap"]), ""]
    lines += [
        "| Elo level | span_train (OOM) | CI | span_inf (OOM) | CI | cut by |",
        "|---|---|---|---|---|---|",
    ]

    def ci(row: dict, key: str) -> str:
        if row.get(f"{key}_lo") is None:
            return "–"
        return f"{row[f'{key}_lo']:.2f}–{row[f'{key}_hi']:.2f}"

    for row in summary.get("spans", []):
        flag = row.get("edges") or "–"
        if row.get("extrapolated"):
            flag += " (extrapolated nodes)"
        lines.append(
            f"| {row['level_elo']:.0f} | {row['span_train_oom']:.2f} | {ci(row, 'span_train')} | "
            f"{row['span_inf_oom']:.2f} | {ci(row, 'span_inf')} | {flag} |"
        )
    lines.append("")
    if f13.get("summary"):
        lines += ["## Figure 13: mean ± sd of spans over levels", ""]
        lines += ["| configuration | agents | span_train | span_inf | spans cut by an edge |"]
        lines += ["|---|---|---|---|---|"]
        cut = f13.get("n_cut", {})
        for name, row in f13["summary"].items():
            train = f"{_fmt(row['span_train_oom_mean'], '.2f')} ± "
            train += _fmt(row["span_train_oom_std"], ".2f")
            inf = (
                f"{_fmt(row['span_inf_oom_mean'], '.2f')} ± {_fmt(row['span_inf_oom_std'], '.2f')}"
            )
            lines.append(
                f"| {name} | {f13.get('n_agents', {}).get(name, '–')} | {train} | {inf} | "
                f"{cut.get(name, 0)} of {len(f13['levels_elo'])} |"
            )
        total = f13.get("sum_of_singles")
        if total:
            lines.append(
                f"| sum MCTS only + Chinchilla-style | | {_fmt(total['span_train_oom'], '.2f')} | "
                f"{_fmt(total['span_inf_oom'], '.2f')} | |"
            )
        lines.append("")
        if f13.get("skipped_archs"):
            lines += [
                f"Architectures without a fit (absent from combined, {f13['n_agents_uncovered']} "
                f"agents): {f13['skipped_archs']}",
                "",
            ]
    elif f13.get("error"):
        lines += ["## Figure 13", "", f"not drawn: {f13['error']}", ""]
    if tt:
        lines += ["## Jones (2021) train/test plane", ""]
        if "error" in tt:
            lines += [f"not fitted: {tt['error']}", ""]
        else:
            lines += [
                f"log10 test = c + s·log10 train + k·Elo on {tt['n']} frontier points, levels "
                f"{', '.join(f'{v:.0f}' for v in tt['levels_elo'])}; 10× train ≈ "
                f"{tt['test_reduction_per_10x_train']:.1f}× less test compute (Jones 9×9: ≈ 15×).",
                "",
                "| coefficient | estimate | OLS CI | bootstrap CI |",
                "|---|---|---|---|",
            ]
            boot = tt.get("bootstrap_ci", {})
            names = {"log10_train": "slope", "elo": "elo_coef", "intercept": "intercept"}
            for k, row in tt["coefficients"].items():
                b = boot.get(names[k], {})
                bci = "–" if b.get("lo") is None else f"{b['lo']:.4g}–{b['hi']:.4g}"
                lines.append(
                    f"| {k} | {row['estimate']:.4g} | {row['lo']:.4g}–{row['hi']:.4g} | {bci} |"
                )
            lines.append("")
            if tt.get("bootstrap"):
                lines += [_boot_line(tt["bootstrap"]), ""]
    return "\n".join(lines)


def _fit_summary(fit: scurve.SCurveFit, agents: pd.DataFrame, policy: str) -> dict:
    return {
        "policy": policy,
        "n_agents": len(agents),
        "n_runs": int(agents["run"].nunique()) if "run" in agents else None,
        "rms_elo": fit.rms_elo,
        "test_axis": fit.test_axis,
        "elo_ceiling": fit.elo_ceiling,
        "converged": fit.status.converged,
        "status": fit.status.as_dict(),
        "log10_fwd_flops_intercept": fit.log10_fwd_flops_intercept,
        "log10_fwd_flops_slope": fit.log10_fwd_flops_slope,
        "log10_train_range": list(fit.log10_train_range),
        "log10_test_range": list(fit.log10_test_range),
        "params": {k: {"estimate": v} for k, v in fit.params.as_dict().items()},
    }


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
    agents, `pipeline.evaluate.elo_table.read_covariances`) where given, else from the table's SEs.
    Returns the summary dict that is also written as JSON.
    """
    df = elo_table if isinstance(elo_table, pd.DataFrame) else pd.read_parquet(elo_table)
    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    board = int(df["board_size"].max()) if board_size is None else board_size
    summary: dict = {"convention": convention, "board_size": board, "nodes": nodes, "files": []}
    summary["elo_model"] = (
        ", ".join(map(str, df["elo_model"].unique())) if "elo_model" in df else "unknown"
    )
    anchor = ", ".join(map(str, df["anchor"].unique())) if "anchor" in df else "anchor"
    summary["anchor"] = anchor
    board_df = df[df["board_size"] == board]

    frontier = jf.frontier_from_runs(df, convention=convention, test_nodes=nodes)
    runs = df[df["test_nodes"] == nodes]
    try:
        jfit = jf.fit_jones_frontier(frontier, seed=seed)
        summary["jones_frontier"] = {
            "params": jfit.params(),
            "rms_elo": jfit.rms_elo,
            "board_sizes": list(jfit.board_sizes),
            "converged": jfit.status.converged,
            "status": jfit.status.as_dict(),
            "note": "m_b and p_b fixed at 0 (one board)" if len(jfit.board_sizes) < 2 else "",
            "per_board": jf.per_board_fits(frontier).to_dict(orient="records"),
        }
        fig = plot_jones_frontier(frontier, jfit, convention=convention, runs=runs, anchor=anchor)
    except ValueError as err:
        summary["jones_frontier"] = {"error": str(err)}
        fig = _failed_figure("Jones frontier", str(err), runs, convention=convention)
    summary["files"] += _save(fig, out, "jones_frontier")

    summary["node_scaling"] = tradeoffs.node_scaling_table(df, covariances=covariances)

    fits: dict[str, scurve.SCurveFit] = {}
    agents_of: dict[str, pd.DataFrame] = {}
    summary["policies"] = {}
    for name, policy in POLICIES.items():
        try:
            agents_of[name] = scurve.select_policy(
                df, policy, nodes, board_size=board, convention=convention
            )
            fits[name] = scurve.fit_scurve(
                agents_of[name],
                convention=convention,
                test_axis="flops" if policy == "fixed_nodes" else "nodes",
                policy=policy,
                seed=seed,
            )
            summary["policies"][name] = _fit_summary(fits[name], agents_of[name], policy)
        except ValueError as err:
            summary["policies"][name] = {"policy": policy, "error": str(err)}
    main_policy = next((name for name in POLICIES if name in fits), None)
    if main_policy is None:
        raise ValueError(f"no scaling policy could be fitted: {summary['policies']}")
    summary["main_policy"] = main_policy
    fallback_note = ""
    if main_policy != "frontier":  # too few agents on the frontier: say so on every figure
        fallback_note = (
            f"frontier policy not fitted ({summary['policies']['frontier']['error']}); "
            f"Figs. 3-5, 14 show the {main_policy} fit"
        )
        summary["main_policy_note"] = fallback_note
    main_fit = fits[main_policy]
    main_agents = agents_of[main_policy]
    grid_kw = {"extrapolate_nodes": extrapolate_nodes}

    best = tradeoffs.pareto_best(tradeoffs.model_grid(main_fit, **grid_kw))
    lo, hi = tradeoffs.reachable_elo_range(best)
    levels = np.round(np.linspace(lo + 0.05 * (hi - lo), hi - 0.02 * (hi - lo), n_levels))
    spans = tradeoffs.span_table(main_fit, levels, **grid_kw)
    spans_note = ""
    if n_resamples > 0:
        boot = tradeoffs.bootstrap_spans(
            main_agents,
            main_fit,
            levels,
            n_resamples=n_resamples,
            seed=seed,
            with_params=True,
            cluster=cluster,
            **grid_kw,
        )
        table = boot.table()
        for key in ("span_train", "span_inf"):
            rows = [f"{key}_oom@{p:.0f}" for p in levels]
            spans[f"{key}_lo"] = table.loc[rows, "lo"].to_numpy()
            spans[f"{key}_hi"] = table.loc[rows, "hi"].to_numpy()
        for k, row in summary["policies"][main_policy]["params"].items():
            row["lo"], row["hi"] = table.loc[k, "lo"], table.loc[k, "hi"]
        summary["policies"][main_policy]["bootstrap"] = boot.summary()
        summary["policies"][main_policy]["bootstrap_resamples"] = n_resamples
        summary["spans_bootstrap"] = boot.summary()
        if not boot.ci_available:
            spans_note = (
                f"no bootstrap bands: {boot.n_failed} of {boot.n_resamples} refits failed, "
                f"{boot.n_clusters} {'runs' if boot.cluster else 'agents'} resampled"
            )
    summary["spans"] = spans.to_dict(orient="records")
    main_note = "; ".join(n for n in (fallback_note, _status_note(main_fit.status)) if n)

    for name, title, draw in (
        ("fig3_elo_vs_compute", "Epoch Fig. 3", lambda: plot_fig3(main_agents, main_fit)),
        ("fig4_contours", "Epoch Fig. 4", lambda: plot_fig4(main_agents, main_fit)),
        (
            "fig5_spans",
            "Epoch Fig. 5",
            lambda: plot_fig5(spans, note="; ".join(n for n in (main_note, spans_note) if n)),
        ),
    ):
        summary["files"] += _save(
            _with_note(_draw(draw, title, main_agents, convention), fallback_note), out, name
        )
    fig14_levels = levels[[1, len(levels) // 2, -2]] if len(levels) >= 3 else levels
    summary["files"] += _save(
        _with_note(
            _draw(
                lambda: plot_fig14(main_fit, fig14_levels, agents=main_agents),
                "Epoch Fig. 14",
                main_agents,
                convention,
            ),
            fallback_note,
        ),
        out,
        "fig14_pareto_vs_contour",
    )

    try:
        configs = tradeoffs.fig13_configs(
            df,
            nodes,
            board_size=board,
            convention=convention,
            seed=seed,
            extrapolate_nodes=extrapolate_nodes,
        )
        f13 = tradeoffs.fig13_spans(configs, n_levels=n_levels)
        per_level = f13.per_level
        cut = per_level["edges"].astype(str).str.len() > 0
        notes = {k: _status_note(f.status) for k, f in configs.fits.items()}
        bad_archs = [k for k, f in configs.arch_fits.items() if not f.status.converged]
        if bad_archs:
            notes["combined"] = f"did not converge: {', '.join(bad_archs)}"
        summary["fig13"] = {
            "levels_elo": list(f13.levels_elo),
            "summary": f13.summary.to_dict(orient="index"),
            "sum_of_singles": f13.sum_of_singles,
            "per_level": per_level.to_dict(orient="records"),
            "n_cut": {k: int(v) for k, v in cut.groupby(per_level["config"]).sum().items()},
            "n_agents": configs.n_agents,
            "n_agents_uncovered": configs.n_agents_uncovered,
            "reference_arch": configs.reference_arch,
            "configs": {
                "MCTS only": f"architecture {configs.reference_arch}; train length and nodes vary",
                "Chinchilla-style": f"{nodes} nodes; architecture and train length vary",
                "combined": "all free: Pareto over every agent (one fit per architecture, "
                "plus the Chinchilla-style fit)",
            },
            "fits": {k: f.status.as_dict() for k, f in configs.fits.items()},
            "arch_fits": {k: f.status.as_dict() for k, f in configs.arch_fits.items()},
            "skipped_archs": configs.skipped_archs,
        }
        fig = plot_fig13(f13, notes=notes)
    except ValueError as err:
        summary["fig13"] = {"error": str(err)}
        fig = _failed_figure("Epoch Fig. 13", str(err), board_df, convention=convention)
    summary["files"] += _save(fig, out, "fig13_span_crosses")

    try:
        tt = tradeoffs.fit_train_test(board_df, convention=convention, levels_elo=train_test_levels)
        summary["train_test"] = tt.as_dict()
        note = ""
        if n_resamples > 0:
            tt_boot = tradeoffs.bootstrap_train_test(
                board_df,
                tt,
                n_resamples=n_resamples,
                seed=seed,
                cluster=cluster,
                levels_elo=train_test_levels,
            )
            table = tt_boot.table()
            summary["train_test"]["bootstrap"] = tt_boot.summary()
            summary["train_test"]["bootstrap_ci"] = {
                k: {"lo": table.loc[k, "lo"], "hi": table.loc[k, "hi"], "se": table.loc[k, "se"]}
                for k in table.index
            }
            if not tt_boot.ci_available:
                note = f"no bootstrap intervals: {tt_boot.n_failed} of {n_resamples} refits failed"
        fig = plot_train_test(tt, board_df, note=note)
    except ValueError as err:
        summary["train_test"] = {"error": str(err)}
        fig = _failed_figure("Jones train/test plane", str(err), board_df, convention=convention)
    summary["files"] += _save(fig, out, "train_test_plane")

    summary = _finite(summary)
    atomic_write_bytes(out / "summary.json", json.dumps(summary, indent=2).encode())
    atomic_write_bytes(out / "summary.md", _markdown(summary).encode())
    return summary


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


register_configs()
