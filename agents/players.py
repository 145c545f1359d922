"""Players: batched, jittable move choosers over `HexState` batches.

A player is `act(key, states) -> [B] absolute actions`; network players close over their params.
`network_act_fn` exposes the params as an argument instead, so an evaluator can vmap one compiled
function over the stacked params of many snapshots of the same architecture.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp

import hex_env as he
from agents.network import HexNet
from agents.search import SearchConfig, make_search_fn
from hex_env import solver

ActFn = Callable[[jax.Array, he.HexState], jax.Array]


@dataclasses.dataclass(frozen=True)
class Player:
    name: str
    act: ActFn  # (key, states [B]) → absolute actions [B]; key is consumed
    meta: dict = dataclasses.field(default_factory=dict)


def network_act_fn(
    size: int,
    width: int,
    depth: int,
    search: SearchConfig,
    *,
    greedy: bool,
    noise: bool | None = None,
    capacity: int | None = None,
    pairings: bool = False,
):
    """`act(params, key, states, nodes=None)` for a network + search player at evaluation.

    `noise`: mix the search's root noise into every move (None: `search.evaluation_noise`, on for
    jones/grill as Jones did, off for puct/gumbel; pass False for deterministic solver checks).
    `capacity`: see `agents.search.make_search_fn`; with it `nodes` may be a traced int32 scalar,
    so one compiled player serves every node count up to `capacity`.
    `pairings`: params are stacked per pairing ([P, ...]) and `states` is one flat batch of
    P × G games, pairing-major; each game's net is its pairing's, and the search runs once over
    the whole batch (cheaper than vmapping it over pairings: docs/benchmarks.md).
    """
    net = HexNet(width, depth)
    apply = _per_pairing_apply(net.apply) if pairings else net.apply
    search_fn = make_search_fn(apply, search, size, capacity=capacity)
    explore = search.evaluation_noise if noise is None else bool(noise)

    def act(params, key, states, nodes=None):
        return search_fn(params, key, states, explore=explore, greedy=greedy, nodes=nodes).action

    return act


def _per_pairing_apply(apply):
    """`apply(params [P, ...], obs [P·G, ...])`: pairing p's net on its G observations."""

    def paired(params, obs):
        pairings = jax.tree.leaves(params)[0].shape[0]
        out = jax.vmap(apply)(params, obs.reshape(pairings, -1, *obs.shape[1:]))
        return jax.tree.map(lambda x: x.reshape(-1, *x.shape[2:]), out)

    return paired


def random_act(key: jax.Array, states: he.HexState) -> jax.Array:
    legal = jax.vmap(he.legal_action_mask)(states)
    legal = legal | ~legal.any(-1, keepdims=True)  # finished games: any action is a no-op
    return jax.random.categorical(key, jnp.where(legal, 0.0, -jnp.inf))


def random_player() -> Player:
    return Player("random", random_act)


def perfect_player(size: int) -> Player:
    """Exact solver (boards ≤ 5×5): a uniformly random winning move, any move when lost. Up to
    4×4 it reads the solver's table on device; 5×5 asks the search solver on the host every move
    (`solver.searched_action`)."""
    if size > solver.MAX_TABLE_SIZE:

        def act(key, states):
            active = jnp.ones(states.ply.shape, bool)
            return _searched_action(key, states, active, resist=False)

        return Player(f"perfect-{size}", act)
    table = jnp.asarray(solver.table(size))

    def act(key, states):
        keys = jax.random.split(key, states.ply.shape[0])
        return jax.vmap(solver.perfect_action, in_axes=(None, 0, 0))(table, states, keys)

    return Player(f"perfect-{size}", act)


def _searched_action(key, states, active, *, resist: bool):
    """[B] the search solver's moves (`solver.searched_action`), ties broken uniformly at random;
    0 where not `active` (the caller plays another move there) or the game is over."""
    priority = jax.random.uniform(key, states.board.shape)
    act = functools.partial(solver.searched_action, resist=resist)
    return jnp.maximum(jax.vmap(act)(states, priority, active), 0)


