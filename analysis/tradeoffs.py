"""Train/inference compute tradeoffs: Pareto frontiers, marginal rates and efficient spans.

Epoch (2023), "Trading off compute in training and inference", §3 and Figures 5, 13, 14:

- Pareto frontier of level P in the (log10 TC, log10 IC) plane: the boundary of
  {(TC, IC): the best Elo with TC' ≤ TC and IC' ≤ IC is ≥ P} (cumulative max over the
  lower-left quadrant), computed on a grid from a fitted model or from empirical agents.
- Marginal rate r = |d log10 IC / d log10 TC| along the frontier.
- Span of efficient exchange: the part of the frontier with 1/6 ≤ r ≤ 6, cut at one MCTS node;
  span_train and span_inf are its widths in orders of magnitude (OOM).

Model grids stay inside the measured node range (cells above the largest measured node count
are infeasible unless `extrapolate_nodes`, and then flagged), and every span records which
edges cut it (`Span.edges`): the grid's smallest or largest train compute, or the largest
measured node count — a span cut by an edge would be longer with more data.

Figure 13 compares three configurations (Epoch 2023): "MCTS only" (one architecture, train
length and nodes vary), "Chinchilla-style" (nodes fixed at the reference count, architecture and
train length vary) and "combined" (all three free: the Pareto frontier over every agent, each
architecture described by its own S-curve fit, plus the fixed-nodes fit; `combined_grid`).

Jones's (2021) train/test plane (`fit_train_test`): per Elo level, the minimum test compute
reaching it as train compute grows, and an OLS plane log10 test ~ log10 train + Elo.

Node scaling at a fixed snapshot (`node_scaling`): Elo per decade of MCTS nodes (Jones: ≈ 250 on
9×9) and whether every doubling of nodes pays.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from analysis.fits.bootstrap import BootstrapResult, FitStatus, bootstrap
from analysis.fits.scurve import (
    SCurveFit,
    cluster_column,
    elo_on_plane,
    fit_scurve,
    refit,
    select_policy,
)
from pipeline.evaluate.ratings import difference_variance

__all__ = [
    "FIG13_CONFIGS",
    "JONES_TRAIN_TEST_LEVELS",
    "TrainTestFit",
    "bootstrap_train_test",
    "fit_train_test",
    "train_test_frontier",
    "Fig13Configs",
    "Fig13Spans",
    "PlaneGrid",
    "Span",
    "bootstrap_spans",
    "combined_grid",
    "common_grid_ranges",
    "common_levels",
    "efficient_span",
    "empirical_grid",
    "fit_on_grid",
    "fig13_configs",
    "fig13_spans",
    "fit_architectures",
    "marginal_rate",
    "model_grid",
    "pareto_best",
    "pareto_frontier",
    "reachable_elo_range",
    "span_table",
]

FIG13_CONFIGS = ("MCTS only", "Chinchilla-style", "combined")

R_MIN, R_MAX = 1.0 / 6.0, 6.0


@dataclass(frozen=True)
class PlaneGrid:
    """Elo on a regular grid of the (log10 TC, log10 IC) plane; NaN where infeasible/empty."""

    log10_train_flops: np.ndarray  # [T]
    log10_inference_flops: np.ndarray  # [I] per move
    elo: np.ndarray  # [T, I]
    log10_inf_measured_max: np.ndarray | None = None  # [T] largest measured IC (max nodes)
    extrapolated_nodes: bool = False  # cells above log10_inf_measured_max were kept


@dataclass(frozen=True)
class Span:
    """Efficient span of one Elo level's Pareto frontier (Epoch 2023)."""

    level_elo: float
    span_train_oom: float  # width of the efficient part in log10 TC
    span_inf_oom: float  # width of the efficient part in log10 IC
    log10_train_start: float  # efficient part's extent (NaN when empty)
    log10_train_end: float
    log10_inf_start: float  # log10 IC at log10_train_start (the larger end)
    log10_inf_end: float
    edges: str = ""  # edges cutting the efficient part: train_min, train_max, nodes_max
    extrapolated: bool = False  # the efficient part uses node counts beyond those measured


@dataclass(frozen=True)
class Fig13Spans:
    """Efficient spans per configuration over a shared grid of Elo levels (Epoch 2023, Fig. 13)."""

    levels_elo: np.ndarray  # [L]
    per_level: pd.DataFrame  # config, level_elo, span_train_oom, span_inf_oom, edges, ...
    summary: pd.DataFrame  # index config: mean/sd of span_train_oom and span_inf_oom
    sum_of_singles: dict | None = None  # "MCTS only" + "Chinchilla-style" means, if both


def _measured_max_ic(fit: SCurveFit, log10_train_flops: np.ndarray) -> np.ndarray:
    """Largest measured log10 IC at each TC: the largest node count (or network, Chinchilla
    form) among the fitted agents."""
    t = np.asarray(log10_train_flops, float)
    if fit.test_axis == "nodes":
        fwd = fit.log10_fwd_flops_intercept + fit.log10_fwd_flops_slope * t
        return fwd + fit.log10_test_range[1]
    return np.full(t.shape, fit.log10_test_range[1])


