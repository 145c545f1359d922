"""Epoch (2023) S-curve model of Elo in train compute and MCTS nodes, and scaling policies.

Villalobos & Atkinson (Epoch AI 2023), "Trading off compute in training and inference":

    Elo = E + σ_C(log10 TC) + σ_M(log10 M)

each σ a smoothly broken power law. The report's printed formula misplaces a bracket; the
consistent form used here is

    σ(x) = a·[(x0 − x1) + d·softplus((x − x0)/d) − d·softplus((x − x1)/d)]

with lower plateau −a·(x1 − x0), slope a (Elo per decade) between x0 and x1, upper plateau 0.

One smoothness d for both breaks, because only then is σ monotone for every admissible
parameter. With separate d0, d1 the derivative is σ'(x) = a·[s((x − x0)/d0) − s((x − x1)/d1)],
s the logistic function. Since s is strictly increasing, σ'(x) ≥ 0 for all x iff
(x − x0)/d0 ≥ (x − x1)/d1 for all x; the difference is linear in x with slope 1/d0 − 1/d1, and
a linear function bounded below on the whole line is constant, so d0 = d1 (and then x0 ≤ x1).
With d0 < d1, σ falls below its lower plateau on the left before rising (the dip is visible
when d0 ≪ d1); with d0 > d1 it overshoots its upper plateau on the right and comes back down:
either way the fitted model would lose Elo with more compute. With a > 0, d > 0, x0 < x1,
σ' = a·[s((x − x0)/d) − s((x − x1)/d)] > 0 everywhere.
The inference compute of an agent is IC = M × forward FLOPs of its network; along a scaling
policy the network is a function of TC, summarised as log10 forward FLOPs = α + β·log10 TC.

At a fixed node count ("Chinchilla-style" in Epoch's Figure 13) the network size varies freely,
and an additive σ(log TC) + σ(log IC) cannot express that a large network is undertrained at
small TC. There (`test_axis="flops"`) the model is the Chinchilla form (Hoffmann et al. 2022)
in S-curves: Elo = E + σ_train(log10 TC − log10 IC) + σ_test(log10 IC), i.e. σ of training
samples (TC/IC ∝ TC/params) plus σ of network size — our choice, Epoch gives no formula.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import pandas as pd
from scipy.optimize import least_squares
from scipy.special import expit

from analysis.fits.bootstrap import BootstrapResult, FitStatus, bootstrap, fit_status
from pipeline.infra.tables import PERFECT_ANCHOR

__all__ = [
    "POLICIES",
    "SCurveFit",
    "SCurveParams",
    "Sigma",
    "elo_on_plane",
    "fit_policy",
    "bootstrap_scurve",
    "cluster_column",
    "elo_ceiling",
    "elo_weights",
    "fit_scurve",
    "log10_test_variable",
    "model_variables",
    "predict_elo",
    "refit",
    "select_policy",
    "sigma",
    "sigma_slope",
]

POLICIES = ("frontier", "fixed_arch", "fixed_nodes")


@dataclass(frozen=True)
class Sigma:
    """One smoothly broken power law σ(x) (Epoch 2023, bracket-corrected)."""

    a: float  # slope between the breaks, Elo per decade
    x0: float  # lower break, log10 units
    x1: float  # upper break, log10 units; x1 > x0
    d: float  # smoothness of both breaks, decades (one d keeps σ monotone, module docstring)


@dataclass(frozen=True)
class SCurveParams:
    """Elo = E + σ_train(log10 TC) + σ_test(log10 M) (Epoch 2023)."""

    E: float  # Elo with both σ at their upper plateau
    train: Sigma
    test: Sigma

    def as_dict(self) -> dict[str, float]:
        """Flat {name: value}: E, a_train, x0_train, x1_train, d_train, a_test, ..., d_test."""
        out = {"E": self.E}
        for part in ("train", "test"):
            for f in fields(Sigma):
                out[f"{f.name}_{part}"] = getattr(getattr(self, part), f.name)
        return out

    @classmethod
    def from_dict(cls, d: dict[str, float]) -> SCurveParams:
        """Inverse of `as_dict`."""
        parts = {
            part: Sigma(**{f.name: float(d[f"{f.name}_{part}"]) for f in fields(Sigma)})
            for part in ("train", "test")
        }
        return cls(E=float(d["E"]), **parts)


@dataclass(frozen=True)
class SCurveFit:
    """A fitted S-curve model together with the policy's map from TC to inference compute."""

    params: SCurveParams
    rms_elo: float  # residual RMS over the fitted agents
    n_agents: int
    policy: str  # "frontier", "fixed_arch", "fixed_nodes" or "custom"
    convention: str  # FLOP convention of TC and IC: "jones" or "standard"
    test_axis: str  # "nodes": σ_test of log10 M; "flops": σ_test of log10 IC (fixed M)
    log10_fwd_flops_intercept: float  # α in log10 forward FLOPs per node = α + β·log10 TC
    log10_fwd_flops_slope: float  # β
    log10_test_min: float  # smallest feasible test variable: 0 (one node) or smallest IC
    log10_train_range: tuple[float, float]  # range of the fitted agents' log10 TC
    log10_test_range: tuple[float, float]  # range of the fitted agents' test variable
    status: FitStatus | None = None  # converged, parameters at bounds, RMS, n, weighting
    elo_ceiling: float | None = None  # upper bound on E (`elo_ceiling`), None: unbounded


