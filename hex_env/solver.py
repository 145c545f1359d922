"""Exact Hex solver for boards up to 5×5 and batched perfect players built on it.

Boards up to 4×4: retrograde analysis over every position. A position is indexed in base 3 (digit
0 empty, 1 black, 2 white, cell `i` weighing 3**i) and `table[index]` is 1 when the player to move
wins with perfect play, else 0. Levels are solved from the full board back to the empty one; a
position whose last mover has connected is lost for the player to move. The 4×4 table (3**16
entries, 43 MB) takes about ten seconds to build once; it is then cached on disk
(`HEXSCALE_CACHE`, default `~/.cache/hexscale`) and every query is a lookup, on device too.

5×5 has 3**25 ≈ 8.5e11 positions, beyond a table: `solve` searches it instead
(`hex_env.search_solver`, numba, imported only then), and the JAX players ask that search on the
host through a callback (`searched_action`). 6×6 and up are refused with a clear error
(what 6×6 would take: docs/benchmarks.md).

The swap rule is not modelled: the solver plays standard Hex.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from hex_env.core import NEIGHBOUR_OFFSETS, HexState
from hex_env.play import winner_of

MAX_SOLVED_SIZE = 5  # the largest board `solve` and the perfect players handle
MAX_TABLE_SIZE = 4  # the largest board with a retrograde table (and an on-device player)


def can_solve(size: int) -> bool:
    """Whether this install has a perfect player for `size`: a table up to 4×4, the search
    (which needs numba; the GPU image lacks it) on 5×5."""
    if size <= MAX_TABLE_SIZE:
        return size >= 2
    return size <= MAX_SOLVED_SIZE and importlib.util.find_spec("numba") is not None


def _check_size(size: int, largest: int = MAX_SOLVED_SIZE) -> None:
    if not isinstance(size, int) or not 2 <= size <= largest:
        what = "the exact solver handles" if largest == MAX_SOLVED_SIZE else "solver tables cover"
        raise ValueError(f"{what} boards 2..{largest}, got {size!r}")


def _connected(size: int, masks: np.ndarray, seat: int) -> np.ndarray:
    """Vectorised flood fill over bitboards: does each mask join `seat`'s two edges?"""
    cells = size * size
    coord = np.arange(cells) // size if seat == 0 else np.arange(cells) % size
    first = np.uint32(sum(1 << c for c in range(cells) if coord[c] == 0))
    last = np.uint32(sum(1 << c for c in range(cells) if coord[c] == size - 1))
    moves = []  # (cells whose neighbour at this offset is on the board, shift in bits)
    for dr, dc in NEIGHBOUR_OFFSETS:
        src = 0
        for c in range(cells):
            r, q = divmod(c, size)
            if 0 <= r + dr < size and 0 <= q + dc < size:
                src |= 1 << c
        moves.append((np.uint32(src), dr * size + dc))
    masks = masks.astype(np.uint32)
    reach = masks & first
    for _ in range(cells):
        grown = reach.copy()
        for src, shift in moves:
            part = reach & src
            grown |= (part << np.uint32(shift)) if shift > 0 else (part >> np.uint32(-shift))
        grown &= masks
        if np.array_equal(grown, reach):
            break
        reach = grown
    return (reach & last) != 0


def _digit_bits(num_digits: int) -> tuple[np.ndarray, np.ndarray]:
    """Black and white bitmasks of every base-3 number with `num_digits` digits."""
    idx = np.arange(3**num_digits)
    black = np.zeros_like(idx, dtype=np.uint32)
    white = np.zeros_like(idx, dtype=np.uint32)
    for i in range(num_digits):
        digit = (idx // 3**i) % 3
        black |= (digit == 1).astype(np.uint32) << np.uint32(i)
        white |= (digit == 2).astype(np.uint32) << np.uint32(i)
    return black, white


def build_table(size: int) -> np.ndarray:
    """[3**(S*S)] int8: 1 where the player to move wins. Pure numpy retrograde analysis."""
    _check_size(size, MAX_TABLE_SIZE)
    cells = size * size
    low = cells // 2
    lo_black, lo_white = _digit_bits(low)
    hi_black, hi_white = _digit_bits(cells - low)
    index = np.arange(3**cells, dtype=np.int64)
    lo, hi = index % 3**low, index // 3**low
    black = lo_black[lo] | (hi_black[hi] << np.uint32(low))
    white = lo_white[lo] | (hi_white[hi] << np.uint32(low))
    del lo, hi
    popcount = np.vectorize(int.bit_count, otypes=[np.int8])
    lut = popcount(np.arange(256))

    def count(m):
        return sum(lut[(m >> np.uint32(8 * k)) & np.uint32(255)] for k in range(4))

    n_black, n_white = count(black), count(white)
    level = np.where((n_black - n_white == 0) | (n_black - n_white == 1), n_black + n_white, -1)
    black_won = _connected(size, black, 0)
    white_won = _connected(size, white, 1)
    pow3 = 3 ** np.arange(cells, dtype=np.int64)

    table = np.zeros(3**cells, np.int8)
    order = np.argsort(level, kind="stable")
    bounds = np.searchsorted(level[order], np.arange(cells + 2))
    for k in range(cells, -1, -1):
        pos = order[bounds[k] : bounds[k + 1]]
        black_to_move = k % 2 == 0
        opponent_won = white_won[pos] if black_to_move else black_won[pos]
        occupied = (black[pos] | white[pos]).astype(np.int64)
        wins = np.zeros(pos.shape, bool)
        for c in range(cells):
            empty = (occupied >> c) & 1 == 0
            child = pos + (1 if black_to_move else 2) * pow3[c]
            wins |= empty & (table[np.where(empty, child, 0)] == 0)
        table[pos] = (wins & ~opponent_won).astype(np.int8)
    return table


def cache_dir() -> Path:
    """Per-user cache of solver tables and compiled JAX programs ($HEXSCALE_CACHE)."""
    return Path(os.environ.get("HEXSCALE_CACHE", Path.home() / ".cache" / "hexscale"))


@functools.cache
def table(size: int) -> np.ndarray:
    """The solved table for `size`, built once per machine and then read from the disk cache."""
    _check_size(size, MAX_TABLE_SIZE)
    path = cache_dir() / f"hex_solver_{size}x{size}.npy"
    if path.exists():
        cached = np.load(path, allow_pickle=False)
        if cached.shape == (3 ** (size * size),):
            return cached
    solved = build_table(size)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".npy", delete=False) as tmp:
        np.save(tmp, solved, allow_pickle=False)
    os.replace(tmp.name, path)
    return solved