def model_grid(
    fit: SCurveFit,
    *,
    n_train: int = 301,
    n_inf: int = 301,
    log10_train_range: tuple[float, float] | None = None,
    log10_inf_range: tuple[float, float] | None = None,
    extrapolate_nodes: bool = False,
) -> PlaneGrid:
    """The fitted model's Elo on a grid spanning the fitted agents' compute (default).

    IC covers one node at the smallest TC up to the largest measured node count at the largest
    TC. Cells below one node (or the smallest network, Chinchilla form) are NaN, and so are
    cells above the largest measured node count (largest network) unless `extrapolate_nodes`,
    which keeps them and lets `efficient_span` flag spans that use them.
    """
    t_lo, t_hi = fit.log10_train_range if log10_train_range is None else log10_train_range
    if log10_inf_range is None:
        if fit.test_axis == "nodes":
            fwd = [
                fit.log10_fwd_flops_intercept + fit.log10_fwd_flops_slope * t for t in (t_lo, t_hi)
            ]
            i_lo = min(fwd) + fit.log10_test_min
            i_hi = max(fwd) + fit.log10_test_range[1]
        else:
            i_lo, i_hi = fit.log10_test_range
    else:
        i_lo, i_hi = log10_inf_range
    t = np.linspace(t_lo, t_hi, n_train)
    i = np.linspace(i_lo, i_hi, n_inf)
    elo = elo_on_plane(fit, t[:, None], i[None, :])
    top = _measured_max_ic(fit, t)
    if not extrapolate_nodes:
        elo = np.where(i[None, :] <= top[:, None] + 1e-9, elo, np.nan)
    return PlaneGrid(t, i, elo, log10_inf_measured_max=top, extrapolated_nodes=extrapolate_nodes)


def empirical_grid(
    agents: pd.DataFrame,
    log10_train_flops: np.ndarray,
    log10_inference_flops: np.ndarray,
    *,
    convention: str = "jones",
) -> PlaneGrid:
    """Empirical agents binned onto a grid: each cell holds the best Elo of agents whose
    (log10 TC, log10 IC) round up to it; empty cells NaN. Agents beyond the grid are dropped."""
    t_grid = np.asarray(log10_train_flops, float)
    i_grid = np.asarray(log10_inference_flops, float)
    t = np.log10(agents[f"train_flops_{convention}"].to_numpy(float))
    i = np.log10(agents[f"test_flops_{convention}"].to_numpy(float))
    ti = np.searchsorted(t_grid, t - 1e-9)
    ii = np.searchsorted(i_grid, i - 1e-9)
    ok = (ti < t_grid.size) & (ii < i_grid.size)
    elo = np.full((t_grid.size, i_grid.size), -np.inf)
    np.maximum.at(elo, (ti[ok], ii[ok]), agents["elo"].to_numpy(float)[ok])
    return PlaneGrid(t_grid, i_grid, np.where(np.isfinite(elo), elo, np.nan))


def pareto_best(grid: PlaneGrid) -> PlaneGrid:
    """Best Elo with TC' ≤ TC and IC' ≤ IC: cumulative max over the lower-left quadrant."""
    elo = np.where(np.isnan(grid.elo), -np.inf, grid.elo)
    best = np.maximum.accumulate(np.maximum.accumulate(elo, axis=0), axis=1)
    top = grid.log10_inf_measured_max
    if top is not None:
        # What is available at TC is available at every larger TC.
        top = np.fmax.accumulate(np.asarray(top, float))
    return PlaneGrid(
        grid.log10_train_flops,
        grid.log10_inference_flops,
        np.where(np.isfinite(best), best, np.nan),
        log10_inf_measured_max=top,
        extrapolated_nodes=grid.extrapolated_nodes,
    )


def pareto_frontier(best: PlaneGrid, level_elo: float) -> np.ndarray:
    """Smallest log10 IC reaching `level_elo` at each grid TC, from a `pareto_best` grid.

    Linear interpolation along IC between the grid cells bracketing the level; NaN where the
    level is not reached. Returns [T], non-increasing where defined.
    """
    i = best.log10_inference_flops
    elo = np.where(np.isnan(best.elo), -np.inf, best.elo)
    out = np.full(elo.shape[0], np.nan)
    for k, column in enumerate(elo):
        hit = np.flatnonzero(column >= level_elo)
        if hit.size == 0:
            continue
        j = hit[0]
        if j > 0 and np.isfinite(column[j - 1]):
            frac = (level_elo - column[j - 1]) / (column[j] - column[j - 1])
            out[k] = i[j - 1] + frac * (i[j] - i[j - 1])
        else:
            out[k] = i[j]
    # Interpolation within a column can break monotonicity by rounding; the frontier cannot.
    valid = ~np.isnan(out)
    out[valid] = np.minimum.accumulate(out[valid])
    return out


