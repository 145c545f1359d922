"""Fit diagnostics and nonparametric bootstrap confidence intervals.

Every fit in `analysis/` is a pure function of a DataFrame, so a bootstrap is a loop that
resamples rows (agents, frontier points) or whole groups (boards, runs) and refits. Percentile
intervals (Efron & Tibshirani 1993) are reported; Epoch (2023) gives no interval method, so
this choice is ours. A resample whose refit raises or does not converge counts as failed; when
more than `max_failed_fraction` (10%) of the resamples fail no interval is given, since the
surviving draws are no longer a sample of the estimator's distribution.

`FitStatus` is what every fit reports: converged or not (scipy's ``least_squares`` status;
full rank for a closed-form least-squares fit), parameters at their bounds, residual RMS and
the number of points.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["BootstrapResult", "FitStatus", "bootstrap", "fit_status", "resample"]

MAX_FAILED_FRACTION = 0.1
MIN_CLUSTERS = 3  # fewer groups than this give no interval (one run: every resample is the same)


@dataclass(frozen=True)
class FitStatus:
    """Diagnostics of one least-squares fit."""

    converged: bool  # scipy least_squares `success` (status > 0)
    status: int  # least_squares status: -1 bad input, 0 max evaluations, 1-4 converged
    message: str
    at_bounds: tuple[str, ...]  # names of parameters on a bound (active_mask != 0)
    rms: float  # unweighted residual RMS, in rms_unit
    n: int  # points fitted
    n_params: int
    weighted: bool  # residuals divided by the Elo standard errors (weighted least squares)
    chi2_dof: float  # weighted: sum of squared z-residuals / (n − n_params); else NaN
    rms_unit: str = "Elo"

    def as_dict(self) -> dict:
        """JSON-ready dict."""
        out = dict(self.__dict__)
        out["at_bounds"] = list(self.at_bounds)
        return out

    def note(self) -> str:
        """One line for a figure or a table: '' when converged with nothing at a bound."""
        parts = []
        if not self.converged:
            parts.append(f"FIT DID NOT CONVERGE (status {self.status}: {self.message})")
        if self.at_bounds:
            parts.append(f"at bounds: {', '.join(self.at_bounds)}")
        return "; ".join(parts)


def _near_bounds(x: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Within 0.1% of the bound range of a bound, or, for a positive lower bound (a scale
    such as a slope or a width), within 10% of it. trf iterates stay strictly inside the box,
    so a parameter pressed on a bound ends near it rather than on it."""
    x, lo, hi = (np.asarray(v, float) for v in (x, lo, hi))
    tol = 1e-3 * np.where(np.isfinite(hi - lo), hi - lo, 0.0)
    near_lo = (x - lo <= tol) | ((lo > 0) & (x <= 1.1 * lo))
    near_hi = hi - x <= tol
    return np.isfinite(lo) & near_lo | np.isfinite(hi) & near_hi


def fit_status(
    sol,
    names,
    residuals_elo: np.ndarray,
    *,
    weighted: bool = False,
    bounds: tuple[np.ndarray, np.ndarray] | None = None,
) -> FitStatus:
    """`FitStatus` of a scipy `least_squares` result `sol` over parameters `names`.

    `residuals_elo` are the unweighted residuals (Elo) at the solution; ``sol.fun`` holds the
    weighted ones when `weighted`. A parameter is at a bound when scipy's ``active_mask`` says
    so or, given `bounds`, when it ends near one (`_near_bounds`).
    """
    names = list(names)
    active = np.asarray(getattr(sol, "active_mask", np.zeros(len(names)))) != 0
    if bounds is not None:
        active = active | _near_bounds(sol.x, *bounds)
    n = int(np.size(residuals_elo))
    dof = max(n - len(names), 1)
    return FitStatus(
        converged=bool(sol.success),
        status=int(sol.status),
        message=str(sol.message),
        at_bounds=tuple(k for k, a in zip(names, active, strict=True) if a != 0),
        rms=float(np.sqrt(np.mean(np.square(residuals_elo)))),
        n=n,
        n_params=len(names),
        weighted=weighted,
        chi2_dof=float(np.sum(np.square(sol.fun)) / dof) if weighted else float("nan"),
    )


@dataclass(frozen=True)
class BootstrapResult:
    """Point estimates on the full data plus the statistics of each bootstrap resample."""

    estimates: pd.Series  # [n_stats] name -> estimate on the full data
    draws: pd.DataFrame  # [n_resamples, n_stats]; NaN rows are failed refits
    ci_level: float  # e.g. 0.95
    n_failed: int  # resamples whose statistic raised, did not converge or was non-finite
    cluster: str | None = None  # column whose groups were resampled whole (e.g. "run")
    n_clusters: int = 0  # groups (or rows, without a cluster) resampled from
    max_failed_fraction: float = MAX_FAILED_FRACTION
    min_clusters: int = MIN_CLUSTERS

    @property
    def n_resamples(self) -> int:
        return len(self.draws)

    @property
    def failed_fraction(self) -> float:
        return self.n_failed / self.n_resamples if self.n_resamples else float("nan")

    @property
    def ci_available(self) -> bool:
        """False when no resample was drawn, more than `max_failed_fraction` failed, or whole
        groups were resampled and there are fewer than `min_clusters` of them."""
        enough_groups = self.cluster is None or self.n_clusters >= self.min_clusters
        return (
            self.n_resamples > 0
            and self.failed_fraction <= self.max_failed_fraction
            and enough_groups
        )

    def table(self) -> pd.DataFrame:
        """One row per statistic: estimate, percentile interval lo/hi and bootstrap se.

        lo, hi and se are NaN when `ci_available` is False (too many failed resamples).
        """
        tail = (1.0 - self.ci_level) / 2.0
        draws = self.draws.reindex(columns=self.estimates.index)
        if not self.ci_available:
            draws = draws.iloc[:0]
        return pd.DataFrame(
            {
                "estimate": self.estimates,
                "lo": draws.quantile(tail),
                "hi": draws.quantile(1.0 - tail),
                "se": draws.std(ddof=1),
                "n_ok": self.draws.reindex(columns=self.estimates.index).notna().sum(),
            }
        )

    def summary(self) -> dict:
        """JSON-ready counts: resamples, failures, whether intervals are given, clustering."""
        return {
            "n_resamples": self.n_resamples,
            "n_failed": self.n_failed,
            "failed_fraction": self.failed_fraction,
            "max_failed_fraction": self.max_failed_fraction,
            "ci": self.ci_available,
            "ci_level": self.ci_level,
            "cluster": self.cluster,
            "n_clusters": self.n_clusters,
            "min_clusters": self.min_clusters,
        }


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
    max_failed_fraction: float = MAX_FAILED_FRACTION,
) -> BootstrapResult:
    """Bootstrap `statistic` (DataFrame -> {name: number}) over rows or groups of `df`.

    `estimates` may pass the already computed full-data statistic to avoid refitting it. A
    resample whose statistic raises ValueError/RuntimeError/FloatingPointError (a statistic
    raises RuntimeError for a refit that did not converge) counts as failed and is left NaN,
    so degenerate resamples (e.g. a single board drawn) do not stop the run; the result gives no
    interval when more than `max_failed_fraction` of the resamples failed.
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
        cluster=cluster,
        n_clusters=int(df[cluster].nunique()) if cluster is not None else len(df),
        max_failed_fraction=max_failed_fraction,
    )
