"""Jones (2021) compute frontier: per-board frontier from training runs and the changepoint fit.

Model (Jones 2021, "Scaling Scaling Laws with Board Games", §4; boardlaw `analysis/`):

    Elo = min(0, max(m·log10 C + m_b·b + c, p_b·b + p_c))

with C the train compute (Jones convention by default), b the board side. The fit is joint over
board sizes, least squares on Elo, to the empirical frontier (max Elo over runs at each compute).

CLI: ``python -m analysis.fits.jones_frontier FRONTIER.csv`` prints the fitted parameters as JSON;
the CSV has columns ``boardsize, log10_train_flops, elo``.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import DictConfig
from scipy.optimize import least_squares

from analysis.fits.bootstrap import BootstrapResult, FitStatus, bootstrap, fit_status
from pipeline.infra.config import hydra_main, load, register_configs

__all__ = [
    "FrontierFit",
    "HeldOutPrediction",
    "PARAM_NAMES",
    "bootstrap_frontier_fit",
    "fit_jones_frontier",
    "frontier_from_runs",
    "predict",
    "predict_held_out_board",
]

PARAM_NAMES = ("m", "m_b", "c", "p_b", "p_c")


@dataclass(frozen=True)
class FrontierFit:
    """Fitted Jones changepoint model; Elo in standard (400/ln 10) units."""

    m: float  # Elo per decade of train compute on the incline
    m_b: float  # incline offset, Elo per unit of board side
    c: float  # incline intercept, Elo
    p_b: float  # plateau Elo per unit of board side
    p_c: float  # plateau intercept, Elo
    rms_elo: float  # root mean square residual over the fitted points
    n_points: int
    board_sizes: tuple[int, ...]
    status: FitStatus | None = None  # converged, RMS, n, weighting (no bounds: unbounded fit)

    def params(self) -> dict[str, float]:
        """The five model parameters by name."""
        return {k: getattr(self, k) for k in PARAM_NAMES}

    def log10_perfect_play_flops(self, boardsize: float) -> float:
        """log10 C where the incline reaches 0 Elo: (−m_b·b − c)/m."""
        return (-self.m_b * boardsize - self.c) / self.m


@dataclass(frozen=True)
class HeldOutPrediction:
    """A board's frontier predicted from a fit to other boards, with bootstrap bands."""

    boardsize: int
    train_boards: tuple[int, ...]
    log10_train_flops: np.ndarray  # [G] the held-out board's grid
    elo_observed: np.ndarray  # [G]
    elo_predicted: np.ndarray  # [G] from the fit to train_boards
    elo_lo: np.ndarray  # [G] lower percentile band over bootstrap refits
    elo_hi: np.ndarray  # [G] upper band
    rms_elo: float  # RMS of observed − predicted on the held-out board
    fraction_inside: float  # share of observed points inside [elo_lo, elo_hi]
    fit: FrontierFit


def _model(theta: np.ndarray, log10_c: np.ndarray, board: np.ndarray) -> np.ndarray:
    m, m_b, c, p_b, p_c = theta
    incline = m * log10_c + m_b * board + c
    plateau = p_b * board + p_c
    return np.minimum(0.0, np.maximum(incline, plateau))


def predict(fit: FrontierFit, boardsize, log10_train_flops) -> np.ndarray:
    """Elo of the Jones (2021) frontier model at (board side, log10 train compute); broadcasts."""
    theta = np.array([fit.m, fit.m_b, fit.c, fit.p_b, fit.p_c])
    b, x = np.broadcast_arrays(np.asarray(boardsize, float), np.asarray(log10_train_flops, float))
    return _model(theta, x, b)


def _runs_columns(df: pd.DataFrame, convention: str, test_nodes: int | None) -> pd.DataFrame:
    """Map either the Elo table schema or the reference run-curve CSV onto (board, run, x, elo)."""
    if "boardsize" in df.columns:
        board = df["boardsize"]
    else:
        board = df["board_size"]
    if test_nodes is not None and "test_nodes" in df.columns:
        keep = df["test_nodes"] == test_nodes
        df, board = df[keep], board[keep]
    if "log10_train_flops" in df.columns:
        x = df["log10_train_flops"].astype(float)
    else:
        x = np.log10(df[f"train_flops_{convention}"].astype(float))
    run = df["curve_id"] if "curve_id" in df.columns else df["run"]
    out = pd.DataFrame(
        {"boardsize": board.astype(int).values, "run": run.values, "x": x.values, "elo": df["elo"]}
    )
    if "elo_se" in df.columns:
        out["elo_se"] = df["elo_se"].to_numpy(float)
    return out