def marginal_rate(log10_train_flops: np.ndarray, log10_inf_frontier: np.ndarray) -> np.ndarray:
    """r = |Δ log10 IC / Δ log10 TC| on each grid interval of a frontier; [T − 1], NaN where
    either end is undefined."""
    dt = np.diff(np.asarray(log10_train_flops, float))
    di = np.diff(np.asarray(log10_inf_frontier, float))
    return np.abs(di / dt)


def efficient_span(
    best: PlaneGrid,
    level_elo: float,
    *,
    r_min: float = R_MIN,
    r_max: float = R_MAX,
) -> Span:
    """Span of efficient exchange at one level (Epoch 2023): total widths, in OOM of TC and of
    IC, of the frontier intervals whose marginal rate lies in [r_min, r_max].

    The cut at one node is the grid's feasibility mask: past it the frontier is flat (r = 0).
    `Span.edges` names the edges the efficient part runs into: "train_min" / "train_max" (first
    or last grid TC), "nodes_max" (it starts where the level first becomes reachable, or within
    one IC grid step of the largest measured IC — of the grid's top when that is unknown).
    `Span.extrapolated` is set when it uses IC above the largest measured node count (a grid
    built with ``extrapolate_nodes=True``).
    """
    t = best.log10_train_flops
    i = best.log10_inference_flops
    front = pareto_frontier(best, level_elo)
    r = marginal_rate(t, front)
    keep = (r >= r_min) & (r <= r_max)
    if not keep.any():
        return Span(float(level_elo), 0.0, 0.0, np.nan, np.nan, np.nan, np.nan)
    idx = np.flatnonzero(keep)
    dt = np.diff(t)[keep]
    di = np.abs(np.diff(front))[keep]
    first, last = idx[0], idx[-1] + 1
    top = (
        np.full(t.shape, i[-1])
        if best.log10_inf_measured_max is None
        else np.minimum(np.asarray(best.log10_inf_measured_max, float), i[-1])
    )
    step_i = float(np.abs(np.diff(i)).max()) if i.size > 1 else 0.0
    edges = []
    if first == 0:
        edges.append("train_min")
    if last == t.size - 1:
        edges.append("train_max")
    # The level first becomes reachable where the efficient part starts: at the TC before,
    # no IC on the grid (none up to the largest measured node count) was enough.
    starts_frontier = first > 0 and np.isnan(front[first - 1])
    if starts_frontier or front[first] >= top[first] - step_i - 1e-9:
        edges.append("nodes_max")
    points = np.union1d(idx, idx + 1)
    extrapolated = bool(
        best.extrapolated_nodes
        and best.log10_inf_measured_max is not None
        and np.any(front[points] > np.asarray(best.log10_inf_measured_max)[points] + 1e-9)
    )
    return Span(
        level_elo=float(level_elo),
        span_train_oom=float(dt.sum()),
        span_inf_oom=float(di.sum()),
        log10_train_start=float(t[first]),
        log10_train_end=float(t[last]),
        log10_inf_start=float(front[first]),
        log10_inf_end=float(front[last]),
        edges=",".join(edges),
        extrapolated=extrapolated,
    )


def reachable_elo_range(best: PlaneGrid) -> tuple[float, float]:
    """(Elo already reached at the grid's smallest TC and IC, highest Elo on the grid)."""
    return float(np.nanmin(best.elo)), float(np.nanmax(best.elo))


def span_table(fit: SCurveFit, levels_elo: Sequence[float], **grid_kwargs) -> pd.DataFrame:
    """Efficient spans of a fitted model at each level: columns level_elo, span_train_oom,
    span_inf_oom and the efficient part's extent (Epoch 2023, Fig. 5)."""
    best = pareto_best(model_grid(fit, **grid_kwargs))
    return pd.DataFrame([efficient_span(best, p).__dict__ for p in levels_elo])


def _best_grid(config: SCurveFit | PlaneGrid, **grid_kwargs) -> PlaneGrid:
    if isinstance(config, PlaneGrid):
        return pareto_best(config)  # idempotent on a grid that is already a Pareto grid
    return pareto_best(model_grid(config, **grid_kwargs))


def common_levels(
    configs: Mapping[str, SCurveFit | PlaneGrid],
    n_levels: int = 8,
    *,
    margin_elo: float = 50.0,
    **grid_kwargs,
) -> np.ndarray:
    """An even grid of Elo levels reached by every configuration (a fit or a grid): strictly
    inside the intersection of their reachable ranges, `margin_elo` in from each end."""
    ranges = [reachable_elo_range(_best_grid(c, **grid_kwargs)) for c in configs.values()]
    lo = max(r[0] for r in ranges) + margin_elo
    hi = min(r[1] for r in ranges) - margin_elo
    if not lo < hi:
        raise ValueError(f"no Elo level is reached by every configuration ({ranges})")
    return np.linspace(lo, hi, n_levels)