def sigma(x, a: float, x0: float, x1: float, d: float) -> np.ndarray:
    """Bracket-corrected smoothly broken power law of Epoch (2023) with one smoothness d,
    monotone non-decreasing for a ≥ 0, d > 0, x0 ≤ x1; see module docstring."""
    x = np.asarray(x, dtype=float)
    sp0 = np.logaddexp(0.0, (x - x0) / d)
    sp1 = np.logaddexp(0.0, (x - x1) / d)
    return a * ((x0 - x1) + d * (sp0 - sp1))


def sigma_slope(x, a: float, x0: float, x1: float, d: float) -> np.ndarray:
    """dσ/dx = a·[s((x − x0)/d) − s((x − x1)/d)], s the logistic function (Elo per decade)."""
    x = np.asarray(x, dtype=float)
    return a * (expit((x - x0) / d) - expit((x - x1) / d))


def predict_elo(params: SCurveParams, log10_train_flops, log10_test) -> np.ndarray:
    """Elo = E + σ_train(log10 TC) + σ_test(log10 M or log10 IC) (Epoch 2023); broadcasts."""
    t, s = params.train, params.test
    return (
        params.E
        + sigma(log10_train_flops, t.a, t.x0, t.x1, t.d)
        + sigma(log10_test, s.a, s.x0, s.x1, s.d)
    )


def elo_on_plane(fit: SCurveFit, log10_train_flops, log10_inference_flops) -> np.ndarray:
    """Model Elo at (log10 TC, log10 IC) along the fit's policy; NaN where infeasible.

    For `test_axis="nodes"`, log10 M = log10 IC − (α + β·log10 TC), infeasible below one node
    (Epoch 2023, Fig. 4). For `test_axis="flops"` the test variable is log10 IC itself,
    infeasible below the smallest network's IC.
    """
    t, i = np.broadcast_arrays(
        np.asarray(log10_train_flops, float), np.asarray(log10_inference_flops, float)
    )
    if fit.test_axis == "nodes":
        test = i - (fit.log10_fwd_flops_intercept + fit.log10_fwd_flops_slope * t)
    else:
        test = i
    elo = predict_elo(fit.params, *model_variables(fit.test_axis, t, test))
    return np.where(test >= fit.log10_test_min - 1e-12, elo, np.nan)


