"""The match engine: missing games cut into device batches and played, one compiled move
function per (architecture, test search, tree-capacity bucket) — not per node count or shape.

A batch plays P pairings × G games between one black class and one white class (`AgentSpec.
class_key`: same architecture, search settings, node count and move rule; or the anchors,
which differ only in ε). Players are vmapped over pairings (stacked params, one set per pairing)
and over the games of each pairing; every ply is one compiled call. The node count is a traced
argument inside a capacity bucket (`pool.node_capacity`) and pairing counts are padded to a few
powers of two, so a whole evaluation compiles a handful of programs per architecture, and the
JAX persistent compilation cache (`pipeline.config.enable_compile_cache`) skips even those on a
rerun. Pairing keys are prefix-consistent (`jax.random.split`), so padding never changes a game.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import hex_env as he
from agents.players import eps_perfect_act_fn, network_act_fn
from agents.search import SearchConfig
from agents.snapshot import load_snapshot
from pipeline.config import BatchConfig
from pipeline.pool import AgentSpec, node_capacity

MIN_PAIRS_ON_DEVICE = 16  # smallest padded pairing count (fewer distinct shapes to compile)


def _next_pow2(n: int) -> int:
    return 1 << max(0, int(n) - 1).bit_length()


@dataclasses.dataclass(frozen=True)
class Batch:
    """Pairings of one black class against one white class, played in one set of calls."""

    black: list[AgentSpec]  # [P]
    white: list[AgentSpec]  # [P]
    games: list[int]  # [P] games to record per pairing (≤ games_per_pairing)
    games_per_pairing: int  # G, the static number of games each pairing plays on device
    pairs_on_device: int  # P rounded up (power of two, or the full call); repeats are dropped


def make_batches(
    need: dict[tuple[str, str], int], agents: dict[str, AgentSpec], batch: BatchConfig
) -> list[Batch]:
    """Group the missing games by (black class, white class) and cut them into device batches
    of at most `batch.max_games_per_call` games and `batch.max_pairs_per_call` pairings. Game
    counts are rounded up to powers of two on device (the surplus is not recorded), and so are
    pairing counts unless `batch.full_calls` pads them to the full call, so a whole evaluation
    compiles only a few shapes per class."""
    groups: dict[tuple, list[tuple[str, str, int]]] = {}
    for (b, w), n in sorted(need.items()):
        key = (agents[b].class_key, agents[w].class_key)
        groups.setdefault(key, []).append((b, w, n))
    out = []
    for items in groups.values():
        per_pairing = min(_next_pow2(max(n for _, _, n in items)), batch.max_games_per_call)
        chunks = []
        for b, w, n in items:
            while n > 0:
                chunks.append((b, w, min(n, per_pairing)))
                n -= per_pairing
        pairs_per_call = min(batch.max_pairs_per_call, batch.max_games_per_call // per_pairing)
        pairs_per_call = max(1, pairs_per_call)
        for start in range(0, len(chunks), pairs_per_call):
            part = chunks[start : start + pairs_per_call]
            out.append(
                Batch(
                    black=[agents[b] for b, _, _ in part],
                    white=[agents[w] for _, w, _ in part],
                    games=[n for _, _, n in part],
                    games_per_pairing=per_pairing,
                    pairs_on_device=pairs_per_call
                    if batch.full_calls
                    else min(pairs_per_call, _next_pow2(max(len(part), MIN_PAIRS_ON_DEVICE))),
                )
            )
    return out


_MOVE_FNS: dict[tuple, object] = {}  # (size, compile key) → jitted move function


def _make_move_fn(size: int, spec: AgentSpec):
    """Jitted `move(params [P, ...], nodes [], key, states [P, G]) -> states`: one ply of every
    game of P pairings, the mover of all of them being `spec`'s class (params differ per
    pairing; `nodes` is traced, at most the capacity bucket of `spec.test_nodes`)."""
    if spec.kind == "network":
        search = SearchConfig(**json.loads(spec.search_settings))
        capacity = node_capacity(search.nodes)
        search = dataclasses.replace(search, nodes=capacity)
        traced = capacity > 1  # one node needs no tree: the static no-search program
        net_act = network_act_fn(
            size, spec.width, spec.depth, search, greedy=spec.greedy,
            capacity=capacity if traced else None,
        )  # fmt: skip
        act = lambda params, key, states, nodes: net_act(
            params, key, states, nodes if traced else None
        )
    else:
        eps_act = eps_perfect_act_fn(size)
        act = lambda eps, key, states, nodes: eps_act(eps, key, states)

    def move(params, nodes, key, states):
        keys = jax.random.split(key, states.ply.shape[0])
        actions = jax.vmap(act, in_axes=(0, 0, 0, None))(params, keys, states, nodes)
        return jax.vmap(jax.vmap(he.step))(states, actions)

    return jax.jit(move)


class MatchEngine:
    """Plays `Batch`es on device: one jitted, pairing- and game-vmapped move function per player
    class, params loaded once per snapshot and stacked per batch."""

    def __init__(self, size: int):
        self.size = size
        self._moves: dict[tuple, object] = {}  # the move functions this engine used
        self._params: dict[str, object] = {}

    @property
    def compiled_move_fns(self) -> int:
        return len(self._moves)

    def _move_fn(self, spec: AgentSpec):
        key = (self.size, spec.compile_key)
        if key not in _MOVE_FNS:  # module-level, so later evaluations in a process reuse it
            _MOVE_FNS[key] = _make_move_fn(self.size, spec)
        self._moves[key] = _MOVE_FNS[key]
        return _MOVE_FNS[key]

    def _stacked_params(self, specs: Sequence[AgentSpec]):
        if specs[0].kind != "network":
            return jnp.asarray([s.eps for s in specs], jnp.float32)
        for s in specs:
            if s.snapshot_dir not in self._params:
                params, _ = load_snapshot(Path(s.snapshot_dir))
                self._params[s.snapshot_dir] = jax.device_get(params)
        trees = [self._params[s.snapshot_dir] for s in specs]
        return jax.tree.map(lambda *leaves: jnp.asarray(np.stack(leaves)), *trees)

    def play(self, batch: Batch, key: jax.Array) -> np.ndarray:
        """Black wins per pairing [P] over the first `batch.games[p]` games of each; `key` is
        consumed. Pairings are padded to `batch.pairs_on_device` with repeats whose games are
        dropped, so that calls of a class share a few compiled shapes."""
        n_pairs = len(batch.games)
        padded = batch.pairs_on_device
        black = list(batch.black) + [batch.black[0]] * (padded - n_pairs)
        white = list(batch.white) + [batch.white[0]] * (padded - n_pairs)
        params = (self._stacked_params(black), self._stacked_params(white))
        moves = (self._move_fn(black[0]), self._move_fn(white[0]))
        nodes = [jnp.int32(s.test_nodes or 1) for s in (black[0], white[0])]
        games = batch.games_per_pairing
        states = jax.tree.map(
            lambda x: jnp.broadcast_to(x, (padded, games) + x.shape), he.init(self.size)
        )
        shortest = 2 * self.size - 1  # no game ends before black's size-th stone
        for ply in range(self.size * self.size):
            side = ply % 2  # no swap rule: black moves on even plies in every game
            states = moves[side](params[side], nodes[side], jax.random.fold_in(key, ply), states)
            if ply + 1 >= shortest and bool(jnp.all(states.terminated)):
                break
        winner = np.asarray(states.winner)[:n_pairs]
        if (winner == he.NO_WINNER).any():
            raise RuntimeError("a game ended without a winner on a full board")
        counted = np.arange(games)[None, :] < np.asarray(batch.games)[:, None]
        return ((winner == he.BLACK) & counted).sum(axis=1)
