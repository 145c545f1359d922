"""Snapshots as players: a snapshot directory loaded into an `agents.players.Player`, and the
fixed perfect-play check of a snapshot against the exact solver."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import jax
import numpy as np

import hex_env as he
from agents.players import (
    Player,
    eps_perfect_player,
    network_act_fn,
    perfect_player,
    play_games,
)
from agents.search import SearchConfig
from pipeline.infra.snapshot import load_snapshot


def load_player(
    snapshot_dir: str | Path,
    *,
    nodes: int | None = None,
    greedy: bool = False,
    search: SearchConfig | None = None,
    noise: bool | None = None,
) -> Player:
    """A snapshot as a player: `nodes` network evaluations per move (default: its training
    setting), moves sampled from the search policy or, with `greedy`, its argmax; `noise` as in
    `network_act_fn` (None: the search's evaluation default)."""
    params, meta = load_snapshot(snapshot_dir)
    search = search or SearchConfig(**meta["search"])
    if nodes is not None:
        search = dataclasses.replace(search, nodes=nodes)
    act = network_act_fn(
        meta["board_size"], meta["width"], meta["depth"], search, greedy=greedy, noise=noise
    )
    name = f"{meta['run_name']}/{meta['index']:02d}@{search.nodes}"
    return Player(
        name, lambda key, states: act(params, key, states), dict(meta, test_nodes=search.nodes)
    )


def black_wins_vs_solver(
    snapshot_dir: str | Path, games: int = 256, nodes: int | None = None, seed: int = 7,
    *, resisting: bool = True,
) -> float:  # fmt: skip
    """The fixed perfect-play check (spec §5): the snapshot as black, argmax moves of its search,
    no root noise, against the exact solver as white; the fraction of games black wins.

    White is the evaluation's perfect anchor (`eps_perfect_player(size, 0)`): once lost it leaves
    black the fewest winning replies. `resisting=False` gives the check as it was first published
    (`perfect_player`: a uniformly random move once lost, i.e. from its first move after any
    winning black opening), which an agent can pass without finishing its wins precisely."""
    player = load_player(snapshot_dir, nodes=nodes, greedy=True, noise=False)
    size = player.meta["board_size"]
    white = eps_perfect_player(size, 0.0) if resisting else perfect_player(size)
    final = play_games(player, white, size, games, jax.random.key(seed))
    return float((np.asarray(final.winner) == he.BLACK).mean())
