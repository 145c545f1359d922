"""Synthetic Elo tables in the evaluation stage's schema, drawn from known S-curve parameters.

For tests and dry runs of the analysis before real results exist. Each agent's Elo is

    Elo = E + σ_train(log10 TC) + σ_test(log10 M) − k·(log10 P − log10 P*(TC))² + noise

(Epoch 2023 S-curve plus a penalty for a network of P parameters away from a compute-optimal
size P*(TC), so that architectures matter and the frontier policy is meaningful). The train σ
follows Jones's (2021) published frontier per board size. Compute follows hex_experiments.md §4.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from agents.network import param_count
from analysis.elo_table import ELO_TABLE_COLUMNS
from analysis.scurve import SCurveParams, Sigma, predict_elo

__all__ = [
    "BOARD_TRAIN_FLOPS_BOUNDS",
    "ELO_TABLE_COLUMNS",
    "forward_flops_jones",
    "make_elo_table",
    "param_count",
    "truth_for_board",
]

# Jones convention savepoint bounds per board (hex_experiments.md §4).
BOARD_TRAIN_FLOPS_BOUNDS = {
    3: (1e10, 5e11),
    4: (1e10, 1e13),
    5: (1e11, 3e13),
    6: (1e11, 4e14),
    7: (1e11, 1e16),
    8: (1e11, 3e16),
    9: (1e12, 1e17),
}
_MAX_WIDTH = {3: 2, 4: 16, 5: 16, 6: 128, 7: 128, 8: 512, 9: 1024}
_JONES = {"m": 505.6, "m_b": -430.1, "c": -4399.0, "p_b": -268.4, "p_c": 575.0}
_TRAIN_NODES = 64
_LEARNER_FORWARD_EQUIVALENTS = 3.0


def forward_flops_jones(board_size: int, width: int, depth: int) -> float:
    """Forward FLOPs per network evaluation, Jones convention (one MAC = one FLOP ≈ params)."""
    return float(param_count(board_size, width, depth))


def _sample_cap(board_size: int) -> float:
    # §4 gives 1e8 at 3x3 and 2e9 at 9x9; log-linear in between is our assumption.
    frac = (board_size - 3) / 6.0
    return float(10 ** (8.0 + frac * np.log10(20.0)))


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
    j = _JONES
    x1 = (-j["m_b"] * board_size - j["c"]) / j["m"]
    plateau = j["p_b"] * board_size + j["p_c"]
    x0 = x1 + plateau / j["m"]
    a_test = test_plateau_fraction * (-plateau) / test_width_decades
    return SCurveParams(
        E=0.0,
        train=Sigma(j["m"], x0, x1, smoothness, smoothness),
        test=Sigma(a_test, 0.0, test_width_decades, smoothness, smoothness),
    )


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
    """A synthetic Elo table (one row per agent) in the evaluation stage's schema.

    Runs are width × depth networks (widths default to powers of two up to the board's limit in
    hex_experiments.md §2), snapshotted at `n_snapshots` log-spaced train-compute savepoints
    between the board's bounds (§4) until the sample cap; each snapshot is evaluated at every
    `test_nodes`. Elo = truth S-curve − `arch_penalty_elo`·(log10 P − log10 P*)² + N(0, elo_se²),
    with log10 P* rising `optimal_params_slope` per decade of compute to the largest network at
    the top bound; set `arch_penalty_elo=0` to make every agent follow the S-curve exactly.
    `truth` is one SCurveParams for all boards, a mapping per board, or None
    (`truth_for_board`). Elo is relative to perfect play = 0 (anchor "synthetic truth").
    """
    rng = np.random.default_rng(seed)
    rows = []
    for board in board_sizes:
        if truth is None:
            params_truth = truth_for_board(board)
        elif isinstance(truth, SCurveParams):
            params_truth = truth
        else:
            params_truth = truth[board]
        lo, hi = BOARD_TRAIN_FLOPS_BOUNDS[board]
        savepoints = np.logspace(np.log10(lo), np.log10(hi), n_snapshots)
        board_widths = (
            [2**k for k in range(int(np.log2(_MAX_WIDTH[board])) + 1)] if widths is None else widths
        )
        log10_params_max = np.log10(param_count(board, max(board_widths), max(depths)))
        for width in board_widths:
            for depth in depths:
                params = param_count(board, width, depth)
                run = f"b{board}-w{width}-d{depth}"
                for snapshot, c_jones in enumerate(savepoints):
                    samples = c_jones / (_TRAIN_NODES * params)
                    if samples > _sample_cap(board):
                        break
                    log10_tc = np.log10(c_jones)
                    optimal = log10_params_max - optimal_params_slope * (np.log10(hi) - log10_tc)
                    penalty = arch_penalty_elo * (np.log10(params) - optimal) ** 2
                    for nodes in test_nodes:
                        mean = predict_elo(params_truth, log10_tc, np.log10(nodes)) - penalty
                        rows.append(
                            {
                                "agent": f"{run}/s{snapshot:02d}/n{nodes}",
                                "run": run,
                                "snapshot": snapshot,
                                "board_size": board,
                                "width": width,
                                "depth": depth,
                                "search": search,
                                "test_nodes": int(nodes),
                                "params": params,
                                "train_flops_jones": c_jones,
                                "train_flops_standard": 2.0
                                * params
                                * (_TRAIN_NODES + _LEARNER_FORWARD_EQUIVALENTS)
                                * samples,
                                "test_flops_jones": nodes * float(params),
                                "test_flops_standard": 2.0 * nodes * float(params),
                                "elo": float(mean + rng.normal(0.0, elo_se)),
                                "elo_se": elo_se,
                                "anchor": "synthetic truth",
                            }
                        )
    return pd.DataFrame(rows, columns=list(ELO_TABLE_COLUMNS))