def frontier_from_runs(
    df: pd.DataFrame,
    grid_points: int = 101,
    *,
    forward_fill: bool = True,
    convention: str = "jones",
    test_nodes: int | None = 64,
) -> pd.DataFrame:
    """Empirical compute frontier per board: max Elo over runs on a log10-compute grid.

    Jones (2021) (boardlaw `interp_frontier`): each run's Elo is interpolated linearly in
    log10 C onto `grid_points` points spanning that board's range of all snapshots, then the
    maximum over runs is taken. With `forward_fill` a run keeps its last Elo beyond its last
    snapshot (a finished run's agent is still available at larger budgets); Jones leaves it
    missing there. Before its first snapshot a run is always missing.

    `df` is either the Elo table (board_size, run, train_flops_<convention>, elo, test_nodes;
    only `test_nodes` agents are used) or the reference run-curve CSV (boardsize, curve_id,
    log10_train_flops, elo). Returns columns boardsize, log10_train_flops, elo, plus elo_se
    (interpolated the same way, from the run giving the maximum) when `df` has elo_se.
    """
    runs = _runs_columns(df, convention, test_nodes)
    if runs.empty:
        available = sorted(df["test_nodes"].dropna().unique()) if "test_nodes" in df else []
        raise ValueError(f"no agents at test_nodes={test_nodes} (available: {available})")
    with_se = "elo_se" in runs.columns
    out = []
    for board, g in runs.groupby("boardsize"):
        grid = np.linspace(g["x"].min(), g["x"].max(), grid_points)
        curves, ses = [], []
        for _, r in g.sort_values("x").groupby("run"):
            xp, yp = r["x"].to_numpy(), r["elo"].to_numpy(float)
            right = yp[-1] if forward_fill else np.nan
            curves.append(np.interp(grid, xp, yp, left=np.nan, right=right))
            if with_se:
                sp = r["elo_se"].to_numpy(float)
                ses.append(np.interp(grid, xp, sp, left=np.nan, right=sp[-1]))
        stacked = np.vstack(curves)
        elo = np.nanmax(stacked, axis=0)
        part = pd.DataFrame({"boardsize": board, "log10_train_flops": grid, "elo": elo})
        if with_se:
            filled = np.where(np.isnan(stacked), -np.inf, stacked)
            winner = np.argmax(filled, axis=0)
            part["elo_se"] = np.vstack(ses)[winner, np.arange(grid.size)]
        out.append(part)
    return pd.concat(out, ignore_index=True)


def _segmented_init(x: np.ndarray, b: np.ndarray, elo: np.ndarray) -> np.ndarray:
    """Data-driven start: plateau from each board's lowest Elo, incline from the middle points."""
    boards = np.unique(b)
    lows = np.array([elo[b == k].min() for k in boards])
    if len(boards) > 1:
        p_b, p_c = np.polyfit(boards, lows, 1)
    else:
        p_b, p_c = 0.0, lows[0]
    plateau = p_b * b + p_c
    mid = (elo > plateau + 0.15 * np.abs(plateau)) & (elo < -30.0)
    if mid.sum() < 4:
        mid = elo < -30.0
    design = np.column_stack([x[mid], b[mid], np.ones(mid.sum())])
    if len(boards) < 2:
        design = design[:, [0, 2]]
    coef, *_ = np.linalg.lstsq(design, elo[mid], rcond=None)
    m, m_b, c = (coef[0], 0.0, coef[1]) if len(boards) < 2 else coef
    return np.array([m, m_b, c, p_b, p_c])


def _alternate(theta, x, b, elo, n_iter: int = 30) -> np.ndarray:
    """Segmented regression: assign points to regimes, refit each regime linearly, repeat."""
    one_board = len(np.unique(b)) < 2
    for _ in range(n_iter):
        incline = theta[0] * x + theta[1] * b + theta[2]
        plateau = theta[3] * b + theta[4]
        on_incline = (incline >= plateau) & (incline < 0.0)
        on_plateau = (plateau > incline) & (plateau < 0.0)
        new = theta.copy()
        if on_incline.sum() >= 3:
            cols = [x[on_incline], np.ones(on_incline.sum())]
            if not one_board:
                cols.insert(1, b[on_incline])
            coef, *_ = np.linalg.lstsq(np.column_stack(cols), elo[on_incline], rcond=None)
            new[[0, 2]] = coef[[0, -1]]
            new[1] = 0.0 if one_board else coef[1]
        if on_plateau.sum() >= 2:
            if one_board or len(np.unique(b[on_plateau])) < 2:
                new[4] = elo[on_plateau].mean() - new[3] * b[on_plateau].mean()
            else:
                new[3], new[4] = np.polyfit(b[on_plateau], elo[on_plateau], 1)
        if np.allclose(new, theta):
            break
        theta = new
    return theta