def model_variables(test_axis: str, log10_train_flops, log10_test) -> tuple:
    """The two σ arguments: (log10 TC, log10 M) for "nodes"; (log10 TC − log10 IC, log10 IC)
    for "flops" (Chinchilla form, see module docstring)."""
    t = np.asarray(log10_train_flops, float)
    test = np.asarray(log10_test, float)
    if test_axis == "nodes":
        return t, test
    return t - test, test


def log10_test_variable(df: pd.DataFrame, test_axis: str, convention: str = "jones") -> np.ndarray:
    """log10 M (`test_axis="nodes"`) or log10 IC per move (`"flops"`) of each agent."""
    if test_axis == "nodes":
        return np.log10(df["test_nodes"].to_numpy(float))
    if test_axis == "flops":
        return np.log10(df[f"test_flops_{convention}"].to_numpy(float))
    raise ValueError(f"test_axis must be 'nodes' or 'flops', got {test_axis!r}")


def _sigma_gradient(x: np.ndarray, a: float, x0: float, width: float, d: float) -> np.ndarray:
    """[4, N] derivatives of σ(x; a, x0, x1 = x0 + width, d) in the fitted parameters
    (a, x0, width, d): with u_k = (x − x_k)/d, s the logistic function,
    ∂a = σ/a, ∂x0 = a·[s(u1) − s(u0)], ∂width = a·[s(u1) − 1],
    ∂d = a·[(sp(u0) − u0·s(u0)) − (sp(u1) − u1·s(u1))]."""
    u0 = (x - x0) / d
    u1 = (x - x0 - width) / d
    sp0, sp1 = np.logaddexp(0.0, u0), np.logaddexp(0.0, u1)
    s0, s1 = expit(u0), expit(u1)
    return np.stack(
        [
            -width + d * (sp0 - sp1),
            a * (s1 - s0),
            a * (s1 - 1.0),
            a * ((sp0 - u0 * s0) - (sp1 - u1 * s1)),
        ]
    )


# Fitted parameters: x1 = x0 + width keeps x0 < x1 under box bounds.
_NAMES = (
    "E",
    "a_train",
    "x0_train",
    "width_train",
    "d_train",
    "a_test",
    "x0_test",
    "width_test",
    "d_test",
)


def _unpack(theta: np.ndarray) -> SCurveParams:
    e, a_c, x0_c, w_c, d_c, a_m, x0_m, w_m, d_m = theta
    return SCurveParams(
        E=float(e),
        train=Sigma(float(a_c), float(x0_c), float(x0_c + w_c), float(d_c)),
        test=Sigma(float(a_m), float(x0_m), float(x0_m + w_m), float(d_m)),
    )


def elo_ceiling(df: pd.DataFrame) -> float | None:
    """0 when every agent's Elo is relative to perfect play (`anchor` "perfect=0"), else None.

    E is the Elo with unlimited training and search, both σ on their upper plateau; no player
    beats perfect play, so on such a table E ≤ 0. Where the agents stop short of the upper
    plateau (CPU-scale runs) E is otherwise unidentified: E and the upper breaks run off
    together along a valley of equal cost and the fit never converges."""
    if "anchor" in df.columns and df["anchor"].eq(PERFECT_ANCHOR).all():
        return 0.0
    return None


def _bounds(
    t: np.ndarray, m: np.ndarray, elo: np.ndarray, ceiling: float | None
) -> tuple[np.ndarray, np.ndarray]:
    span_t = max(np.ptp(t), 0.5)
    span_m = max(np.ptp(m), 0.5)
    elo_span = max(np.ptp(elo), 100.0)
    top = elo.max() + 1000.0 if ceiling is None else ceiling
    lo = [min(elo.min(), top) - 1000.0, 1.0, t.min() - span_t, 0.05, 0.02]
    lo += [1.0, m.min() - span_m, 0.05, 0.02]
    hi = [top, 20.0 * elo_span, t.max() + span_t, 4.0 * span_t, 2.0]
    hi += [20.0 * elo_span, m.max() + span_m, 4.0 * span_m, 2.0]
    return np.array(lo, float), np.array(hi, float)


