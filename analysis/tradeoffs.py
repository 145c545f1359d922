"""Train/inference compute tradeoffs: Pareto frontiers, marginal rates and efficient spans.

Epoch (2023), "Trading off compute in training and inference", §3 and Figures 5, 13, 14:

- Pareto frontier of level P in the (log10 TC, log10 IC) plane: the boundary of
  {(TC, IC): the best Elo with TC' ≤ TC and IC' ≤ IC is ≥ P} (cumulative max over the
  lower-left quadrant), computed on a grid from a fitted model or from empirical agents.
- Marginal rate r = |d log10 IC / d log10 TC| along the frontier.
- Span of efficient exchange: the part of the frontier with 1/6 ≤ r ≤ 6, cut at one MCTS node;
  span_train and span_inf are its widths in orders of magnitude (OOM).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.bootstrap import BootstrapResult, bootstrap
from analysis.scurve import SCurveFit, elo_on_plane, refit

__all__ = [
    "Fig13Spans",
    "PlaneGrid",
    "Span",
    "bootstrap_spans",
    "common_levels",
    "efficient_span",
    "empirical_grid",
    "fig13_spans",
    "marginal_rate",
    "model_grid",
    "pareto_best",
    "pareto_frontier",
    "reachable_elo_range",
    "span_table",
]

R_MIN, R_MAX = 1.0 / 6.0, 6.0


@dataclass(frozen=True)
class PlaneGrid:
    """Elo on a regular grid of the (log10 TC, log10 IC) plane; NaN where infeasible/empty."""

    log10_train_flops: np.ndarray  # [T]
    log10_inference_flops: np.ndarray  # [I] per move
    elo: np.ndarray  # [T, I]


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


@dataclass(frozen=True)
class Fig13Spans:
    """Efficient spans per configuration over a shared grid of Elo levels (Epoch 2023, Fig. 13)."""

    levels_elo: np.ndarray  # [L]
    per_level: pd.DataFrame  # config, level_elo, span_train_oom, span_inf_oom
    summary: pd.DataFrame  # index config: mean/sd of span_train_oom and span_inf_oom


def model_grid(
    fit: SCurveFit,
    *,
    n_train: int = 301,
    n_inf: int = 301,
    log10_train_range: tuple[float, float] | None = None,
    log10_inf_range: tuple[float, float] | None = None,
) -> PlaneGrid:
    """The fitted model's Elo on a grid spanning the fitted agents' compute (default).

    IC covers one node at the smallest TC up to the largest fitted test variable at the largest
    TC; cells below one node (or the smallest network, Chinchilla form) are NaN.
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
    return PlaneGrid(t, i, elo_on_plane(fit, t[:, None], i[None, :]))


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
    return PlaneGrid(
        grid.log10_train_flops,
        grid.log10_inference_flops,
        np.where(np.isfinite(best), best, np.nan),
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
    """
    t = best.log10_train_flops
    front = pareto_frontier(best, level_elo)
    r = marginal_rate(t, front)
    keep = (r >= r_min) & (r <= r_max)
    if not keep.any():
        return Span(float(level_elo), 0.0, 0.0, np.nan, np.nan, np.nan, np.nan)
    idx = np.flatnonzero(keep)
    dt = np.diff(t)[keep]
    di = np.abs(np.diff(front))[keep]
    return Span(
        level_elo=float(level_elo),
        span_train_oom=float(dt.sum()),
        span_inf_oom=float(di.sum()),
        log10_train_start=float(t[idx[0]]),
        log10_train_end=float(t[idx[-1] + 1]),
        log10_inf_start=float(front[idx[0]]),
        log10_inf_end=float(front[idx[-1] + 1]),
    )


def reachable_elo_range(best: PlaneGrid) -> tuple[float, float]:
    """(Elo already reached at the grid's smallest TC and IC, highest Elo on the grid)."""
    return float(np.nanmin(best.elo)), float(np.nanmax(best.elo))


def span_table(fit: SCurveFit, levels_elo: Sequence[float], **grid_kwargs) -> pd.DataFrame:
    """Efficient spans of a fitted model at each level: columns level_elo, span_train_oom,
    span_inf_oom and the efficient part's extent (Epoch 2023, Fig. 5)."""
    best = pareto_best(model_grid(fit, **grid_kwargs))
    return pd.DataFrame([efficient_span(best, p).__dict__ for p in levels_elo])


def common_levels(
    fits: Mapping[str, SCurveFit], n_levels: int = 8, *, margin_elo: float = 50.0, **grid_kwargs
) -> np.ndarray:
    """An even grid of Elo levels reached by every fit: strictly inside the intersection of
    their reachable ranges, `margin_elo` in from each end."""
    ranges = [reachable_elo_range(pareto_best(model_grid(f, **grid_kwargs))) for f in fits.values()]
    lo = max(r[0] for r in ranges) + margin_elo
    hi = min(r[1] for r in ranges) - margin_elo
    if not lo < hi:
        raise ValueError(f"no Elo level is reached by every configuration ({ranges})")
    return np.linspace(lo, hi, n_levels)


def fig13_spans(
    fits: Mapping[str, SCurveFit],
    levels_elo: Sequence[float] | None = None,
    *,
    n_levels: int = 8,
    **grid_kwargs,
) -> Fig13Spans:
    """Efficient spans of several configurations on a shared level grid (Epoch 2023, Fig. 13).

    `fits` maps a configuration name (e.g. "MCTS only" = fixed architecture, "Chinchilla-style"
    = fixed nodes, "combined" = frontier policy) to its fit. Each configuration's cross is the
    mean (span_train, span_inf) over levels, with standard deviations over levels as arms.
    """
    levels = (
        common_levels(fits, n_levels, **grid_kwargs)
        if levels_elo is None
        else np.asarray(levels_elo, float)
    )
    parts = []
    for name, fit in fits.items():
        table = span_table(fit, levels, **grid_kwargs)
        parts.append(
            table.assign(config=name)[["config", "level_elo", "span_train_oom", "span_inf_oom"]]
        )
    per_level = pd.concat(parts, ignore_index=True)
    summary = per_level.groupby("config", sort=False)[["span_train_oom", "span_inf_oom"]].agg(
        ["mean", "std"]
    )
    summary.columns = [f"{a}_{b}" for a, b in summary.columns]
    return Fig13Spans(levels_elo=levels, per_level=per_level, summary=summary)


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
    **grid_kwargs,
) -> BootstrapResult:
    """Bootstrap over agents of span_train and span_inf at each level (names
    ``span_train_oom@<level>``, ``span_inf_oom@<level>``), refitting the S-curve each time.

    `with_params` adds every S-curve parameter and the RMS from the same refits, so one loop
    gives the intervals of both.
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
        estimates=spans(fit),
    )