def fit_jones_frontier(
    frontier_df: pd.DataFrame,
    *,
    n_starts: int = 12,
    seed: int = 0,
    initial: FrontierFit | None = None,
    weighted: bool = True,
    min_se_elo: float = 10.0,
) -> FrontierFit:
    """Least-squares fit of the Jones (2021) changepoint frontier model, jointly over boards.

    Elo = min(0, max(m·log10 C + m_b·b + c, p_b·b + p_c)). The loss is piecewise quadratic, so
    the fit is multi-start: a data-driven start refined by segmented regression plus
    `n_starts` random perturbations of it, each polished by scipy `least_squares`; the lowest
    cost wins; `initial` (e.g. the full-data fit, when bootstrapping) is one more start. With
    a single board m_b and p_b are not identifiable and are fixed at 0.

    `frontier_df` has columns boardsize, log10_train_flops, elo (e.g. `frontier_from_runs`) and
    optionally elo_se: with `weighted` (default) residuals are divided by max(elo_se,
    `min_se_elo`) (weighted least squares); Jones's published frontier has no se and is fitted
    unweighted. `status` reports convergence, RMS (unweighted, Elo) and n.
    """
    d = frontier_df.dropna(subset=["log10_train_flops", "elo"])
    x = d["log10_train_flops"].to_numpy(float)
    b = d["boardsize"].to_numpy(float)
    elo = d["elo"].to_numpy(float)
    if len(elo) < 5:
        raise ValueError(f"need at least 5 frontier points, got {len(elo)}")
    one_board = len(np.unique(b)) < 2
    free = np.array([0, 2, 4]) if one_board else np.arange(5)
    use_se = weighted and "elo_se" in d.columns and np.isfinite(d["elo_se"].to_numpy(float)).any()
    if use_se:
        se = d["elo_se"].to_numpy(float)
        w = 1.0 / np.maximum(np.where(np.isfinite(se), se, min_se_elo), min_se_elo)
    else:
        w = np.ones_like(elo)

    def residuals(free_theta: np.ndarray) -> np.ndarray:
        theta = np.zeros(5)
        theta[free] = free_theta
        return (_model(theta, x, b) - elo) * w

    rng = np.random.default_rng(seed)
    base = _alternate(_segmented_init(x, b, elo), x, b, elo)
    scale = np.maximum(np.abs(base), [50.0, 50.0, 500.0, 50.0, 100.0])
    starts = [base] + [base + rng.normal(0.0, 0.3, 5) * scale for _ in range(n_starts)]
    if initial is not None:
        starts.insert(0, np.array([getattr(initial, k) for k in PARAM_NAMES]))
    best = None
    for start in starts:
        start = _alternate(start, x, b, elo)
        sol = least_squares(residuals, start[free], method="trf", x_scale=scale[free])
        if best is None or sol.cost < best.cost:
            best = sol
    theta = np.zeros(5)
    theta[free] = best.x
    names = [PARAM_NAMES[k] for k in free]
    status = fit_status(best, names, _model(theta, x, b) - elo, weighted=use_se)
    return FrontierFit(
        *map(float, theta),
        rms_elo=status.rms,
        n_points=len(elo),
        board_sizes=tuple(int(k) for k in np.unique(b)),
        status=status,
    )


def per_board_fits(frontier_df: pd.DataFrame, within: float = 50.0) -> pd.DataFrame:
    """Each board's frontier fitted on its own (Elo = min(0, max(m·log10 C + c, plateau))), to
    compare boards like for like with another study's per-board curves. Per board: the slope
    `m` (Elo/decade), `plateau`, log10 C where the fitted incline reaches −`within` Elo
    (`log10_flops_within_fit`), the first frontier point at or above −`within`
    (`log10_flops_within_seen`, NaN if none), the best frontier Elo, RMS and convergence.
    Elo is relative to perfect play (0)."""
    rows = []
    for board, g in frontier_df.groupby("boardsize"):
        fit = fit_jones_frontier(g)
        reached = g.loc[g["elo"] >= -within, "log10_train_flops"]
        rows.append(
            {
                "boardsize": int(board),
                "m": fit.m,
                "plateau": fit.p_c,
                "log10_flops_within_fit": (-within - fit.c) / fit.m,
                "log10_flops_within_seen": float(reached.min()) if len(reached) else np.nan,
                "best_elo": float(g["elo"].max()),
                "rms_elo": fit.rms_elo,
                "converged": fit.status.converged,
            }
        )
    return pd.DataFrame(rows)


