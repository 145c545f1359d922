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
from analysis.scurve import SCurveParams, Sigma, predict_elo
from pipeline import jones
from pipeline.elo_table import ELO_TABLE_COLUMNS

__all__ = [
    "BOARD_TRAIN_FLOPS_BOUNDS",
    "ELO_TABLE_COLUMNS",
    "forward_flops_jones",
    "make_elo_table",
    "param_count",
    "truth_for_board",
]

BOARD_TRAIN_FLOPS_BOUNDS = jones.SAVEPOINT_FLOPS_BOUNDS


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
        board_widths = jones.widths(board) if widths is None else widths
        log10_params_max = np.log10(param_count(board, max(board_widths), max(depths)))
        for width in board_widths:
            for depth in depths:
                params = param_count(board, width, depth)
                run = f"b{board}-w{width}-d{depth}"
                for snapshot, c_jones in enumerate(savepoints):
                    samples = c_jones / (jones.TRAIN_NODES * params)
                    if samples > jones.SAMPLE_CAPS[board]:
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
                                * (jones.TRAIN_NODES + jones.LEARNER_FORWARD_EQUIVALENTS)
                                * samples,
                                "test_flops_jones": nodes * float(params),
                                "test_flops_standard": 2.0 * nodes * float(params),
                                "elo": float(mean + rng.normal(0.0, elo_se)),
                                "elo_se": elo_se,
                                "anchor": "synthetic truth",
                            }
                        )
    return pd.DataFrame(rows, columns=list(ELO_TABLE_COLUMNS))