def fit_on_grid(
    fit: SCurveFit,
    log10_train_flops: np.ndarray,
    log10_inference_flops: np.ndarray,
    *,
    extrapolate_nodes: bool = False,
) -> PlaneGrid:
    """`fit`'s Elo on a given grid, NaN outside its measured train compute, below one node (or
    its smallest network) and, unless `extrapolate_nodes`, above its largest measured node
    count (largest network). Beyond its largest TC the Pareto cumulative max carries its best
    agents forward (they stay available), so nothing is extrapolated in TC either."""
    t = np.asarray(log10_train_flops, float)
    i = np.asarray(log10_inference_flops, float)
    elo = elo_on_plane(fit, t[:, None], i[None, :])
    t_lo, t_hi = fit.log10_train_range
    inside = (t >= t_lo - 1e-9) & (t <= t_hi + 1e-9)
    top = np.where(t >= t_lo - 1e-9, _measured_max_ic(fit, np.clip(t, t_lo, t_hi)), np.nan)
    elo = np.where(inside[:, None], elo, np.nan)
    if not extrapolate_nodes:
        elo = np.where(i[None, :] <= top[:, None] + 1e-9, elo, np.nan)
    return PlaneGrid(t, i, elo, log10_inf_measured_max=top, extrapolated_nodes=extrapolate_nodes)


def combined_grid(
    fits: Sequence[SCurveFit],
    log10_train_flops: np.ndarray,
    log10_inference_flops: np.ndarray,
    *,
    extrapolate_nodes: bool = False,
) -> PlaneGrid:
    """Best Elo at each cell over several fits (one per architecture, and the fixed-nodes fit):
    the "combined" configuration of Epoch's (2023) Figure 13, architecture, train length and
    node count all free. Each fit is limited to its measured range (`fit_on_grid`)."""
    if not fits:
        raise ValueError("combined_grid needs at least one fit")
    grids = [
        fit_on_grid(
            f, log10_train_flops, log10_inference_flops, extrapolate_nodes=extrapolate_nodes
        )
        for f in fits
    ]
    elo = np.fmax.reduce(np.stack([g.elo for g in grids]), axis=0)
    top = np.fmax.reduce(np.stack([g.log10_inf_measured_max for g in grids]), axis=0)
    return PlaneGrid(
        grids[0].log10_train_flops,
        grids[0].log10_inference_flops,
        elo,
        log10_inf_measured_max=top,
        extrapolated_nodes=extrapolate_nodes,
    )


def common_grid_ranges(
    agents: pd.DataFrame, convention: str = "jones"
) -> tuple[tuple[float, float], tuple[float, float]]:
    """(log10 TC range, log10 IC range) of `agents`: the common grid of Figure 13."""
    t = np.log10(agents[f"train_flops_{convention}"].to_numpy(float))
    i = np.log10(agents[f"test_flops_{convention}"].to_numpy(float))
    return (float(t.min()), float(t.max())), (float(i.min()), float(i.max()))


def fit_architectures(
    agents: pd.DataFrame,
    *,
    convention: str = "jones",
    n_starts: int = 4,
    seed: int = 0,
    min_agents: int = 12,
    reuse: Mapping[str, SCurveFit] | None = None,
) -> tuple[dict[str, SCurveFit], dict[str, str]]:
    """One S-curve fit (train length and nodes free) per width × depth in `agents` (one
    board), keyed "w{width}-d{depth}"; `reuse` supplies fits already made for some keys.
    Returns (fits, skipped), skipped mapping a key to why it has no fit (fewer than
    `min_agents` agents, a failed fit)."""
    fits: dict[str, SCurveFit] = {}
    skipped: dict[str, str] = {}
    for (width, depth), group in agents.groupby(["width", "depth"], sort=True):
        key = f"w{int(width)}-d{int(depth)}"
        if reuse is not None and key in reuse:
            fits[key] = reuse[key]
            continue
        if len(group) < min_agents or group["test_nodes"].nunique() < 2:
            skipped[key] = f"{len(group)} agents, {group['test_nodes'].nunique()} node counts"
            continue
        try:
            fits[key] = fit_scurve(
                group,
                convention=convention,
                test_axis="nodes",
                policy="fixed_arch",
                n_starts=n_starts,
                seed=seed,
            )
        except (ValueError, RuntimeError, np.linalg.LinAlgError) as err:
            skipped[key] = str(err)
    return fits, skipped