def bootstrap_frontier_fit(
    frontier_df: pd.DataFrame,
    *,
    n_resamples: int = 200,
    seed: int = 0,
    by: str = "points",
    ci_level: float = 0.95,
) -> BootstrapResult:
    """Bootstrap the Jones frontier parameters (and RMS, perfect-play growth per board).

    `by="points"` resamples frontier points within each board; `by="boards"` resamples whole
    boards (coarse: only a handful exist, and draws with a single board are dropped).
    """

    def stat(d: pd.DataFrame) -> dict[str, float]:
        if by == "boards" and d["boardsize"].nunique() < 2:
            raise ValueError("a single board cannot identify m_b and p_b")
        f = fit_jones_frontier(d, n_starts=2, seed=seed, initial=full)
        if not f.status.converged:
            raise RuntimeError(f"frontier refit did not converge: {f.status.message}")
        return {
            **f.params(),
            "rms_elo": f.rms_elo,
            "perfect_play_flops_ratio_per_board": 10 ** (-f.m_b / f.m),
        }

    full = fit_jones_frontier(frontier_df, seed=seed)
    estimates = {
        **full.params(),
        "rms_elo": full.rms_elo,
        "perfect_play_flops_ratio_per_board": 10 ** (-full.m_b / full.m),
    }
    kwargs = {"strata": "boardsize"} if by == "points" else {"cluster": "boardsize"}
    return bootstrap(
        frontier_df,
        stat,
        n_resamples=n_resamples,
        seed=seed,
        ci_level=ci_level,
        estimates=estimates,
        **kwargs,
    )


def predict_held_out_board(
    frontier_df: pd.DataFrame,
    boardsize: int,
    *,
    train_boards: tuple[int, ...] | None = None,
    n_resamples: int = 100,
    seed: int = 0,
    by: str = "points",
    ci_level: float = 0.9,
) -> HeldOutPrediction:
    """Predict one board's frontier from a fit to other (by default, all smaller) boards.

    Jones (2021) extrapolates the frontier to larger boards; this makes that a test. The band
    is the percentile interval of predictions from bootstrap refits (`by` as in
    `bootstrap_frontier_fit`).
    """
    if train_boards is None:
        train_boards = tuple(sorted(k for k in frontier_df["boardsize"].unique() if k < boardsize))
    train = frontier_df[frontier_df["boardsize"].isin(train_boards)]
    target = frontier_df[frontier_df["boardsize"] == boardsize].sort_values("log10_train_flops")
    x = target["log10_train_flops"].to_numpy(float)
    obs = target["elo"].to_numpy(float)
    fit = fit_jones_frontier(train, seed=seed)
    pred = predict(fit, boardsize, x)

    def stat(d: pd.DataFrame) -> dict[str, float]:
        if by == "boards" and d["boardsize"].nunique() < 2:
            raise ValueError("a single board cannot identify m_b and p_b")
        refit = fit_jones_frontier(d, n_starts=2, seed=seed, initial=fit)
        if not refit.status.converged:
            raise RuntimeError(f"frontier refit did not converge: {refit.status.message}")
        p = predict(refit, boardsize, x)
        return {str(i): v for i, v in enumerate(p)}

    kwargs = {"strata": "boardsize"} if by == "points" else {"cluster": "boardsize"}
    boot = bootstrap(
        train,
        stat,
        n_resamples=n_resamples,
        seed=seed,
        ci_level=ci_level,
        estimates={str(i): v for i, v in enumerate(pred)},
        **kwargs,
    )
    table = boot.table()
    lo, hi = table["lo"].to_numpy(), table["hi"].to_numpy()
    return HeldOutPrediction(
        boardsize=int(boardsize),
        train_boards=tuple(int(k) for k in train_boards),
        log10_train_flops=x,
        elo_observed=obs,
        elo_predicted=pred,
        elo_lo=lo,
        elo_hi=hi,
        rms_elo=float(np.sqrt(np.mean((obs - pred) ** 2))),
        fraction_inside=float(np.mean((obs >= lo) & (obs <= hi))),
        fit=fit,
    )


@hydra_main
def main(cfg: DictConfig) -> None:
    """Fit the frontier CSV `figures.frontier_csv` and print the parameters as JSON."""
    job = load(cfg)
    path = job.figures.frontier_csv
    if path is None or not Path(path).exists():
        print(f"error: figures.frontier_csv={path} is not a file", file=sys.stderr)
        sys.exit(2)
    fit = fit_jones_frontier(pd.read_csv(path))
    out = asdict(fit)
    out["board_sizes"] = list(fit.board_sizes)
    out["perfect_play_flops_ratio_per_board"] = 10 ** (-fit.m_b / fit.m)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    register_configs()
    main()
