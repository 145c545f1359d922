"""Hex in JAX: jit/vmap-friendly game core, checked Python helpers, exact small-board solver."""

from hex_env.core import (
    BLACK,
    NEIGHBOUR_OFFSETS,
    NO_WINNER,
    WHITE,
    HexState,
    init,
    legal_action_mask,
    observe,
    relative_legal_mask,
    reset_where_done,
    select_games,
    step,
    to_absolute_action,
)
from hex_env.play import render, winner_of

__all__ = [
    "BLACK",
    "NEIGHBOUR_OFFSETS",
    "NO_WINNER",
    "WHITE",
    "HexState",
    "init",
    "legal_action_mask",
    "observe",
    "relative_legal_mask",
    "render",
    "reset_where_done",
    "select_games",
    "step",
    "to_absolute_action",
    "winner_of",
]