@dataclass(frozen=True)
class Fig13Configs:
    """Epoch's (2023) Figure 13 configurations on one common (TC, IC) grid."""

    grids: dict[str, PlaneGrid]  # config -> Pareto (`pareto_best`) grid, keys FIG13_CONFIGS
    fits: dict[str, SCurveFit]  # "MCTS only", "Chinchilla-style" -> their fit
    arch_fits: dict[str, SCurveFit]  # "w{width}-d{depth}" -> fit; "combined" is their max
    skipped_archs: dict[str, str]  # architectures without a fit -> reason
    n_agents: dict[str, int]  # config -> agents it draws on
    n_agents_uncovered: int  # agents of skipped architectures (absent from "combined")
    reference_arch: str  # the "MCTS only" architecture


def fig13_configs(
    df: pd.DataFrame,
    nodes: int = 64,
    *,
    board_size: int | None = None,
    convention: str = "jones",
    n_starts: int = 4,
    seed: int = 0,
    n_train: int = 201,
    n_inf: int = 201,
    extrapolate_nodes: bool = False,
) -> Fig13Configs:
    """The three configurations of Epoch's (2023) Figure 13 on one board.

    - "MCTS only": one architecture (that of the best `nodes`-node agent), its train length and
      node count vary (S-curve in log10 TC and log10 M; `select_policy("fixed_arch")`);
    - "Chinchilla-style": nodes fixed at `nodes`, architecture and train length vary
      (Chinchilla-form S-curve; `select_policy("fixed_nodes")`);
    - "combined": all three free — the Pareto frontier over every agent: the best Elo at each
      (TC, IC) over every architecture's own S-curve fit (`fit_architectures`; the "MCTS only"
      fit is reused for its architecture) and the "Chinchilla-style" fit. Its option set
      contains each single configuration's, so it dominates both by construction: at every
      level its frontier needs no more IC at any TC (tests/test_analysis_fig13.py).

    All three are evaluated on one grid over every agent's TC and IC, each model only inside
    its measured ranges. Raises ValueError when a single configuration cannot be fitted.
    """
    board = int(df["board_size"].max()) if board_size is None else board_size
    board_df = df[df["board_size"] == board]
    mcts_agents = select_policy(df, "fixed_arch", nodes, board_size=board, convention=convention)
    chin_agents = select_policy(df, "fixed_nodes", nodes, board_size=board, convention=convention)
    kw = {"convention": convention, "n_starts": n_starts, "seed": seed}
    mcts = fit_scurve(mcts_agents, test_axis="nodes", policy="fixed_arch", **kw)
    chin = fit_scurve(chin_agents, test_axis="flops", policy="fixed_nodes", **kw)
    ref = f"w{int(mcts_agents['width'].iloc[0])}-d{int(mcts_agents['depth'].iloc[0])}"
    arch_fits, skipped = fit_architectures(board_df, reuse={ref: mcts}, **kw)
    (t_lo, t_hi), (i_lo, i_hi) = common_grid_ranges(board_df, convention)
    t = np.linspace(t_lo, t_hi, n_train)
    i = np.linspace(i_lo, i_hi, n_inf)
    grid_kw = {"extrapolate_nodes": extrapolate_nodes}
    grids = {
        "MCTS only": pareto_best(fit_on_grid(mcts, t, i, **grid_kw)),
        "Chinchilla-style": pareto_best(fit_on_grid(chin, t, i, **grid_kw)),
        "combined": pareto_best(combined_grid([*arch_fits.values(), chin], t, i, **grid_kw)),
    }
    arch_key = "w" + board_df["width"].astype(int).astype(str) + "-d"
    arch_key = arch_key + board_df["depth"].astype(int).astype(str)
    uncovered = int(arch_key.isin(list(skipped)).sum())
    return Fig13Configs(
        grids=grids,
        fits={"MCTS only": mcts, "Chinchilla-style": chin},
        arch_fits=arch_fits,
        skipped_archs=skipped,
        n_agents={
            "MCTS only": len(mcts_agents),
            "Chinchilla-style": len(chin_agents),
            "combined": len(board_df) - uncovered,
        },
        n_agents_uncovered=uncovered,
        reference_arch=ref,
    )


def fig13_spans(
    configs: Fig13Configs | Mapping[str, SCurveFit | PlaneGrid],
    levels_elo: Sequence[float] | None = None,
    *,
    n_levels: int = 8,
    margin_elo: float = 50.0,
    **grid_kwargs,
) -> Fig13Spans:
    """Efficient spans of several configurations on a shared level grid (Epoch 2023, Fig. 13).

    `configs` is a `Fig13Configs` (the three configurations of `fig13_configs`) or maps a name
    to a fit (evaluated on its own `model_grid(**grid_kwargs)`) or to a grid. Each
    configuration's cross is the mean (span_train, span_inf) over the levels, with standard
    deviations over levels as arms; `sum_of_singles` adds the "MCTS only" and
    "Chinchilla-style" means (Epoch: the combined spans are about their sum). `per_level` keeps
    each span's edge flags.
    """
    mapping = configs.grids if isinstance(configs, Fig13Configs) else dict(configs)
    bests = {name: _best_grid(c, **grid_kwargs) for name, c in mapping.items()}
    levels = (
        common_levels(bests, n_levels, margin_elo=margin_elo)
        if levels_elo is None
        else np.asarray(levels_elo, float)
    )
    rows = []
    for name, best in bests.items():
        for level in levels:
            rows.append({"config": name, **efficient_span(best, level).__dict__})
    per_level = pd.DataFrame(rows)
    summary = per_level.groupby("config", sort=False)[["span_train_oom", "span_inf_oom"]].agg(
        ["mean", "std"]
    )
    summary.columns = [f"{a}_{b}" for a, b in summary.columns]
    total = None
    if {"MCTS only", "Chinchilla-style"} <= set(summary.index):
        pair = summary.loc[["MCTS only", "Chinchilla-style"]]
        total = {
            "span_train_oom": float(pair["span_train_oom_mean"].sum()),
            "span_inf_oom": float(pair["span_inf_oom_mean"].sum()),
        }
    return Fig13Spans(levels_elo=levels, per_level=per_level, summary=summary, sum_of_singles=total)


