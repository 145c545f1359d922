"""Epoch (2023) S-curve model of Elo in train compute and MCTS nodes, and scaling policies.

Villalobos & Atkinson (Epoch AI 2023), "Trading off compute in training and inference":

    Elo = E + σ_C(log10 TC) + σ_M(log10 M)

each σ a smoothly broken power law. The report's printed formula misplaces a bracket; the
consistent form used here is

    σ(x) = a·[(x0 − x1) + d0·softplus((x − x0)/d0) − d1·softplus((x − x1)/d1)]

with lower plateau −a·(x1 − x0), slope a (Elo per decade) between x0 and x1, upper plateau 0.
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

from analysis.bootstrap import BootstrapResult, bootstrap

__all__ = [
    "POLICIES",
    "SCurveFit",
    "SCurveParams",
    "Sigma",
    "elo_on_plane",
    "fit_policy",
    "bootstrap_scurve",
    "fit_scurve",
    "log10_test_variable",
    "model_variables",
    "predict_elo",
    "select_policy",
    "sigma",
]

POLICIES = ("frontier", "fixed_arch", "fixed_nodes")


@dataclass(frozen=True)
class Sigma:
    """One smoothly broken power law σ(x) (Epoch 2023, bracket-corrected)."""

    a: float  # slope between the breaks, Elo per decade
    x0: float  # lower break, log10 units
    x1: float  # upper break, log10 units; x1 > x0
    d0: float  # smoothness of the lower break, decades
    d1: float  # smoothness of the upper break, decades


@dataclass(frozen=True)
class SCurveParams:
    """Elo = E + σ_train(log10 TC) + σ_test(log10 M) (Epoch 2023)."""

    E: float  # Elo with both σ at their upper plateau
    train: Sigma
    test: Sigma

    def as_dict(self) -> dict[str, float]:
        """Flat {name: value}: E, a_train, x0_train, ..., d1_test."""
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


def sigma(x, a: float, x0: float, x1: float, d0: float, d1: float) -> np.ndarray:
    """Bracket-corrected smoothly broken power law of Epoch (2023); see module docstring."""
    x = np.asarray(x, dtype=float)
    sp0 = np.logaddexp(0.0, (x - x0) / d0)
    sp1 = np.logaddexp(0.0, (x - x1) / d1)
    return a * ((x0 - x1) + d0 * sp0 - d1 * sp1)


def predict_elo(params: SCurveParams, log10_train_flops, log10_test) -> np.ndarray:
    """Elo = E + σ_train(log10 TC) + σ_test(log10 M or log10 IC) (Epoch 2023); broadcasts."""
    t, s = params.train, params.test
    return (
        params.E
        + sigma(log10_train_flops, t.a, t.x0, t.x1, t.d0, t.d1)
        + sigma(log10_test, s.a, s.x0, s.x1, s.d0, s.d1)
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


_NAMES = ("E", "a_c", "x0_c", "w_c", "d0_c", "d1_c", "a_m", "x0_m", "w_m", "d0_m", "d1_m")


def _unpack(theta: np.ndarray) -> SCurveParams:
    e, a_c, x0_c, w_c, d0_c, d1_c, a_m, x0_m, w_m, d0_m, d1_m = theta
    return SCurveParams(
        E=float(e),
        train=Sigma(float(a_c), float(x0_c), float(x0_c + w_c), float(d0_c), float(d1_c)),
        test=Sigma(float(a_m), float(x0_m), float(x0_m + w_m), float(d0_m), float(d1_m)),
    )


def _bounds(t: np.ndarray, m: np.ndarray, elo: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    span_t = max(np.ptp(t), 0.5)
    span_m = max(np.ptp(m), 0.5)
    elo_span = max(np.ptp(elo), 100.0)
    lo = [
        elo.min() - 1000.0,
        1.0,
        t.min() - span_t,
        0.05,
        0.02,
        0.02,
        1.0,
        m.min() - span_m,
        0.05,
        0.02,
        0.02,
    ]
    hi = [
        elo.max() + 1000.0,
        20.0 * elo_span,
        t.max() + span_t,
        4.0 * span_t,
        2.0,
        2.0,
        20.0 * elo_span,
        m.max() + span_m,
        4.0 * span_m,
        2.0,
        2.0,
    ]
    return np.array(lo, float), np.array(hi, float)


def fit_scurve(
    df: pd.DataFrame,
    *,
    convention: str = "jones",
    test_axis: str = "nodes",
    policy: str = "custom",
    n_starts: int = 8,
    seed: int = 0,
    initial: SCurveParams | None = None,
) -> SCurveFit:
    """Bounded multi-start least-squares fit of the Epoch (2023) S-curve model to agents.

    Elo = E + σ_C(log10 TC) + σ_M(log10 M) with a, d0, d1 > 0 and x0 < x1 (x1 = x0 + width,
    width > 0), via scipy `least_squares` (trf) from a data-driven start plus `n_starts − 1`
    random starts inside the bounds (plus `initial`, e.g. the full-data fit when
    bootstrapping); the lowest cost wins. `df` rows are agents in the Elo table
    schema (train_flops_<convention>, test_nodes, test_flops_<convention>, elo). Also records
    α, β of log10 forward FLOPs per node = α + β·log10 TC over the fitted agents, which maps the
    fit onto the (TC, IC) plane.
    """
    if len(df) < 12:
        raise ValueError(f"need at least 12 agents to fit 11 parameters, got {len(df)}")
    log10_tc = np.log10(df[f"train_flops_{convention}"].to_numpy(float))
    log10_test = log10_test_variable(df, test_axis, convention)
    t, m = model_variables(test_axis, log10_tc, log10_test)
    elo = df["elo"].to_numpy(float)
    lo, hi = _bounds(t, m, elo)

    def residuals(theta: np.ndarray) -> np.ndarray:
        return predict_elo(_unpack(theta), t, m) - elo

    guess = np.array(
        [
            elo.max(),
            max(np.ptp(elo), 100.0) / max(np.ptp(t), 0.5) / 2.0,
            np.quantile(t, 0.1),
            max(np.quantile(t, 0.9) - np.quantile(t, 0.1), 0.1),
            0.3,
            0.3,
            max(np.ptp(elo), 100.0) / max(np.ptp(m), 0.5) / 2.0,
            np.quantile(m, 0.1),
            max(np.quantile(m, 0.9) - np.quantile(m, 0.1), 0.1),
            0.3,
            0.3,
        ]
    )
    rng = np.random.default_rng(seed)
    starts = [np.clip(guess, lo + 1e-6, hi - 1e-6)]
    for _ in range(max(n_starts - 1, 0)):
        jitter = guess * np.exp(rng.normal(0.0, 0.5, guess.size))
        jitter[[0, 2, 7]] = guess[[0, 2, 7]] + rng.normal(0.0, 1.0, 3) * [200.0, 1.0, 1.0]
        starts.append(np.clip(jitter, lo + 1e-6, hi - 1e-6))
    if initial is not None:
        p = initial.as_dict()
        theta = [p["E"]]
        for part in ("train", "test"):
            x0 = p[f"x0_{part}"]
            theta += [p[f"a_{part}"], x0, p[f"x1_{part}"] - x0, p[f"d0_{part}"], p[f"d1_{part}"]]
        starts.insert(0, np.clip(np.array(theta), lo + 1e-6, hi - 1e-6))
    best = None
    for start in starts:
        sol = least_squares(residuals, start, bounds=(lo, hi), method="trf", x_scale="jac")
        if best is None or sol.cost < best.cost:
            best = sol
    fwd = np.log10(df[f"test_flops_{convention}"].to_numpy(float)) - np.log10(
        df["test_nodes"].to_numpy(float)
    )
    if np.ptp(log10_tc) > 0 and np.ptp(fwd) > 0:
        slope, intercept = np.polyfit(log10_tc, fwd, 1)
    else:
        slope, intercept = 0.0, float(np.mean(fwd))
    return SCurveFit(
        params=_unpack(best.x),
        rms_elo=float(np.sqrt(np.mean(best.fun**2))),
        n_agents=len(df),
        policy=policy,
        convention=convention,
        test_axis=test_axis,
        log10_fwd_flops_intercept=float(intercept),
        log10_fwd_flops_slope=float(slope),
        log10_test_min=0.0 if test_axis == "nodes" else float(log10_test.min()),
        log10_train_range=(float(log10_tc.min()), float(log10_tc.max())),
        log10_test_range=(float(log10_test.min()), float(log10_test.max())),
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
    """`fit`'s model fitted again to `agents` (a bootstrap resample), starting from `fit`."""
    return fit_scurve(
        agents,
        convention=fit.convention,
        test_axis=fit.test_axis,
        policy=fit.policy,
        n_starts=n_starts,
        seed=seed,
        initial=fit.params,
    )


def bootstrap_scurve(
    agents: pd.DataFrame,
    fit: SCurveFit,
    *,
    n_resamples: int = 200,
    seed: int = 0,
    n_starts: int = 2,
    ci_level: float = 0.95,
) -> BootstrapResult:
    """Bootstrap over agents of every S-curve parameter and the residual RMS of `fit`.

    Each resample of `agents` (the policy's rows that `fit` was fitted to) is refitted from
    `fit` plus `n_starts − 1` random starts.
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
        estimates={**fit.params.as_dict(), "rms_elo": fit.rms_elo},
    )