MIN_ELO_SE = 10.0  # Elo; floor of the weights' standard errors (the anchor's se is 0)


def elo_weights(df: pd.DataFrame, min_se_elo: float = MIN_ELO_SE) -> np.ndarray | None:
    """1/se per agent for weighted least squares, se floored at `min_se_elo` (the anchor agent
    has se 0 by construction, and no rating is known better than the model fits it); missing
    se → the floor. None when `df` has no finite ``elo_se``."""
    if "elo_se" not in df.columns:
        return None
    se = df["elo_se"].to_numpy(float)
    if not np.isfinite(se).any():
        return None
    se = np.where(np.isfinite(se), se, min_se_elo)
    return 1.0 / np.maximum(se, min_se_elo)


def fit_scurve(
    df: pd.DataFrame,
    *,
    convention: str = "jones",
    test_axis: str = "nodes",
    policy: str = "custom",
    n_starts: int = 8,
    seed: int = 0,
    initial: SCurveParams | None = None,
    weighted: bool = True,
    min_se_elo: float = MIN_ELO_SE,
    cap_at_perfect: bool = True,
) -> SCurveFit:
    """Bounded multi-start least-squares fit of the Epoch (2023) S-curve model to agents.

    Elo = E + σ_C(log10 TC) + σ_M(log10 M) with a, d > 0 and x0 < x1 (x1 = x0 + width,
    width > 0), via scipy `least_squares` (trf) from a data-driven start plus `n_starts − 1`
    random starts inside the bounds (plus `initial`, e.g. the full-data fit when
    bootstrapping); the lowest cost wins. With `weighted` (default) residuals are divided by
    each agent's Elo standard error (`elo_weights`): weighted least squares. `df` rows are
    agents in the Elo table schema (train_flops_<convention>, test_nodes,
    test_flops_<convention>, elo, elo_se). Also records α, β of log10 forward FLOPs per node
    = α + β·log10 TC over the fitted agents, which maps the fit onto the (TC, IC) plane.
    `status` reports convergence of the winning start, parameters at bounds, RMS and n.
    With `cap_at_perfect` (default; our addition, Epoch's fit leaves E free) E ≤
    `elo_ceiling(df)`: no agent exceeds perfect play on a table anchored at it.
    """
    n_params = len(_NAMES)
    if len(df) < n_params + 1:
        raise ValueError(
            f"need at least {n_params + 1} agents to fit {n_params} parameters, got {len(df)}"
        )
    log10_tc = np.log10(df[f"train_flops_{convention}"].to_numpy(float))
    log10_test = log10_test_variable(df, test_axis, convention)
    t, m = model_variables(test_axis, log10_tc, log10_test)
    elo = df["elo"].to_numpy(float)
    ceiling = elo_ceiling(df) if cap_at_perfect else None
    lo, hi = _bounds(t, m, elo, ceiling)
    weights = elo_weights(df, min_se_elo) if weighted else None
    w = np.ones_like(elo) if weights is None else weights

    def residuals(theta: np.ndarray) -> np.ndarray:
        return (predict_elo(_unpack(theta), t, m) - elo) * w

    def jacobian(theta: np.ndarray) -> np.ndarray:
        return np.column_stack(
            [w, *(_sigma_gradient(t, *theta[1:5]) * w), *(_sigma_gradient(m, *theta[5:9]) * w)]
        )

    elo_range = max(np.ptp(elo), 100.0)
    guess = np.array(
        [
            elo.max(),
            elo_range / max(np.ptp(t), 0.5) / 2.0,
            np.quantile(t, 0.1),
            max(np.quantile(t, 0.9) - np.quantile(t, 0.1), 0.1),
            0.3,
            elo_range / max(np.ptp(m), 0.5) / 2.0,
            np.quantile(m, 0.1),
            max(np.quantile(m, 0.9) - np.quantile(m, 0.1), 0.1),
            0.3,
        ]
    )
    rng = np.random.default_rng(seed)
    starts = [np.clip(guess, lo + 1e-6, hi - 1e-6)]
    for _ in range(max(n_starts - 1, 0)):
        jitter = guess * np.exp(rng.normal(0.0, 0.5, guess.size))
        jitter[[0, 2, 6]] = guess[[0, 2, 6]] + rng.normal(0.0, 1.0, 3) * [200.0, 1.0, 1.0]
        starts.append(np.clip(jitter, lo + 1e-6, hi - 1e-6))
    if initial is not None:
        p = initial.as_dict()
        theta = [p["E"]]
        for part in ("train", "test"):
            x0 = p[f"x0_{part}"]
            theta += [p[f"a_{part}"], x0, p[f"x1_{part}"] - x0, p[f"d_{part}"]]
        starts.insert(0, np.clip(np.array(theta), lo + 1e-6, hi - 1e-6))
    best = None
    for start in starts:
        sol = least_squares(
            residuals, start, jac=jacobian, bounds=(lo, hi), method="trf", x_scale="jac"
        )
        if best is None or sol.cost < best.cost:
            best = sol
    params = _unpack(best.x)
    resid_elo = predict_elo(params, t, m) - elo
    status = fit_status(best, _NAMES, resid_elo, weighted=weights is not None, bounds=(lo, hi))
    fwd = np.log10(df[f"test_flops_{convention}"].to_numpy(float)) - np.log10(
        df["test_nodes"].to_numpy(float)
    )
    if np.ptp(log10_tc) > 0 and np.ptp(fwd) > 0:
        slope, intercept = np.polyfit(log10_tc, fwd, 1)
    else:
        slope, intercept = 0.0, float(np.mean(fwd))
    return SCurveFit(
        params=params,
        rms_elo=status.rms,
        n_agents=len(df),
        policy=policy,
        convention=convention,
        test_axis=test_axis,
        log10_fwd_flops_intercept=float(intercept),
        log10_fwd_flops_slope=float(slope),
        log10_test_min=0.0 if test_axis == "nodes" else float(log10_test.min()),
        log10_train_range=(float(log10_tc.min()), float(log10_tc.max())),
        log10_test_range=(float(log10_test.min()), float(log10_test.max())),
        status=status,
        elo_ceiling=ceiling,
    )