def bootstrap_spans(
    agents: pd.DataFrame,
    fit: SCurveFit,
    levels_elo: Sequence[float],
    *,
    n_resamples: int = 200,
    seed: int = 0,
    n_starts: int = 2,
    ci_level: float = 0.95,
    with_params: bool = False,
    cluster: str | None = "run",
    **grid_kwargs,
) -> BootstrapResult:
    """Bootstrap of span_train and span_inf at each level (names ``span_train_oom@<level>``,
    ``span_inf_oom@<level>``), refitting the S-curve each time.

    Resamples whole runs by default (`cluster="run"`, as `scurve.bootstrap_scurve`); refits
    that raise or do not converge count as failed. `with_params` adds every S-curve parameter
    and the RMS from the same refits, so one loop gives the intervals of both.
    """

    def spans(f: SCurveFit) -> dict[str, float]:
        table = span_table(f, levels_elo, **grid_kwargs)
        out = {**f.params.as_dict(), "rms_elo": f.rms_elo} if with_params else {}
        for row in table.itertuples():
            out[f"span_train_oom@{row.level_elo:.0f}"] = row.span_train_oom
            out[f"span_inf_oom@{row.level_elo:.0f}"] = row.span_inf_oom
        return out

    def stat(d: pd.DataFrame) -> dict[str, float]:
        return spans(refit(fit, d, n_starts=n_starts, seed=seed))

    return bootstrap(
        agents,
        stat,
        n_resamples=n_resamples,
        seed=seed,
        ci_level=ci_level,
        cluster=cluster_column(agents, cluster),
        estimates=spans(fit),
    )


JONES_TRAIN_TEST_LEVELS = (-1500.0, -1250.0, -1000.0, -750.0, -500.0, -250.0, 0.0)


@dataclass(frozen=True)
class TrainTestFit:
    """Jones's (2021) train/test plane: OLS log10 test = c + s·log10 train + k·Elo on the
    per-level frontiers of minimum test compute."""

    frontier: pd.DataFrame  # level_elo, log10_train_flops (bin), log10_test_flops, fitted
    coef: pd.DataFrame  # index intercept, log10_train, elo: estimate, se, lo, hi (t interval)
    slope: float  # d log10 test / d log10 train at fixed Elo (Jones: about −1.2)
    elo_coef: float  # decades of test compute per Elo at fixed train compute
    intercept: float
    test_reduction_per_10x_train: float  # 10**(−slope): "10× train ≈ this × less test"
    rms_log10: float  # residual RMS, decades of test compute
    r2: float
    n: int  # frontier points fitted
    levels_elo: tuple[float, ...]  # levels with frontier points
    ci_level: float
    convention: str
    bin_decades: float
    status: FitStatus

    def as_dict(self) -> dict:
        """JSON-ready summary: coefficients with intervals, fit statistics, status."""
        return {
            "coefficients": {
                k: {c: float(v) for c, v in row.items()} for k, row in self.coef.iterrows()
            },
            "slope": self.slope,
            "elo_coef": self.elo_coef,
            "intercept": self.intercept,
            "test_reduction_per_10x_train": self.test_reduction_per_10x_train,
            "rms_log10": self.rms_log10,
            "r2": self.r2,
            "n": self.n,
            "levels_elo": list(self.levels_elo),
            "ci_level": self.ci_level,
            "convention": self.convention,
            "bin_decades": self.bin_decades,
            "status": self.status.as_dict(),
        }