def play_games(black: Player, white: Player, size: int, n_games: int, key: jax.Array):
    """Play `n_games` from the empty board in one batch; returns the final states [n_games]."""

    def game_loop(key):
        states = jax.vmap(lambda _: he.init(size))(jnp.arange(n_games))

        def move(states, key):
            black_key, white_key = jax.random.split(key)
            black_moves = black.act(black_key, states)
            white_moves = white.act(white_key, states)
            actions = jnp.where(states.current_player == he.BLACK, black_moves, white_moves)
            return jax.vmap(he.step)(states, actions), None

        return jax.lax.scan(move, states, jax.random.split(key, size * size))[0]

    return jax.jit(game_loop)(key)


def resisting_perfect_action(solved: jax.Array, state: he.HexState, key: jax.Array) -> jax.Array:
    """Like `solver.perfect_action` (uniform over winning moves), but in a lost position it
    plays the legal move that leaves the opponent the fewest winning replies (ties uniform),
    instead of any move: the hardest defence for an imperfect opponent to break. Boards with a
    table (≤ 4×4); 5×5 applies the same rule on the host (`solver.searched_action`)."""
    cells = state.board.shape[-1]
    legal = (state.board == 0) & ~state.terminated
    winning = solver.winning_moves_mask(solved, state)

    def replies(cell):
        return jnp.sum(solver.winning_moves_mask(solved, he.step(state, cell)))

    counts = jax.vmap(replies)(jnp.arange(cells))
    fewest = legal & (counts == jnp.min(jnp.where(legal, counts, cells + 1)))
    choices = jnp.where(jnp.any(winning), winning, fewest)
    choices = jnp.where(jnp.any(choices), choices, legal)
    return jax.random.categorical(key, jnp.where(choices, 0.0, -jnp.inf))


def eps_perfect_act_fn(size: int):
    """`act(eps, key, states)`: per move, a uniformly random legal move with probability `eps`,
    else the exact solver's move (boards ≤ 5×5), resisting as long as possible when lost
    (`resisting_perfect_action`: fewest winning replies left to the opponent). `eps` is an
    argument so that an evaluator can vmap one compiled function over the perfect (ε = 0),
    ε-perfect and random (ε = 1) anchors. Up to 4×4 the solver's table is read on device; on
    5×5 the search solver runs on the host, asked only for the games that need a solver move.

    On boards the solver does not handle, only ε = 1 (random play) is meaningful: the perfect
    branch is absent and every move is random.
    """
    table = jnp.asarray(solver.table(size)) if size <= solver.MAX_TABLE_SIZE else None
    solvable = solver.can_solve(size)

    def act(eps, key, states):
        perfect_key, random_key, coin_key = jax.random.split(key, 3)
        random_moves = random_act(random_key, states)
        if not solvable:
            return random_moves
        coin = jax.random.uniform(coin_key, states.ply.shape) < eps
        if table is None:
            perfect_moves = _searched_action(perfect_key, states, ~coin, resist=True)
        else:
            keys = jax.random.split(perfect_key, states.ply.shape[0])
            perfect_moves = jax.vmap(resisting_perfect_action, in_axes=(None, 0, 0))(
                table, states, keys
            )
        return jnp.where(coin, random_moves, perfect_moves)

    return act


def eps_perfect_player(size: int, eps: float) -> Player:
    """ε-perfect anchor (hex_experiments.md §8): the solver's move with probability 1 − ε, a
    uniformly random legal move otherwise, drawn independently at every move (boards ≤ 5×5).
    With ε = 0 it is the evaluation's "perfect" anchor: it differs from `perfect_player` only in
    lost positions, where it resists (`resisting_perfect_action`) instead of moving at random.

    Without the swap rule a perfect black always wins, so the plain solver only anchors games
    where it plays white; ε-perfect blacks lose sometimes and give the Bradley–Terry fit finite,
    informative anchors on the other colour.
    """
    if not 0.0 <= eps <= 1.0:
        raise ValueError(f"eps must be in [0, 1], got {eps!r}")
    if not solver.can_solve(size) and eps < 1.0:
        raise ValueError(
            f"no exact solver for {size}x{size} here (boards up to {solver.MAX_SOLVED_SIZE}x"
            f"{solver.MAX_SOLVED_SIZE}, 5x5 with numba); only eps=1 (random play) is available"
        )
    act = eps_perfect_act_fn(size)
    return Player(f"eps-perfect-{eps:g}", lambda key, states: act(eps, key, states), {"eps": eps})
