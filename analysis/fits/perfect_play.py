"""Compute to perfect play per board, its growth between boards, and the frontier slope per seed,
with intervals from resampling runs.

Perfect play is where a board's empirical compute frontier (`frontier_from_runs`: max Elo over
runs) first reaches −`within` Elo, Jones's (2021) "agents above −50 Elo count as perfect" (spec
§5). Intervals come from a bootstrap over architectures: each draw takes a board's architectures
with replacement, for each one of its seeds at random, and moves every rating by a normal draw of
its SE (ignoring their covariance), then rebuilds the frontier. An architecture is a run name
without its `-seed<N>` suffix (conf/config.yaml's run_name).
"""

from __future__ import annotations

import functools
import itertools
import re

import numpy as np
import pandas as pd

from analysis.fits.jones_frontier import fit_jones_frontier, frontier_from_runs

PERFECT_WITHIN = 50.0  # Elo below perfect play that still counts as perfect (Jones)
_SEED = re.compile(r"^(?P<arch>.+)-seed(?P<seed>\d+)$")


def architecture_and_seed(run: str) -> tuple[str, int]:
    """("b4-w16-d1-jones64", 1) of "b4-w16-d1-jones64-seed1"; (run, 0) without a seed suffix."""
    match = _SEED.match(run)
    return (match["arch"], int(match["seed"])) if match else (run, 0)


def _searching_networks(elo: pd.DataFrame, test_nodes: int) -> pd.DataFrame:
    """The network agents at `test_nodes` that sample their moves (no anchors, no argmax)."""
    keep = elo["test_nodes"] == test_nodes
    if "kind" in elo.columns:
        keep &= elo["kind"] == "network"
    if "greedy" in elo.columns:
        keep &= ~elo["greedy"].fillna(False).astype(bool)
    return elo[keep]


def _architectures(elo: pd.DataFrame) -> pd.DataFrame:
    """board, architecture, seed and run of every run in the Elo table, one row each."""
    runs = elo[["board_size", "run"]].drop_duplicates()
    parts = [architecture_and_seed(r) for r in runs["run"]]
    return runs.assign(arch=[a for a, _ in parts], seed=[s for _, s in parts])


def seed_grid(elo: pd.DataFrame, seed: int) -> pd.DataFrame:
    """The rows of one seed's grid: each architecture's run of `seed`, or, for an architecture
    trained with one seed only, that run."""
    runs = _architectures(elo)
    has_seed = runs.groupby("arch")["seed"].transform(lambda s: (s == seed).any())
    only = runs.groupby("arch")["seed"].transform("nunique") == 1
    keep = runs.loc[(runs["seed"] == seed) | (~has_seed & only), "run"]
    return elo[elo["run"].isin(keep)]


def first_reach(frontier: pd.DataFrame, within: float = PERFECT_WITHIN) -> dict[int, float]:
    """Per board: log10 C of the first frontier point at or above −`within` Elo (NaN: never)."""
    out = {}
    for board, g in frontier.groupby("boardsize"):
        reached = g.loc[g["elo"] >= -within, "log10_train_flops"]
        out[int(board)] = float(reached.min()) if len(reached) else np.nan
    return out


def _draw(elo: pd.DataFrame, runs: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """One bootstrap draw of the Elo table (module docstring); run ids made unique per copy."""
    parts = []
    for _, board_runs in runs.groupby("board_size"):
        archs = board_runs["arch"].unique()
        for copy, arch in enumerate(rng.choice(archs, size=len(archs), replace=True)):
            seeds = board_runs.loc[board_runs["arch"] == arch, "run"].to_numpy()
            run = seeds[rng.integers(len(seeds))]
            parts.append(elo[elo["run"] == run].assign(run=f"{run}#{copy}"))
    drawn = pd.concat(parts, ignore_index=True)
    se = drawn["elo_se"].fillna(0.0).to_numpy(float)
    return drawn.assign(elo=drawn["elo"].to_numpy(float) + rng.normal(0.0, 1.0, len(se)) * se)


def _interval(draws: np.ndarray, level: float = 0.95) -> list[float]:
    """Percentile interval of `draws`; NaN (never reached) ranks above every number, so an
    upper bound falling among them is +inf."""
    tail = (1 - level) / 2
    ranked = np.sort(np.where(np.isnan(draws), np.inf, draws))
    lo, hi = np.quantile(ranked, [tail, 1 - tail], method="inverted_cdf")
    return [float(lo), float(hi)]


def perfect_play_compute(
    elo: pd.DataFrame, *, within: float = PERFECT_WITHIN, n_resamples: int = 200,
    seed: int = 0, test_nodes: int = 64, convention: str = "jones",
) -> dict:  # fmt: skip
    """Per board: log10 C where the frontier first reaches −`within` (`first_reach`) with a 95%
    bootstrap interval and the fraction of draws that never reach it; and the multiplier of
    that compute between consecutive boards, with its interval (module docstring)."""
    elo = _searching_networks(elo, test_nodes)
    runs = _architectures(elo)
    frontier = functools.partial(frontier_from_runs, test_nodes=test_nodes, convention=convention)
    estimate = first_reach(frontier(elo), within)
    rng = np.random.default_rng(seed)
    draws = pd.DataFrame(
        [first_reach(frontier(_draw(elo, runs, rng)), within) for _ in range(n_resamples)]
    )
    boards = sorted(estimate)
    out = {"within_elo": within, "n_resamples": n_resamples, "boards": {}, "multipliers": {}}
    for board in boards:
        column = draws[board].to_numpy(float)
        out["boards"][board] = {
            "log10_flops": estimate[board],
            "ci95": _interval(column),
            "never_reached_fraction": float(np.isnan(column).mean()),
        }
    for small, large in itertools.pairwise(boards):
        ratio = 10 ** (draws[large] - draws[small]).to_numpy(float)
        out["multipliers"][f"{small}->{large}"] = {
            "multiplier": float(10 ** (estimate[large] - estimate[small])),
            "ci95": _interval(ratio),
        }
    return out


def frontier_slopes(
    elo: pd.DataFrame, *, n_resamples: int = 200, seed: int = 0, test_nodes: int = 64,
    convention: str = "jones",
) -> dict:  # fmt: skip
    """The joint Jones-frontier slope m (Elo per decade) of each seed's grid (`seed_grid`), and
    over bootstrap draws of architectures and seeds (module docstring): estimate from the seed-0
    grid, the draws' 95% interval and SE, and how many refits failed to converge (left out)."""
    elo = _searching_networks(elo, test_nodes)
    runs = _architectures(elo)
    frontier = functools.partial(frontier_from_runs, test_nodes=test_nodes, convention=convention)
    per_seed = {}
    for s in sorted(runs["seed"].unique()):
        fit = fit_jones_frontier(frontier(seed_grid(elo, s)))
        per_seed[int(s)] = {"m": fit.m, "converged": fit.status.converged}
    rng = np.random.default_rng(seed)
    slopes, failed = [], 0
    for _ in range(n_resamples):
        fit = fit_jones_frontier(frontier(_draw(elo, runs, rng)), n_starts=2, seed=seed)
        if fit.status.converged:
            slopes.append(fit.m)
        else:
            failed += 1
    slopes = np.asarray(slopes, float)
    return {
        "per_seed": per_seed,
        "bootstrap": {
            "ci95": _interval(slopes) if len(slopes) else [np.nan, np.nan],
            "se": float(slopes.std(ddof=1)) if len(slopes) > 1 else np.nan,
            "n_ok": int(len(slopes)),
            "n_failed": failed,
        },
    }