def train_test_frontier(
    agents: pd.DataFrame,
    *,
    convention: str = "jones",
    levels_elo: Sequence[float] = JONES_TRAIN_TEST_LEVELS,
    bin_decades: float = 0.1,
    trim_tail: bool = True,
) -> pd.DataFrame:
    """Jones's (2021) train/test frontiers (boardlaw ``analysis/data.py: train_test``).

    Train compute is binned to `bin_decades` (log10 rounded to the bin); for each Elo level the
    minimum log10 test compute per move among agents above the level is taken per bin, then a
    running minimum over bins of increasing train compute. With `trim_tail` (Jones) each level
    keeps its frontier only up to the first bin where it reaches its final minimum (the flat
    tail after it carries no tradeoff). Levels no agent exceeds are dropped. Returns columns
    level_elo, log10_train_flops, log10_test_flops.
    """
    t = np.log10(agents[f"train_flops_{convention}"].to_numpy(float))
    i = np.log10(agents[f"test_flops_{convention}"].to_numpy(float))
    elo = agents["elo"].to_numpy(float)
    bins = np.round(t / bin_decades) * bin_decades
    parts = []
    for level in levels_elo:
        above = elo > level
        if not above.any():
            continue
        per_bin = pd.Series(i[above]).groupby(bins[above]).min().sort_index()
        running = per_bin.cummin()
        if trim_tail:
            first_final = int(np.flatnonzero(running.to_numpy() <= running.iloc[-1] + 1e-12)[0])
            running = running.iloc[: first_final + 1]
        parts.append(
            pd.DataFrame(
                {
                    "level_elo": float(level),
                    "log10_train_flops": running.index.to_numpy(float),
                    "log10_test_flops": running.to_numpy(float),
                }
            )
        )
    if not parts:
        return pd.DataFrame(columns=["level_elo", "log10_train_flops", "log10_test_flops"])
    return pd.concat(parts, ignore_index=True)


def fit_train_test(
    agents: pd.DataFrame,
    *,
    convention: str = "jones",
    levels_elo: Sequence[float] = JONES_TRAIN_TEST_LEVELS,
    bin_decades: float = 0.1,
    ci_level: float = 0.95,
    trim_tail: bool = True,
) -> TrainTestFit:
    """Jones's (2021) fit of the train/test plane on one board's agents (every snapshot and
    node variant): OLS of log10 test ~ log10 train + Elo level + 1 on `train_test_frontier`.

    Jones, 9×9: "10× train ≈ 15× less test compute" (slope ≈ −1.2). Intervals are the OLS
    t intervals at `ci_level` (frontier points of one level are not independent, so they are
    optimistic; `bootstrap_train_test` resamples runs). Raises ValueError with fewer than 4
    frontier points or a rank-deficient design (e.g. a single level and a single bin).
    """
    front = train_test_frontier(
        agents,
        convention=convention,
        levels_elo=levels_elo,
        bin_decades=bin_decades,
        trim_tail=trim_tail,
    )
    n = len(front)
    if n < 4:
        raise ValueError(f"train/test plane: need at least 4 frontier points, got {n}")
    x = np.column_stack(
        [np.ones(n), front["log10_train_flops"].to_numpy(), front["level_elo"].to_numpy()]
    )
    y = front["log10_test_flops"].to_numpy()
    beta, _, rank, _ = np.linalg.lstsq(x, y, rcond=None)
    if rank < 3:
        raise ValueError(
            "train/test plane: the design is rank deficient (one level or one train bin)"
        )
    fitted = x @ beta
    resid = y - fitted
    dof = n - 3
    sigma2 = float(resid @ resid / dof) if dof > 0 else float("nan")
    cov = sigma2 * np.linalg.inv(x.T @ x)
    se = np.sqrt(np.diag(cov))
    q = stats.t.ppf(0.5 + ci_level / 2, dof) if dof > 0 else float("nan")
    coef = pd.DataFrame(
        {"estimate": beta, "se": se, "lo": beta - q * se, "hi": beta + q * se},
        index=["intercept", "log10_train", "elo"],
    )
    tss = float(np.sum((y - y.mean()) ** 2))
    status = FitStatus(
        converged=True,
        status=1,
        message="closed-form OLS",
        at_bounds=(),
        rms=float(np.sqrt(np.mean(resid**2))),
        n=n,
        n_params=3,
        weighted=False,
        chi2_dof=float("nan"),
        rms_unit="decades of test compute",
    )
    return TrainTestFit(
        frontier=front.assign(fitted_log10_test_flops=fitted),
        coef=coef,
        slope=float(beta[1]),
        elo_coef=float(beta[2]),
        intercept=float(beta[0]),
        test_reduction_per_10x_train=float(10 ** (-beta[1])),
        rms_log10=status.rms,
        r2=float(1 - resid @ resid / tss) if tss > 0 else float("nan"),
        n=n,
        levels_elo=tuple(float(v) for v in front["level_elo"].unique()),
        ci_level=ci_level,
        convention=convention,
        bin_decades=bin_decades,
        status=status,
    )