def select_policy(
    df: pd.DataFrame,
    policy: str = "frontier",
    nodes: int = 64,
    *,
    board_size: int | None = None,
    width: int | None = None,
    depth: int | None = None,
    convention: str = "jones",
) -> pd.DataFrame:
    """Agents of one scaling policy on one board (default: the largest board in `df`).

    - ``"frontier"`` *[default]*: the compute-efficient frontier at `nodes` — snapshots whose
      `nodes`-node agent beats every agent with no more train compute (best Elo per train FLOP,
      Epoch 2023) — with all their node-count variants.
    - ``"fixed_arch"``: every snapshot and node variant of one width × depth (default: the
      architecture of the best `nodes`-node agent); Epoch's sensitivity check, and "MCTS only"
      in Figure 13.
    - ``"fixed_nodes"``: every architecture and snapshot at `nodes` nodes ("Chinchilla-style"
      in Epoch's Figure 13).
    """
    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {POLICIES}, got {policy!r}")
    board = int(df["board_size"].max()) if board_size is None else board_size
    d = df[df["board_size"] == board]
    at_nodes = d[d["test_nodes"] == nodes]
    if at_nodes.empty:
        raise ValueError(f"no {nodes}-node agents on board {board}")
    if policy == "fixed_nodes":
        return at_nodes.reset_index(drop=True)
    if policy == "fixed_arch":
        if width is None or depth is None:
            top = at_nodes.loc[at_nodes["elo"].idxmax()]
            width = int(top["width"]) if width is None else width
            depth = int(top["depth"]) if depth is None else depth
        out = d[(d["width"] == width) & (d["depth"] == depth)]
        if out.empty:
            raise ValueError(f"no agents with width {width} and depth {depth}")
        return out.reset_index(drop=True)
    tc = f"train_flops_{convention}"
    ordered = at_nodes.assign(_neg_elo=-at_nodes["elo"]).sort_values([tc, "_neg_elo"])
    best_before = ordered["elo"].cummax().shift(1, fill_value=-np.inf)
    envelope = ordered[ordered["elo"].to_numpy() > best_before.to_numpy()]
    keys = pd.MultiIndex.from_frame(envelope[["run", "snapshot"]])
    chosen = pd.MultiIndex.from_frame(d[["run", "snapshot"]]).isin(keys)
    return d[chosen].reset_index(drop=True)