def _index(size: int, moves: Sequence[int]) -> int:
    return sum((1 + ply % 2) * 3**cell for ply, cell in enumerate(moves))


def solve(size: int, moves: Sequence[int]) -> tuple[bool, list[int]]:
    """Solve the position after `moves` (absolute cells, alternating from black).

    Returns (whether the player to move wins with perfect play, sorted list of the moves that keep
    a win; empty when the position is lost or the game is over). Boards up to 4×4 read the table,
    5×5 is searched (`hex_env.search_solver.solve`, the same contract).
    """
    _check_size(size)
    if size > MAX_TABLE_SIZE:
        from hex_env import search_solver

        return search_solver.solve(size, moves)
    over = winner_of(size, moves) is not None  # also validates the moves
    if over:
        return False, []
    solved = table(size)
    base = _index(size, moves)
    digit = 1 + len(moves) % 2
    taken = set(moves)
    winning = [c for c in range(size * size) if c not in taken and solved[base + digit * 3**c] == 0]
    return bool(solved[base]), winning


def position_index(state: HexState) -> jax.Array:
    """Base-3 table index of a (non-swapped) JAX state; batch with vmap."""
    digits = jnp.where(state.board > 0, 1, jnp.where(state.board < 0, 2, 0))
    return jnp.sum(digits * 3 ** jnp.arange(state.board.shape[-1], dtype=jnp.int32))


def winning_moves_mask(solved: jax.Array, state: HexState) -> jax.Array:
    """[S*S] bool: legal moves that keep a perfect-play win (all False if the mover is lost).

    `solved` is `jnp.asarray(table(size))`, kept on device by the caller.
    """
    cells = state.board.shape[-1]
    digit = jnp.where(state.current_player == 0, 1, 2)
    children = position_index(state) + digit * 3 ** jnp.arange(cells, dtype=jnp.int32)
    legal = (state.board == 0) & ~state.terminated
    return legal & (solved[jnp.where(legal, children, 0)] == 0)


def perfect_action(solved: jax.Array, state: HexState, key: jax.Array) -> jax.Array:
    """A perfect player's absolute move: uniform over winning moves, else over legal moves."""
    winning = winning_moves_mask(solved, state)
    legal = (state.board == 0) & ~state.terminated
    choices = jnp.where(jnp.any(winning), winning, legal)
    return jax.random.categorical(key, jnp.where(choices, 0.0, -jnp.inf))


def searched_action(
    state: HexState, priority: jax.Array, active: jax.Array, *, resist: bool
) -> jax.Array:
    """[] int32, the search solver's move for the player to move (batch with vmap: one host
    call per batch, `jax.pure_callback`): the winning move of lowest `priority` [S*S] (uniform
    priorities: a uniformly random winning move); in a lost position, with `resist`, the
    lowest-priority move of those that leave the opponent the fewest winning replies, else the
    lowest-priority legal move. -1 where `active` is False or the game is over. For boards
    beyond the tables (5×5); the callback makes the device wait on the host every move, so only
    the solver anchors use it."""
    size = state.size
    _check_size(size)

    def host(board, priority, want):
        from hex_env import search_solver

        board, priority, want = np.asarray(board), np.asarray(priority), np.asarray(want)
        cells = size * size
        moves = search_solver.picks(
            size, board.reshape(-1, cells), priority.reshape(-1, cells), want.reshape(-1),
            resist=resist,
        )  # fmt: skip
        return moves.reshape(want.shape).astype(np.int32)

    want = jnp.asarray(active) & ~state.terminated
    shape = jax.ShapeDtypeStruct(want.shape, jnp.int32)
    return jax.pure_callback(host, shape, state.board, priority, want, vmap_method="broadcast_all")