def bootstrap_train_test(
    agents: pd.DataFrame,
    fit: TrainTestFit,
    *,
    n_resamples: int = 200,
    seed: int = 0,
    cluster: str | None = "run",
    levels_elo: Sequence[float] = JONES_TRAIN_TEST_LEVELS,
) -> BootstrapResult:
    """Bootstrap of the train/test plane's coefficients (slope, elo_coef, intercept,
    test_reduction_per_10x_train), resampling whole runs by default."""

    def stat(d: pd.DataFrame) -> dict[str, float]:
        f = fit_train_test(
            d,
            convention=fit.convention,
            levels_elo=levels_elo,
            bin_decades=fit.bin_decades,
            ci_level=fit.ci_level,
        )
        return {
            "slope": f.slope,
            "elo_coef": f.elo_coef,
            "intercept": f.intercept,
            "test_reduction_per_10x_train": f.test_reduction_per_10x_train,
        }

    return bootstrap(
        agents,
        stat,
        n_resamples=n_resamples,
        seed=seed,
        ci_level=fit.ci_level,
        cluster=cluster_column(agents, cluster),
        estimates={
            "slope": fit.slope,
            "elo_coef": fit.elo_coef,
            "intercept": fit.intercept,
            "test_reduction_per_10x_train": fit.test_reduction_per_10x_train,
        },
    )


def elo_per_decade(nodes, elo, cov) -> tuple[float, float]:
    """Least-squares slope of Elo on log10 nodes (every node count weighted alike, so the
    estimand is the same whatever the SEs) and its standard error √(cᵀΣc) from the ratings'
    covariance `cov` (a [n, n] matrix, Elo²; a vector of SEs means independent ratings). A
    family of variants shares its link to the anchor, which moves them together and so leaves
    the slope alone: only the joint covariance sees that."""
    x = np.log10(np.asarray(nodes, float))
    c = (x - x.mean()) / np.sum((x - x.mean()) ** 2)
    cov = np.asarray(cov, float)
    cov = np.diag(cov**2) if cov.ndim == 1 else cov
    return float(c @ np.asarray(elo, float)), float(np.sqrt(max(c @ cov @ c, 0.0)))


def node_scaling(variants: pd.DataFrame, cov: pd.DataFrame | None = None) -> dict:
    """One snapshot's node variants (columns nodes, elo, elo_se; with `cov`, agent): Elo per
    decade of nodes from 1 to 64 with its SE, the Elo gained at each doubling of the whole
    range, and whether every doubling rises within one SE (a step above minus its SE).

    With `cov`, the Elo fit's covariance over agent ids, the slope's SE and each step's,
    √(σ²ₐ + σ²ᵦ − 2σₐᵦ), come from it; without it from the SEs relative to the anchor taken as
    independent, which count the family's shared link to the anchor once per rating and so
    overstate both (`step_se_basis`)."""
    g = variants.sort_values("nodes")
    fit = g[g["nodes"] <= 64]
    se = g["elo_se"].to_numpy(float)
    if cov is None:
        slope, slope_se = elo_per_decade(fit["nodes"], fit["elo"], fit["elo_se"])
        step_se = np.hypot(se[1:], se[:-1])
    else:
        ids = fit["agent"].to_numpy()
        slope, slope_se = elo_per_decade(fit["nodes"], fit["elo"], cov.loc[ids, ids])
        agents = g["agent"].to_numpy()
        step_se = np.sqrt(difference_variance(cov, agents[:-1], agents[1:]))
    steps = np.diff(g["elo"].to_numpy(float))
    return {
        "nodes": [int(n) for n in g["nodes"]],
        "elo": [round(float(e), 1) for e in g["elo"]],
        "elo_se": [round(float(e), 1) for e in se],
        "elo_per_decade_1_64": slope,
        "elo_per_decade_se": slope_se,
        "doubling_gains": [round(float(x), 1) for x in steps],
        "doubling_se": [round(float(x), 1) for x in step_se],
        "step_se_basis": "anchor" if cov is None else "covariance",
        "rises_every_doubling_within_1se": bool(np.all(steps > -step_se)),
    }


def node_scaling_table(
    elo: pd.DataFrame, min_variants: int = 3, covariances: Mapping[int, pd.DataFrame] | None = None
) -> list:
    """`node_scaling` of every snapshot of an Elo table with at least `min_variants` node
    counts under its training search (agents `<run>/<NN>@<nodes>`: no test-time search change,
    moves sampled), with its board, run, snapshot and train compute; SEs from the board's fit
    covariance where `covariances` (board → agents × agents) has it."""
    plain = elo[elo["agent"].str.fullmatch(r".+/\d+@\d+")]  # anchors' ids never match
    out = []
    for (board, run, snapshot), g in plain.groupby(["board_size", "run", "snapshot"]):
        if g["test_nodes"].nunique() < min_variants:
            continue
        cov = (covariances or {}).get(int(board))
        cov = cov if cov is not None and g["agent"].isin(cov.index).all() else None
        out.append(
            {
                "board": int(board),
                "run": run,
                "snapshot": int(snapshot),
                "train_flops_jones": float(g["train_flops_jones"].iloc[0]),
                **node_scaling(g.rename(columns={"test_nodes": "nodes"}), cov),
            }
        )
    return out
