"""Jones's (2021) published settings and results, the one home of every such constant
(hex_experiments.md §2–§7). Configs take their defaults from here; analysis and tests read them."""

from __future__ import annotations

import math

# Savepoint bounds [first, last] in Jones train FLOPs per board (§4) and sample caps.
SAVEPOINT_FLOPS_BOUNDS: dict[int, tuple[float, float]] = {
    3: (1e10, 5e11),
    4: (1e10, 1e13),
    5: (1e11, 3e13),
    6: (1e11, 4e14),
    7: (1e11, 1e16),
    8: (1e11, 3e16),
    9: (1e12, 1e17),
}
SAMPLE_CAPS: dict[int, float] = {3: 1e8, 4: 2e8, 5: 4e8, 6: 6e8, 7: 1e9, 8: 1.5e9, 9: 2e9}

# Architecture grid (§2): widths are powers of two up to the board's limit. The 7×7 limit is
# 512: his 38 runs on 7×7 need more than the 32 that widths ≤ 128 × 4 depths would give.
MAX_WIDTH: dict[int, int] = {3: 2, 4: 16, 5: 16, 6: 128, 7: 512, 8: 512, 9: 1024}
DEPTHS: tuple[int, ...] = (1, 2, 4, 8)

# Elo fit (§5): pseudo-games per side of each pair, half of them won (+1 win / +2 games).
PSEUDO_GAMES = 2.0

TRAIN_NODES = 64  # network evaluations per self-play move, root included
LEARNER_FORWARD_EQUIVALENTS = 3.0  # learner forward + backward ≈ 3 forwards per sample (§4)

# His frontier fit (§6): Elo = min(0, max(m·log10 C + m_b·b + c, p_b·b + p_c)), RMS ≈ 58 Elo.
FRONTIER_FIT: dict[str, float] = {
    "m": 505.6,
    "m_b": -430.1,
    "c": -4399.0,
    "p_b": -268.4,
    "p_c": 575.0,
}

# Wall seconds to perfect play on one RTX 2080 Ti (§7).
PERFECT_PLAY_WALL_S: dict[int, float] = {3: 180.0, 5: 530.0, 7: 2100.0, 9: 9000.0}


def widths(board_size: int) -> list[int]:
    """Jones's width grid for a board: 1, 2, 4, … up to MAX_WIDTH."""
    return [2**k for k in range(int(math.log2(MAX_WIDTH[board_size])) + 1)]