def fit_policy(
    df: pd.DataFrame,
    policy: str = "frontier",
    nodes: int = 64,
    *,
    board_size: int | None = None,
    convention: str = "jones",
    n_starts: int = 8,
    seed: int = 0,
) -> SCurveFit:
    """`select_policy` then `fit_scurve`; "fixed_nodes" fits σ_test in log10 IC, not log10 M."""
    agents = select_policy(df, policy, nodes, board_size=board_size, convention=convention)
    return fit_scurve(
        agents,
        convention=convention,
        test_axis="flops" if policy == "fixed_nodes" else "nodes",
        policy=policy,
        n_starts=n_starts,
        seed=seed,
    )


def refit(fit: SCurveFit, agents: pd.DataFrame, *, n_starts: int, seed: int) -> SCurveFit:
    """`fit`'s model fitted again to `agents` (a bootstrap resample), starting from `fit`, with
    the same weighting. Raises RuntimeError when the refit does not converge, so a bootstrap
    counts it as failed."""
    out = fit_scurve(
        agents,
        convention=fit.convention,
        test_axis=fit.test_axis,
        policy=fit.policy,
        n_starts=n_starts,
        seed=seed,
        initial=fit.params,
        weighted=fit.status is None or fit.status.weighted,
        cap_at_perfect=fit.elo_ceiling is not None,
    )
    if out.status is not None and not out.status.converged:
        raise RuntimeError(f"S-curve refit did not converge: {out.status.message}")
    return out


def cluster_column(agents: pd.DataFrame, cluster: str | None = "run") -> str | None:
    """`cluster` if `agents` has that column, else None (resample agents one by one)."""
    return cluster if cluster is not None and cluster in agents.columns else None


def bootstrap_scurve(
    agents: pd.DataFrame,
    fit: SCurveFit,
    *,
    n_resamples: int = 200,
    seed: int = 0,
    n_starts: int = 2,
    ci_level: float = 0.95,
    cluster: str | None = "run",
) -> BootstrapResult:
    """Bootstrap of every S-curve parameter and the residual RMS of `fit`.

    Resamples whole runs by default (`cluster="run"`: all agents of a run, its snapshots and
    node variants, are drawn together, since they share a network and a training history);
    `cluster=None` resamples agents. Each resample of `agents` (the rows `fit` was fitted to) is
    refitted from `fit` plus `n_starts − 1` random starts; refits that raise or do not converge
    count as failed (`BootstrapResult.n_failed`).
    """

    def stat(d: pd.DataFrame) -> dict[str, float]:
        f = refit(fit, d, n_starts=n_starts, seed=seed)
        return {**f.params.as_dict(), "rms_elo": f.rms_elo}

    return bootstrap(
        agents,
        stat,
        n_resamples=n_resamples,
        seed=seed,
        ci_level=ci_level,
        cluster=cluster_column(agents, cluster),
        estimates={**fit.params.as_dict(), "rms_elo": fit.rms_elo},
    )
