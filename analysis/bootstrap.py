"""Nonparametric bootstrap confidence intervals for fitted parameters and derived numbers.

Every fit in `analysis/` is a pure function of a DataFrame, so a bootstrap is a loop that
resamples rows (agents, frontier points) or whole groups (boards, runs) and refits. Percentile
intervals (Efron & Tibshirani 1993) are reported; Epoch (2023) gives no interval method, so
this choice is ours.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["BootstrapResult", "bootstrap", "resample"]


@dataclass(frozen=True)
class BootstrapResult:
    """Point estimates on the full data plus the statistics of each bootstrap resample."""

    estimates: pd.Series  # [n_stats] name -> estimate on the full data
    draws: pd.DataFrame  # [n_resamples, n_stats]; NaN rows are failed refits
    ci_level: float  # e.g. 0.95
    n_failed: int  # resamples whose statistic raised or was non-finite

    def table(self) -> pd.DataFrame:
        """One row per statistic: estimate, percentile interval lo/hi and bootstrap se."""
        tail = (1.0 - self.ci_level) / 2.0
        draws = self.draws.reindex(columns=self.estimates.index)
        return pd.DataFrame(
            {
                "estimate": self.estimates,
                "lo": draws.quantile(tail),
                "hi": draws.quantile(1.0 - tail),
                "se": draws.std(ddof=1),
                "n_ok": draws.notna().sum(),
            }
        )


def resample(
    df: pd.DataFrame,
    rng: np.random.Generator,
    *,
    strata: str | None = None,
    cluster: str | None = None,
) -> pd.DataFrame:
    """One bootstrap resample of `df` with replacement.

    `cluster` draws whole groups (all rows sharing a value, e.g. a board or a run) instead of
    rows; `strata` resamples rows within each group separately, keeping group sizes.
    """
    if cluster is not None:
        keys = df[cluster].unique()
        drawn = rng.choice(keys, size=len(keys), replace=True)
        groups = {k: g for k, g in df.groupby(cluster, sort=False)}
        return pd.concat([groups[k] for k in drawn], ignore_index=True)
    if strata is not None:
        parts = [
            g.iloc[rng.integers(0, len(g), size=len(g))] for _, g in df.groupby(strata, sort=False)
        ]
        return pd.concat(parts, ignore_index=True)
    return df.iloc[rng.integers(0, len(df), size=len(df))].reset_index(drop=True)


def bootstrap(
    df: pd.DataFrame,
    statistic: Callable[[pd.DataFrame], Mapping[str, float]],
    *,
    n_resamples: int = 200,
    seed: int = 0,
    strata: str | None = None,
    cluster: str | None = None,
    ci_level: float = 0.95,
    estimates: Mapping[str, float] | None = None,
) -> BootstrapResult:
    """Bootstrap `statistic` (DataFrame -> {name: number}) over rows or groups of `df`.

    `estimates` may pass the already computed full-data statistic to avoid refitting it. A
    resample whose statistic raises ValueError/RuntimeError/FloatingPointError counts as failed
    and is left NaN, so degenerate resamples (e.g. a single board drawn) do not stop the run.
    """
    rng = np.random.default_rng(seed)
    full = dict(statistic(df) if estimates is None else estimates)
    names = list(full)
    rows = []
    n_failed = 0
    for _ in range(n_resamples):
        sample = resample(df, rng, strata=strata, cluster=cluster)
        try:
            stat = statistic(sample)
            row = [float(stat.get(k, np.nan)) for k in names]
        except (ValueError, RuntimeError, FloatingPointError, np.linalg.LinAlgError):
            row = [np.nan] * len(names)
        if not np.all(np.isfinite(row)):
            n_failed += 1
        rows.append(row)
    draws = pd.DataFrame(rows, columns=names, dtype=float)
    return BootstrapResult(
        estimates=pd.Series(full, dtype=float),
        draws=draws,
        ci_level=ci_level,
        n_failed=n_failed,
    )
