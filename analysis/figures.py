"""Figures of Epoch (2023) and Jones (2021) from an Elo table, and a one-call report writer.

``python -m analysis.figures results_dir=DIR [out_dir=DIR/figures] [convention=jones]
[nodes=64] [board_size=9] [n_resamples=50] [seed=0]`` reads ``DIR/elo.parquet`` (or
``--elo PATH`` / ``elo=PATH``) and writes PNG + PDF of every figure plus summary.json and
summary.md.
"""

from __future__ import annotations

import io
import json
import math
import pathlib
import sys
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")

import hydra  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from omegaconf import DictConfig  # noqa: E402

from analysis import jones_frontier as jf  # noqa: E402
from analysis import scurve, tradeoffs  # noqa: E402
from hex_env.files import atomic_write_bytes  # noqa: E402
from pipeline.config import load, register_configs  # noqa: E402
from pipeline.layout import Layout  # noqa: E402

__all__ = [
    "FIG13_CONFIGS",
    "main",
    "plot_fig3",
    "plot_fig4",
    "plot_fig5",
    "plot_fig13",
    "plot_fig14",
    "plot_jones_frontier",
    "write_all",
]

# Epoch (2023) Fig. 13 configurations -> scaling policy (scurve.select_policy).
FIG13_CONFIGS = {
    "MCTS only": "fixed_arch",
    "Chinchilla-style": "fixed_nodes",
    "combined": "frontier",
}
_CMAP = "viridis"


def _conv(convention: str) -> str:
    return "Jones convention, 1 MAC = 1 FLOP" if convention == "jones" else "2 FLOPs per MAC"


def _tc_label(convention: str) -> str:
    return f"log10 train compute TC [FLOP] ({_conv(convention)})"


def _ic_label(convention: str) -> str:
    return f"log10 inference compute IC [FLOP per move] ({_conv(convention)})"


