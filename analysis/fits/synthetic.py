"""Synthetic Elo tables in the evaluation stage's schema, for tests and dry runs of the analysis.

Three generators share one grid of agents (runs = width × depth networks, snapshots at
log-spaced train-compute savepoints up to the sample cap, each evaluated at several node
counts; compute follows hex_experiments.md §4) and differ in the mean Elo of an agent:

- `make_elo_table`: the Epoch (2023) S-curve model itself,
  E + σ_train(log10 TC) + σ_test(log10 M) − k·(log10 P − log10 P*(TC))², the σ_train of
  Jones's (2021) published frontier. Fitting it back checks the fitting code, not the model.
- `make_logistic_table` (`LogisticTruth`): a different family, independent of the fitted
  model — Elo deficits that are logistic in log compute, D_train = H_t·s(−(log10 TC − c_t)/w_t),
  D_test = H_m·s(−(log10 M − c_m)/w_m), combined as Elo = −(D_train^p + D_test^p)^(1/p), with
  realistic standard errors that grow with the distance from the anchor. Logistic curves have
  no linear stretch and no sharp breaks, and p ≠ 1 makes them interact, so the S-curve fits
  them only approximately; recovery tests compare model-free quantities (Elo on the data,
  efficient spans) with tolerances.
- `make_plane_table` (`PlaneTruth`): Elo linear in (log10 TC, log10 IC) up to 0 and down to a
  floor, so every iso-Elo line has the known slope d log10 IC / d log10 TC = −a_train/a_test;
  for Jones's (2021) train/test plane.

Noise: observed Elo = mean + N(0, se²), se recorded in elo_se. Elo is relative to perfect
play = 0 (anchor "synthetic truth").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import expit

from agents.network import param_count
from analysis.fits.scurve import SCurveParams, Sigma, predict_elo
from pipeline.infra import jones
from pipeline.infra.tables import ELO_TABLE_COLUMNS

__all__ = [
    "BOARD_TRAIN_FLOPS_BOUNDS",
    "ELO_TABLE_COLUMNS",
    "LogisticTruth",
    "PlaneTruth",
    "forward_flops_jones",
    "logistic_truth_for_board",
    "make_elo_table",
    "make_logistic_table",
    "make_plane_table",
    "param_count",
    "realistic_se",
    "truth_for_board",
]

BOARD_TRAIN_FLOPS_BOUNDS = jones.SAVEPOINT_FLOPS_BOUNDS

# mean_elo(board, log10 TC, log10 M, log10 P) -> Elo, broadcasting over agents
MeanElo = Callable[[int, np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def forward_flops_jones(board_size: int, width: int, depth: int) -> float:
    """Forward FLOPs per network evaluation, Jones convention (one MAC = one FLOP ≈ params)."""
    return float(param_count(board_size, width, depth))


def truth_for_board(
    board_size: int,
    *,
    test_width_decades: float = 2.4,
    test_plateau_fraction: float = 0.6,
    smoothness: float = 0.25,
) -> SCurveParams:
    """Default true S-curve for a board: σ_train from Jones's (2021) published frontier fit.

    σ_train: slope m, reaching 0 at log10 C = (−m_b·b − c)/m, lower plateau p_b·b + p_c.
    σ_test: from one node (x0 = 0) to 10^`test_width_decades` nodes, with a lower plateau of
    `test_plateau_fraction` × the train plateau (our choice; Epoch 2023 gives no per-board value).
    """
    j = jones.FRONTIER_FIT
    x1 = (-j["m_b"] * board_size - j["c"]) / j["m"]
    plateau = j["p_b"] * board_size + j["p_c"]
    x0 = x1 + plateau / j["m"]
    a_test = test_plateau_fraction * (-plateau) / test_width_decades
    return SCurveParams(
        E=0.0,
        train=Sigma(j["m"], x0, x1, smoothness),
        test=Sigma(a_test, 0.0, test_width_decades, smoothness),
    )


@dataclass(frozen=True)
class LogisticTruth:
    """Elo = −(D_train^p + D_test^p)^(1/p), each deficit logistic in log10 compute."""

    h_train: float  # train deficit at no training, Elo (> 0)
    c_train: float  # log10 TC where the train deficit is half of h_train
    w_train: float  # logistic width, decades; steepest slope h_train/(4·w_train) Elo/decade
    h_test: float  # test deficit at very few nodes, Elo
    c_test: float  # log10 M where the test deficit is half of h_test
    w_test: float  # decades
    p: float = 1.0  # 1: additive deficits; > 1: they overlap (less than additive)

    def elo(self, log10_train_flops, log10_nodes) -> np.ndarray:
        """Mean Elo (≤ 0) at (log10 TC, log10 M); broadcasts."""
        d_train = self.h_train * expit(
            -(np.asarray(log10_train_flops, float) - self.c_train) / self.w_train
        )
        d_test = self.h_test * expit(-(np.asarray(log10_nodes, float) - self.c_test) / self.w_test)
        return -((d_train**self.p + d_test**self.p) ** (1.0 / self.p))


def logistic_truth_for_board(
    board_size: int, *, test_fraction: float = 0.6, p: float = 1.0
) -> LogisticTruth:
    """A logistic truth matched to Jones's (2021) frontier on `board_size`.

    The train deficit spans his plateau |p_b·b + p_c| and is steepest (his slope m) halfway up
    his incline; the test deficit is `test_fraction` of it, centred at 16 nodes, as steep as
    `truth_for_board`'s σ_test.
    """
    j = jones.FRONTIER_FIT
    x1 = (-j["m_b"] * board_size - j["c"]) / j["m"]
    h = -(j["p_b"] * board_size + j["p_c"])
    h_test = test_fraction * h
    slope_test = h_test / 2.4  # truth_for_board: the same drop over 2.4 decades of nodes
    return LogisticTruth(
        h_train=h,
        c_train=x1 - h / (2 * j["m"]),
        w_train=h / (4 * j["m"]),
        h_test=h_test,
        c_test=np.log10(16.0),
        w_test=h_test / (4 * slope_test),
        p=p,
    )


@dataclass(frozen=True)
class PlaneTruth:
    """Elo = clip(a_train·(log10 TC − t_ref) + a_test·(log10 IC − i_ref), floor_elo, 0).

    Iso-Elo lines have slope d log10 IC / d log10 TC = −a_train/a_test, and log10 IC rises
    1/a_test decades per Elo at fixed TC (Jones 2021: 10× train ≈ 15× less test, slope ≈ −1.2).
    """

    a_train: float = 600.0  # Elo per decade of train compute
    a_test: float = 500.0  # Elo per decade of inference compute
    t_ref: float = 15.0  # log10 TC of the 0-Elo line at i_ref
    i_ref: float = 9.0  # log10 IC per move
    floor_elo: float = -2500.0

    @property
    def slope(self) -> float:
        """d log10 IC / d log10 TC along an iso-Elo line."""
        return -self.a_train / self.a_test

    def elo(self, log10_train_flops, log10_inference_flops) -> np.ndarray:
        """Mean Elo at (log10 TC, log10 IC); broadcasts."""
        x = self.a_train * (np.asarray(log10_train_flops, float) - self.t_ref) + self.a_test * (
            np.asarray(log10_inference_flops, float) - self.i_ref
        )
        return np.clip(x, self.floor_elo, 0.0)


def realistic_se(mean_elo, *, base_elo: float = 15.0, per_elo: float = 0.04) -> np.ndarray:
    """Tournament-like standard errors: `base_elo` near the anchor, growing by `per_elo` per Elo
    below it (lopsided games against the anchor's neighbourhood carry little information)."""
    return base_elo + per_elo * np.abs(np.asarray(mean_elo, float))


def _table(
    mean_elo: MeanElo,
    seed: int,
    *,
    board_sizes: Sequence[int],
    widths: Sequence[int] | None,
    depths: Sequence[int],
    n_snapshots: int,
    test_nodes: Sequence[int],
    elo_se: float | Callable[[np.ndarray], np.ndarray],
    search: str,
) -> pd.DataFrame:
    """The shared agent grid; `elo_se` a constant or a function of the mean Elo."""
    rng = np.random.default_rng(seed)
    rows = []
    for board in board_sizes:
        lo, hi = BOARD_TRAIN_FLOPS_BOUNDS[board]
        savepoints = np.logspace(np.log10(lo), np.log10(hi), n_snapshots)
        board_widths = jones.widths(board) if widths is None else widths
        for width in board_widths:
            for depth in depths:
                params = param_count(board, width, depth)
                run = f"b{board}-w{width}-d{depth}"
                for snapshot, c_jones in enumerate(savepoints):
                    samples = c_jones / (jones.TRAIN_NODES * params)
                    if samples > jones.SAMPLE_CAPS[board]:
                        break
                    nodes = np.asarray(test_nodes, float)
                    mean = np.asarray(
                        mean_elo(board, np.log10(c_jones), np.log10(nodes), np.log10(params)),
                        float,
                    ) * np.ones_like(nodes)
                    se = elo_se(mean) if callable(elo_se) else np.full_like(mean, elo_se)
                    observed = mean + rng.normal(0.0, 1.0, mean.size) * se
                    for k, n in enumerate(test_nodes):
                        rows.append(
                            {
                                "agent": f"{run}/s{snapshot:02d}/n{n}",
                                "run": run,
                                "snapshot": snapshot,
                                "board_size": board,
                                "width": width,
                                "depth": depth,
                                "search": search,
                                "test_nodes": int(n),
                                "params": params,
                                "train_flops_jones": c_jones,
                                "train_flops_standard": 2.0
                                * params
                                * (jones.TRAIN_NODES + jones.LEARNER_FORWARD_EQUIVALENTS)
                                * samples,
                                "test_flops_jones": n * float(params),
                                "test_flops_standard": 2.0 * n * float(params),
                                "elo": float(observed[k]),
                                "elo_se": float(se[k]),
                                "anchor": "synthetic truth",
                            }
                        )
    return pd.DataFrame(rows, columns=list(ELO_TABLE_COLUMNS))


def _arch_penalty(board, log10_tc, log10_params, widths, depths, penalty_elo, slope):
    """k·(log10 P − log10 P*(TC))², log10 P* rising `slope` per decade to the largest network
    at the board's top compute bound."""
    board_widths = jones.widths(board) if widths is None else widths
    log10_params_max = np.log10(param_count(board, max(board_widths), max(depths)))
    optimal = log10_params_max - slope * (np.log10(BOARD_TRAIN_FLOPS_BOUNDS[board][1]) - log10_tc)
    return penalty_elo * (log10_params - optimal) ** 2


def make_elo_table(
    seed: int = 0,
    *,
    board_sizes: Sequence[int] = (9,),
    widths: Sequence[int] | None = None,
    depths: Sequence[int] = (1, 2, 4),
    n_snapshots: int = 11,
    test_nodes: Sequence[int] = (1, 4, 16, 64, 256, 1024),
    truth: SCurveParams | Mapping[int, SCurveParams] | None = None,
    arch_penalty_elo: float = 60.0,
    optimal_params_slope: float = 0.5,
    elo_se: float = 20.0,
    search: str = "grill",
) -> pd.DataFrame:
    """A synthetic Elo table drawn from the S-curve model itself (one row per agent).

    Runs are width × depth networks (widths default to powers of two up to the board's limit in
    hex_experiments.md §2), snapshotted at `n_snapshots` log-spaced train-compute savepoints
    between the board's bounds (§4) until the sample cap; each snapshot is evaluated at every
    `test_nodes`. Elo = truth S-curve − `arch_penalty_elo`·(log10 P − log10 P*)² + N(0, elo_se²),
    with log10 P* rising `optimal_params_slope` per decade of compute to the largest network at
    the top bound; set `arch_penalty_elo=0` to make every agent follow the S-curve exactly.
    `truth` is one SCurveParams for all boards, a mapping per board, or None
    (`truth_for_board`). Elo is relative to perfect play = 0 (anchor "synthetic truth").
    """

    def mean_elo(board, log10_tc, log10_nodes, log10_params):
        if truth is None:
            params_truth = truth_for_board(board)
        elif isinstance(truth, SCurveParams):
            params_truth = truth
        else:
            params_truth = truth[board]
        penalty = _arch_penalty(
            board, log10_tc, log10_params, widths, depths, arch_penalty_elo, optimal_params_slope
        )
        return predict_elo(params_truth, log10_tc, log10_nodes) - penalty

    return _table(
        mean_elo,
        seed,
        board_sizes=board_sizes,
        widths=widths,
        depths=depths,
        n_snapshots=n_snapshots,
        test_nodes=test_nodes,
        elo_se=elo_se,
        search=search,
    )


def make_logistic_table(
    seed: int = 0,
    *,
    board_sizes: Sequence[int] = (9,),
    widths: Sequence[int] | None = None,
    depths: Sequence[int] = (1, 2, 4),
    n_snapshots: int = 11,
    test_nodes: Sequence[int] = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024),
    truth: LogisticTruth | Mapping[int, LogisticTruth] | None = None,
    arch_penalty_elo: float = 0.0,
    optimal_params_slope: float = 0.5,
    elo_se: float | Callable[[np.ndarray], np.ndarray] = realistic_se,
    search: str = "grill",
) -> pd.DataFrame:
    """A synthetic Elo table from `LogisticTruth` (default `logistic_truth_for_board`), a
    generator independent of the S-curve model, with `realistic_se` standard errors by default.
    `arch_penalty_elo` as in `make_elo_table` (default 0: Elo depends on TC and M only)."""

    def mean_elo(board, log10_tc, log10_nodes, log10_params):
        if truth is None:
            t = logistic_truth_for_board(board)
        elif isinstance(truth, LogisticTruth):
            t = truth
        else:
            t = truth[board]
        penalty = _arch_penalty(
            board, log10_tc, log10_params, widths, depths, arch_penalty_elo, optimal_params_slope
        )
        return t.elo(log10_tc, log10_nodes) - penalty

    return _table(
        mean_elo,
        seed,
        board_sizes=board_sizes,
        widths=widths,
        depths=depths,
        n_snapshots=n_snapshots,
        test_nodes=test_nodes,
        elo_se=elo_se,
        search=search,
    )


def make_plane_table(
    seed: int = 0,
    *,
    truth: PlaneTruth | None = None,
    board_sizes: Sequence[int] = (9,),
    widths: Sequence[int] | None = None,
    depths: Sequence[int] = (1, 2, 4),
    n_snapshots: int = 21,
    test_nodes: Sequence[int] = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024),
    elo_se: float | Callable[[np.ndarray], np.ndarray] = realistic_se,
    search: str = "grill",
) -> pd.DataFrame:
    """A synthetic Elo table from `PlaneTruth` (Elo linear in log10 TC and log10 IC, Jones
    convention), for Jones's train/test plane; `realistic_se` standard errors by default."""
    plane = PlaneTruth() if truth is None else truth

    def mean_elo(board, log10_tc, log10_nodes, log10_params):
        return plane.elo(log10_tc, log10_nodes + log10_params)

    return _table(
        mean_elo,
        seed,
        board_sizes=board_sizes,
        widths=widths,
        depths=depths,
        n_snapshots=n_snapshots,
        test_nodes=test_nodes,
        elo_se=elo_se,
        search=search,
    )
