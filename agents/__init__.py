"""Agents in pure JAX: Jones's ReZero MLP (`network`), MCTS over mctx (`search`), and players,
batched move choosers over `hex_env` states (`players`). Nothing here reads or writes files."""

from agents.network import HexNet, forward_flops, init_params, param_count
from agents.players import (
    Player,
    eps_perfect_player,
    network_act_fn,
    perfect_player,
    play_games,
    random_player,
)
from agents.search import SearchConfig, make_search_fn, search_id

__all__ = [
    "HexNet",
    "Player",
    "SearchConfig",
    "eps_perfect_player",
    "forward_flops",
    "init_params",
    "make_search_fn",
    "network_act_fn",
    "param_count",
    "perfect_player",
    "play_games",
    "random_player",
    "search_id",
]