def plot_fig3(df: pd.DataFrame, fit: scurve.SCurveFit) -> Figure:
    """Epoch (2023) Fig. 3: Elo vs log10 TC and vs log10 IC of the fitted policy's agents.

    Points are coloured by the other compute axis; lines are fitted slices (fixed node count
    in the left panel, fixed TC in the right one).
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
    ax_i.set_title("Elo vs inference compute")
    ax_i.legend(fontsize=7, loc="lower right")
    fig.suptitle(
        f"Epoch Fig. 3 — S-curve fit on the {fit.policy!r} policy (RMS {fit.rms_elo:.0f} Elo)"
    )
    return fig


def plot_fig4(df: pd.DataFrame, fit: scurve.SCurveFit, *, n_grid: int = 241) -> Figure:
    """Epoch (2023) Fig. 4: fitted Elo contours on the (log10 TC, log10 IC) plane with the
    region below one MCTS node masked and the empirical agents overlaid, coloured by Elo."""
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
    mask_note = "< 1 node" if fit.test_axis == "nodes" else "< smallest network"
    ax.text(
        0.98, 0.02, f"grey: infeasible ({mask_note})", transform=ax.transAxes,
        ha="right", va="bottom", fontsize=8,
    )  # fmt: skip
    ax.set_title(f"Epoch Fig. 4 — fitted Elo contours, {fit.policy!r} policy")
    return fig


def plot_fig5(spans: pd.DataFrame) -> Figure:
    """Epoch (2023) Fig. 5: span_train and span_inf (OOM) against the Elo level.

    `spans` has columns level_elo, span_train_oom, span_inf_oom and optionally the bootstrap
    bands span_train_lo/hi, span_inf_lo/hi.
    """
    fig, ax = plt.subplots(figsize=(7, 4.5), constrained_layout=True)
    for key, label, color in (
        ("span_train", "train span (OOM of TC)", "C0"),
        ("span_inf", "inference span (OOM of IC)", "C1"),
    ):
        ax.plot(spans["level_elo"], spans[f"{key}_oom"], "o-", color=color, label=label)
        if f"{key}_lo" in spans.columns:
            ax.fill_between(
                spans["level_elo"], spans[f"{key}_lo"], spans[f"{key}_hi"], color=color, alpha=0.2
            )
    ax.set_xlabel("Elo level P (0 = anchor)")
    ax.set_ylabel("span of efficient exchange [orders of magnitude]")
    ax.set_ylim(bottom=0)
    ax.legend()
    ax.set_title("Epoch Fig. 5 — efficient spans (1/6 ≤ r ≤ 6, cut at 1 node); bands: bootstrap")
    return fig


def plot_fig13(result: tradeoffs.Fig13Spans) -> Figure:
    """Epoch (2023) Fig. 13: one cross per configuration at its mean (span_train, span_inf)
    over the shared Elo levels, arms one standard deviation over levels."""
    fig, ax = plt.subplots(figsize=(6, 5.5), constrained_layout=True)
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
    if {"MCTS only", "Chinchilla-style"} <= set(s.index):
        total = s.loc["MCTS only"] + s.loc["Chinchilla-style"]
        top = max(top, total["span_train_oom_mean"], total["span_inf_oom_mean"])
        ax.plot(
            total["span_train_oom_mean"],
            total["span_inf_oom_mean"],
            "x",
            color="k",
            ms=9,
            label="MCTS only + Chinchilla-style",
        )
    top = max(1.0, float(top))
    ax.plot([0, top * 1.1], [0, top * 1.1], ":", color="0.6", lw=1, label="equal spans")
    ax.set_xlim(0, top * 1.1)
    ax.set_ylim(0, top * 1.1)
    ax.set_xlabel("span_train [OOM of train compute]")
    ax.set_ylabel("span_inf [OOM of inference compute]")
    lv = result.levels_elo
    ax.set_title(f"Epoch Fig. 13 — {len(lv)} Elo levels from {lv.min():.0f} to {lv.max():.0f}")
    ax.legend(fontsize=8)
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
    levels = np.sort(np.asarray(levels_elo, float))
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
    if isinstance(x, float | np.floating):
        return float(x) if math.isfinite(x) else None
    if isinstance(x, np.integer):
        return int(x)
    return x


def _markdown(summary: dict) -> str:
    lines = ["# hexscale analysis summary", ""]
    lines += [f"FLOP convention: {summary['convention']}; board {summary['board_size']}.", ""]
    j = summary.get("jones_frontier")
    if j:
        lines += ["## Jones (2021) frontier fit", "", "| param | value |", "|---|---|"]
        lines += [f"| {k} | {v:.4g} |" for k, v in j["params"].items() if v is not None]
        lines += [f"| RMS (Elo) | {j['rms_elo']:.3g} |", ""]
    for name, pol in summary["policies"].items():
        lines += [f"## S-curve fit, {name} ({pol['policy']})", ""]
        if "error" in pol:
            lines += [f"not fitted: {pol['error']}", ""]
            continue
        lines += [f"{pol['n_agents']} agents, RMS {pol['rms_elo']:.1f} Elo.", ""]
        lines += ["| param | estimate | CI lo | CI hi |", "|---|---|---|---|"]
        for k, row in pol["params"].items():
            lo, hi = row.get("lo"), row.get("hi")
            fmt = lambda v: "–" if v is None else f"{v:.4g}"
            lines.append(f"| {k} | {fmt(row['estimate'])} | {fmt(lo)} | {fmt(hi)} |")
        lines.append("")
    lines += ["## Efficient spans (combined policy; Epoch Fig. 5)", ""]
    lines += [
        "| Elo level | span_train (OOM) | CI | span_inf (OOM) | CI |",
        "|---|---|---|---|---|",
    ]

    def ci(row: dict, key: str) -> str:
        if row.get(f"{key}_lo") is None:
            return "–"
        return f"{row[f'{key}_lo']:.2f}–{row[f'{key}_hi']:.2f}"

    for row in summary["spans"]:
        lines.append(
            f"| {row['level_elo']:.0f} | {row['span_train_oom']:.2f} | {ci(row, 'span_train')} | "
            f"{row['span_inf_oom']:.2f} | {ci(row, 'span_inf')} |"
        )
    lines.append("")
    if summary.get("fig13"):
        lines += ["## Figure 13: mean ± sd of spans over levels", ""]
        lines += ["| configuration | span_train | span_inf |", "|---|---|---|"]
        for name, row in summary["fig13"]["summary"].items():
            lines.append(
                f"| {name} | {row['span_train_oom_mean']:.2f} ± {row['span_train_oom_std']:.2f} | "
                f"{row['span_inf_oom_mean']:.2f} ± {row['span_inf_oom_std']:.2f} |"
            )
        lines.append("")
    return "\n".join(lines)


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
) -> dict:
    """Fit everything and write every figure (PNG + PDF), summary.json and summary.md.

    The S-curve analysis runs on `board_size` (default: the largest board) with the frontier
    policy at `nodes` nodes as the main fit (Epoch 2023); bootstrap intervals over agents use
    `n_resamples` refits. Returns the summary dict that is also written as JSON.
    """
    df = elo_table if isinstance(elo_table, pd.DataFrame) else pd.read_parquet(elo_table)
    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    board = int(df["board_size"].max()) if board_size is None else board_size
    summary: dict = {"convention": convention, "board_size": board, "nodes": nodes, "files": []}

    frontier = jf.frontier_from_runs(df, convention=convention, test_nodes=nodes)
    try:
        jfit = jf.fit_jones_frontier(frontier, seed=seed)
        summary["jones_frontier"] = {
            "params": jfit.params(),
            "rms_elo": jfit.rms_elo,
            "board_sizes": list(jfit.board_sizes),
            "note": "m_b and p_b fixed at 0 (one board)" if len(jfit.board_sizes) < 2 else "",
        }
        runs = df[df["test_nodes"] == nodes]
        anchor = ", ".join(map(str, df["anchor"].unique())) if "anchor" in df else "anchor"
        fig = plot_jones_frontier(frontier, jfit, convention=convention, runs=runs, anchor=anchor)
        summary["files"] += _save(fig, out, "jones_frontier")
    except ValueError as err:
        summary["jones_frontier"] = {"error": str(err)}

    fits: dict[str, scurve.SCurveFit] = {}
    summary["policies"] = {}
    for name, policy in FIG13_CONFIGS.items():
        try:
            agents = scurve.select_policy(
                df, policy, nodes, board_size=board, convention=convention
            )
            fits[name] = scurve.fit_scurve(
                agents,
                convention=convention,
                test_axis="flops" if policy == "fixed_nodes" else "nodes",
                policy=policy,
                seed=seed,
            )
            summary["policies"][name] = {
                "policy": policy,
                "n_agents": len(agents),
                "rms_elo": fits[name].rms_elo,
                "test_axis": fits[name].test_axis,
                "log10_fwd_flops_intercept": fits[name].log10_fwd_flops_intercept,
                "log10_fwd_flops_slope": fits[name].log10_fwd_flops_slope,
                "params": {k: {"estimate": v} for k, v in fits[name].params.as_dict().items()},
            }
        except ValueError as err:
            summary["policies"][name] = {"policy": policy, "error": str(err)}
    if "combined" not in fits:
        raise ValueError(f"the frontier policy could not be fitted: {summary['policies']}")
    main_fit = fits["combined"]
    main_agents = scurve.select_policy(
        df, "frontier", nodes, board_size=board, convention=convention
    )

    best = tradeoffs.pareto_best(tradeoffs.model_grid(main_fit))
    lo, hi = tradeoffs.reachable_elo_range(best)
    levels = np.round(np.linspace(lo + 0.05 * (hi - lo), hi - 0.02 * (hi - lo), n_levels))
    spans = tradeoffs.span_table(main_fit, levels)
    if n_resamples > 0:
        boot = tradeoffs.bootstrap_spans(
            main_agents, main_fit, levels, n_resamples=n_resamples, seed=seed, with_params=True
        ).table()
        for key in ("span_train", "span_inf"):
            rows = [f"{key}_oom@{p:.0f}" for p in levels]
            spans[f"{key}_lo"] = boot.loc[rows, "lo"].to_numpy()
            spans[f"{key}_hi"] = boot.loc[rows, "hi"].to_numpy()
        for k, row in summary["policies"]["combined"]["params"].items():
            row["lo"], row["hi"] = boot.loc[k, "lo"], boot.loc[k, "hi"]
        summary["policies"]["combined"]["bootstrap_resamples"] = n_resamples
    summary["spans"] = spans.to_dict(orient="records")

    summary["files"] += _save(plot_fig3(main_agents, main_fit), out, "fig3_elo_vs_compute")
    summary["files"] += _save(plot_fig4(main_agents, main_fit), out, "fig4_contours")
    summary["files"] += _save(plot_fig5(spans), out, "fig5_spans")
    fig14_levels = levels[[1, len(levels) // 2, -2]] if len(levels) >= 3 else levels
    summary["files"] += _save(
        plot_fig14(main_fit, fig14_levels, agents=main_agents), out, "fig14_pareto_vs_contour"
    )
    try:
        f13 = tradeoffs.fig13_spans(fits, n_levels=n_levels)
        summary["fig13"] = {
            "levels_elo": list(f13.levels_elo),
            "summary": f13.summary.to_dict(orient="index"),
        }
        summary["files"] += _save(plot_fig13(f13), out, "fig13_span_crosses")
    except ValueError as err:
        summary["fig13"] = {"error": str(err)}

    summary = _finite(summary)
    atomic_write_bytes(out / "summary.json", json.dumps(summary, indent=2).encode())
    atomic_write_bytes(out / "summary.md", _markdown(summary).encode())
    return summary


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
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
        )
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    print(f"wrote {len(summary['files'])} files to {out_dir}")


register_configs()

if __name__ == "__main__":
    main()
