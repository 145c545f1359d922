"""The match engine: missing games cut into device batches and played, one compiled move
function per (test search, move rule), tree capacity and call shape — not per architecture,
node count or pool shape.

A batch plays P pairings × G games between black and white players that share a compile key
(`AgentSpec.compile_key`: same test search settings and move rule, and same architecture unless
every net is zero-padded to the pool's largest (`eval.batch.share_programs`, the default: the
same outputs, one program for all architectures); or the anchors, which differ only in ε) and,
per side, one node count. Each side's search runs once over the flat batch of P × G games, with
every game evaluated by its pairing's net (params stacked per pairing,
`agents.players.network_act_fn(pairings=True)`): vmapping the search over pairings instead costs
more (docs/benchmarks.md, `scripts/bench_tree.py`). The node count is traced inside a tree of
`pool.node_capacity(nodes)` nodes (one node needs no tree and has its own program), and every
call of a group is padded to the same number of pairings, so an evaluation compiles a handful
of programs, and JAX's persistent compilation cache (`pipeline.infra.runtime.enable_compile_cache`)
skips even those on a rerun.

Random streams belong to games, not batches: game g of a chunk of the games of (black, white)
that starts at game number k (`pipeline.evaluate.claims`) uses, at ply t, a key derived from
(black, white, k, t, g), so the games do not depend on how the plan is cut into calls, padded,
or shared between concurrent evaluations.
"""

from __future__ import annotations

import dataclasses
import json
import zlib
from collections.abc import Sequence
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import hex_env as he
from agents.network import pad_params
from agents.players import eps_perfect_act_fn, network_act_fn
from agents.search import SearchConfig
from pipeline.evaluate.pool import AgentSpec, next_pow2, node_capacity
from pipeline.infra.config import BatchConfig
from pipeline.infra.snapshot import load_snapshot


@dataclasses.dataclass(frozen=True)
class Batch:
    """Pairings whose players share compile keys, played in one set of calls."""

    black: list[AgentSpec]  # [P]
    white: list[AgentSpec]  # [P]
    games: list[int]  # [P] games to record per pairing (≤ games_per_pairing)
    game_start: list[int]  # [P] number of the pairing's first game in its pair (seeds its stream)
    games_per_pairing: int  # G, the static number of games each pairing plays on device
    pairs_on_device: int  # P padded to the group's fixed call size; repeats are dropped


GAMES_PER_CALL = {"cpu": 4096}  # eval.batch.max_games_per_call when null, by backend
ACCELERATOR_GAMES_PER_CALL = 32768


def games_per_call(batch: BatchConfig) -> int:
    """`batch.max_games_per_call`, or the default for JAX's default backend."""
    if batch.max_games_per_call is not None:
        return batch.max_games_per_call
    return GAMES_PER_CALL.get(jax.default_backend(), ACCELERATOR_GAMES_PER_CALL)


def pads_to_power_of_two(batch: BatchConfig) -> bool:
    """Whether a group smaller than a full call is padded to the next power of two of its size
    (`batch.pad_calls`; auto: on CPU) rather than to a full call."""
    if batch.pad_calls == "auto":
        return jax.default_backend() == "cpu"
    return batch.pad_calls == "pow2"


def make_batches(
    ranges: dict[tuple[str, str], list[tuple[int, int]]],
    agents: dict[str, AgentSpec],
    batch: BatchConfig,
    arch: tuple[int, int] | None = None,
) -> list[Batch]:
    """Cut the games to play — per ordered pair, ranges (first game, games) of game numbers —
    into device calls of at most `games_per_call(batch)` games and `batch.max_pairs_per_call`
    pairings. Each range goes in chunks of G = its game count rounded up to a power of two (the
    surplus is not recorded); chunks are grouped by the two players' compile keys, node counts
    and G, and every call of a group is padded to the same pairing count (a full call's, or,
    with `pads_to_power_of_two`, for a group smaller than that the next power of two of its
    size), so each group compiles one shape. `arch`: the shape every net is padded to
    (`MatchEngine.arch`), None: each its own."""
    max_games = games_per_call(batch)
    groups: dict[tuple, list[tuple[str, str, int, int]]] = {}
    for (b, w), pair_ranges in sorted(ranges.items()):
        black, white = agents[b], agents[w]
        for first, n in pair_ranges:
            per_pairing = min(next_pow2(n), max_games)
            key = (black.compile_key(arch), white.compile_key(arch), black.test_nodes,
                   white.test_nodes, per_pairing)  # fmt: skip
            while n > 0:
                groups.setdefault(key, []).append((b, w, min(n, per_pairing), first))
                first += per_pairing
                n -= per_pairing
    out = []
    for (*_, per_pairing), chunks in groups.items():
        pairs_per_call = max(1, min(batch.max_pairs_per_call, max_games // per_pairing))
        if pads_to_power_of_two(batch):
            pairs_per_call = min(pairs_per_call, next_pow2(len(chunks)))
        for start in range(0, len(chunks), pairs_per_call):
            part = chunks[start : start + pairs_per_call]
            out.append(
                Batch(
                    black=[agents[b] for b, _, _, _ in part],
                    white=[agents[w] for _, w, _, _ in part],
                    games=[n for _, _, n, _ in part],
                    game_start=[k for _, _, _, k in part],
                    games_per_pairing=per_pairing,
                    pairs_on_device=pairs_per_call,
                )
            )
    return out


_MOVE_FNS: dict[tuple, object] = {}  # (size, capacity, compile key) → jitted move function


def _make_move_fn(size: int, capacity: int, spec: AgentSpec, arch: tuple[int, int] | None):
    """Jitted `move(params [P, ...], nodes, pair_keys [P], ply, states [P, G]) -> states`: one
    ply of every game of P pairings whose movers share `spec`'s compile key and `nodes` (a traced
    int32 scalar); params differ per pairing."""
    if spec.kind == "network":
        width, depth = arch or (spec.width, spec.depth)
        search = SearchConfig(**json.loads(spec.search_settings))
        traced = spec.test_nodes > 1  # one node needs no tree: the static no-search program
        search = dataclasses.replace(search, nodes=capacity if traced else 1)
        net_act = network_act_fn(
            size, width, depth, search, greedy=spec.greedy,
            capacity=capacity if traced else None, pairings=True,
        )  # fmt: skip

        def act(params, keys, states, nodes):  # one search over the P × G games, a key per game
            pairings, games = states.ply.shape
            game_keys = jax.vmap(jax.vmap(jax.random.fold_in, (None, 0)), (0, None))(
                keys, jnp.arange(games)
            )
            flat = lambda x: x.reshape(pairings * games, *x.shape[2:])  # noqa: E731
            actions = net_act(
                params, flat(game_keys), jax.tree.map(flat, states), nodes if traced else None
            )
            return actions.reshape(pairings, games)
    else:
        eps_act = jax.vmap(eps_perfect_act_fn(size))
        act = lambda eps, keys, states, nodes: eps_act(eps, keys, states)

    def move(params, nodes, pair_keys, ply, states):
        keys = jax.vmap(jax.random.fold_in, in_axes=(0, None))(pair_keys, ply)
        return jax.vmap(jax.vmap(he.step))(states, act(params, keys, states, nodes))

    return jax.jit(move)


def pair_seed(black: str, white: str, game_start: int) -> int:
    """A stable 31-bit seed for the games of (black, white) numbered from `game_start`."""
    return zlib.crc32(f"{black}\0{white}\0{game_start}".encode()) & 0x7FFFFFFF


class MatchEngine:
    """Plays `Batch`es on device: one jitted move function per (compile key, tree capacity),
    params loaded once per snapshot and stacked per batch.
    `capacity`: the tree size of every searching network player, or None (the default) for
    `pool.node_capacity` of each side's node count; `arch` =
    (width, depth) the shape every net is zero-padded to (`pool.architecture_capacity`), or
    None to compile each architecture on its own."""

    def __init__(self, size: int, capacity: int | None = None, arch: tuple[int, int] | None = None):
        self.size = size
        self.capacity = capacity
        self.arch = arch
        self._moves: dict[tuple, object] = {}  # the move functions this engine used
        self._params: dict[str, object] = {}  # snapshot dir → its params on the device
        self.stop_early = jax.default_backend() == "cpu"  # look for the end after every ply

    @property
    def compiled_move_fns(self) -> int:
        return len(self._moves)

    def _move_fn(self, side: Sequence[AgentSpec]):
        capacity = self.capacity or node_capacity(side[0].test_nodes or 1)
        key = (self.size, capacity, side[0].compile_key(self.arch))
        if key not in _MOVE_FNS:  # module-level, so later evaluations in a process reuse it
            _MOVE_FNS[key] = _make_move_fn(self.size, capacity, side[0], self.arch)
        self._moves[key] = _MOVE_FNS[key]
        return _MOVE_FNS[key]

    def _stacked_params(self, specs: Sequence[AgentSpec]):
        if specs[0].kind != "network":
            return jnp.asarray([s.eps for s in specs], jnp.float32)
        for s in specs:
            if s.snapshot_dir not in self._params:
                params, _ = load_snapshot(Path(s.snapshot_dir))
                params = jax.device_get(params)
                if self.arch:
                    params = pad_params(params, self.size, *self.arch)
                self._params[s.snapshot_dir] = jax.device_put(params)  # uploaded once
        trees = [self._params[s.snapshot_dir] for s in specs]
        return jax.tree.map(lambda *leaves: jnp.stack(leaves), *trees)  # stacked on device

    def play(self, batch: Batch, key: jax.Array) -> np.ndarray:
        """Black wins per pairing [P] over the first `batch.games[p]` games of each. Each
        pairing's games use `fold_in(key, pair_seed(...))`; pairings are padded to
        `batch.pairs_on_device` with repeats whose games are dropped. Each side plays one node
        count (`make_batches` groups them so)."""
        for side in (batch.black, batch.white):
            if len({s.test_nodes for s in side}) > 1:
                raise ValueError("every player on one side of a batch must search the same nodes")
        if not jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key):
            key = jax.random.wrap_key_data(key)  # a raw uint32 key: the same stream, typed
        n_pairs = len(batch.games)
        padded = batch.pairs_on_device
        pad = lambda items: list(items) + [items[0]] * (padded - n_pairs)  # noqa: E731
        black, white = pad(batch.black), pad(batch.white)
        params = (self._stacked_params(black), self._stacked_params(white))
        moves = (self._move_fn(black), self._move_fn(white))
        nodes = [jnp.int32(side[0].test_nodes or 1) for side in (black, white)]
        seeds = [
            pair_seed(b.agent, w.agent, k)
            for b, w, k in zip(black, white, pad(batch.game_start), strict=True)
        ]
        pair_keys = jax.vmap(jax.random.fold_in, in_axes=(None, 0))(
            key, jnp.asarray(seeds, jnp.uint32)
        )
        games = batch.games_per_pairing
        states = jax.tree.map(
            lambda x: jnp.broadcast_to(x, (padded, games) + x.shape), he.init(self.size)
        )
        shortest = 2 * self.size - 1  # no game ends before black's size-th stone
        for ply in range(self.size * self.size):
            side = ply % 2  # no swap rule: black moves on even plies in every game
            states = moves[side](params[side], nodes[side], pair_keys, ply, states)
            # on CPU stop once every game is over; elsewhere that check would wait on the host
            # every ply, so the plies are dispatched without looking and finished games idle
            if self.stop_early and ply + 1 >= shortest and bool(jnp.all(states.terminated)):
                break
        winner = np.asarray(states.winner)[:n_pairs]
        if (winner == he.NO_WINNER).any():
            raise RuntimeError("a game ended without a winner on a full board")
        counted = np.arange(games)[None, :] < np.asarray(batch.games)[:, None]
        return ((winner == he.BLACK) & counted).sum(axis=1)
