"""Hex on a b×b rhombus as pure JAX functions over a frozen `HexState`.

Cells are numbered row-major, `row * size + col`. Black (seat 0) moves first and connects the top
row to the bottom row; white (seat 1) connects the left column to the right column. The board size
is never an argument: every function reads it from the static shape of `state.board`, so each size
compiles to its own program and `jax.vmap` batches any of them.

Winner detection keeps, for every stone, the label of its group (the cell index of the group's
newest stone, signed by colour) and, per label, whether that group touches its owner's two edges.
A move relabels the friendly neighbouring groups in one vectorised pass and ORs their edge flags:
O(b²) elementwise work per move, with no loops and no flood fill (see `scripts/bench_env.py`).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from flax import struct

BLACK, WHITE = 0, 1
NO_WINNER = -1

# (drow, dcol) of the six neighbours on the rhombus (spec §1).
NEIGHBOUR_OFFSETS = ((-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0))


@struct.dataclass
class HexState:
    """One Hex position. S is the board side; A = S*S, plus one swap action if `swap_rule`."""

    board: jax.Array  # [S*S] int32: 0 empty, +(k+1) black / -(k+1) white stone of group k
    touch_start: jax.Array  # [S*S] bool: group k touches its owner's first edge (top / left)
    touch_end: jax.Array  # [S*S] bool: group k touches its owner's second edge (bottom / right)
    current_player: jax.Array  # [] int32: seat to move, 0 black, 1 white
    winner: jax.Array  # [] int32: -1 while the game runs, else the winning seat
    reward: jax.Array  # [] float32: +1 if the last move won the game for the player who made it
    ply: jax.Array  # [] int32: moves played so far (a swap counts as one)
    swap_rule: bool = struct.field(pytree_node=False, default=False)

    @property
    def size(self) -> int:
        return math.isqrt(self.board.shape[-1])

    @property
    def num_actions(self) -> int:
        return self.board.shape[-1] + int(self.swap_rule)

    @property
    def terminated(self) -> jax.Array:
        return self.winner != NO_WINNER


def init(size: int, *, swap_rule: bool = False) -> HexState:
    """The empty board, black to move. `size` is static (2 ≤ size ≤ 19 is what tests cover)."""
    if not isinstance(size, int) or size < 2:
        raise ValueError(f"board size must be an int >= 2, got {size!r}")
    cells = size * size
    return HexState(
        board=jnp.zeros(cells, jnp.int32),
        touch_start=jnp.zeros(cells, bool),
        touch_end=jnp.zeros(cells, bool),
        current_player=jnp.int32(BLACK),
        winner=jnp.int32(NO_WINNER),
        reward=jnp.float32(0.0),
        ply=jnp.int32(0),
        swap_rule=swap_rule,
    )


def _neighbour_table(size: int) -> tuple[jax.Array, jax.Array]:
    """[S*S, 6] neighbour cell of each cell (0 where off-board) and [S*S, 6] on-board mask."""
    rows, cols = jnp.divmod(jnp.arange(size * size), size)
    dr = jnp.array([d[0] for d in NEIGHBOUR_OFFSETS])
    dc = jnp.array([d[1] for d in NEIGHBOUR_OFFSETS])
    nr, nc = rows[:, None] + dr, cols[:, None] + dc
    on_board = (nr >= 0) & (nr < size) & (nc >= 0) & (nc < size)
    return jnp.where(on_board, nr * size + nc, 0), on_board


def _place(state: HexState, cell: jax.Array) -> HexState:
    """Put the mover's stone on `cell` (assumed empty), merge groups, detect a win."""
    size = state.size
    player = state.current_player
    sign = jnp.where(player == BLACK, 1, -1)
    label = sign * (cell + 1)
    nbr_cells, nbr_on = _neighbour_table(size)
    nbrs, on = nbr_cells[cell], nbr_on[cell]
    nbr_labels = state.board[nbrs]
    friendly = on & (nbr_labels * sign > 0)
    merge_labels = jnp.where(friendly, nbr_labels, label)  # the new label is on no cell yet
    absorbed = jnp.any(state.board[:, None] == merge_labels[None, :], axis=1)
    board = jnp.where(absorbed, label, state.board).at[cell].set(label)

    row, col = jnp.divmod(cell, size)
    coord = jnp.where(player == BLACK, row, col)
    group_roots = jnp.abs(merge_labels) - 1
    start = (coord == 0) | jnp.any(friendly & state.touch_start[group_roots])
    end = (coord == size - 1) | jnp.any(friendly & state.touch_end[group_roots])
    won = start & end
    return state.replace(
        board=board,
        touch_start=state.touch_start.at[cell].set(start),
        touch_end=state.touch_end.at[cell].set(end),
        winner=jnp.where(won, player, NO_WINNER),
        reward=won.astype(jnp.float32),
    )


def _swap(state: HexState) -> HexState:
    """Pie rule, mirrored form: black's single stone at (r, c) becomes a white stone at (c, r).

    Colours stay tied to seats (black = seat 0 still connects top↔bottom and moves next); white
    has taken over black's opening move, reflected into its own direction.
    """
    size = state.size
    black_cell = jnp.argmax(state.board > 0)
    row, col = jnp.divmod(black_cell, size)
    mirrored = col * size + row
    cleared = state.replace(
        board=jnp.zeros_like(state.board),
        touch_start=jnp.zeros_like(state.touch_start),
        touch_end=jnp.zeros_like(state.touch_end),
        current_player=jnp.int32(WHITE),
    )
    return _place(cleared, mirrored)


def step(state: HexState, action: jax.Array) -> HexState:
    """Play absolute `action` (a cell, or S*S = swap) for the player to move.

    Stepping a finished game returns it unchanged with reward 0. An illegal action (occupied
    cell, or swap when not allowed) is not checked here, for speed inside jit: callers pick
    actions from `legal_action_mask`. Use `winner_of` for checked play from Python.
    """
    cells = state.board.shape[-1]
    action = jnp.asarray(action, jnp.int32)
    if state.swap_rule:
        played = jax.lax.cond(
            action == cells, _swap, lambda s: _place(s, jnp.minimum(action, cells - 1)), state
        )
    else:
        played = _place(state, action)
    played = played.replace(current_player=1 - state.current_player, ply=state.ply + 1)
    return select_games(state.terminated, state.replace(reward=jnp.float32(0.0)), played)


def legal_action_mask(state: HexState) -> jax.Array:
    """[A] bool over absolute actions: empty cells (plus swap at ply 1); all False when over."""
    empty = (state.board == 0) & ~state.terminated
    if state.swap_rule:
        empty = jnp.append(empty, (state.ply == 1) & ~state.terminated)
    return empty


def _transpose_cells(x: jax.Array, size: int) -> jax.Array:
    """Transpose the trailing [S*S] cell axis (an involution: applying it twice is identity)."""
    lead = x.shape[:-1]
    return jnp.swapaxes(x.reshape(*lead, size, size), -1, -2).reshape(*lead, size * size)


def observe(state: HexState) -> jax.Array:
    """[S, S, 2] float32 from the mover's view: [own stones, opponent stones], transposed for
    white, so the network always plays black, top to bottom."""
    size = state.size
    sign = jnp.where(state.current_player == BLACK, 1, -1)
    own = state.board * sign > 0
    opp = state.board * sign < 0
    planes = jnp.stack([own, opp], axis=-1).astype(jnp.float32).reshape(size, size, 2)
    return jnp.where(state.current_player == WHITE, jnp.swapaxes(planes, 0, 1), planes)


def relative_legal_mask(state: HexState) -> jax.Array:
    """[A] legal mask in the mover's frame (cells transposed for white; swap stays last)."""
    size = state.size
    mask = legal_action_mask(state)
    cells = _transpose_cells(mask[: size * size], size)
    cells = jnp.where(state.current_player == WHITE, cells, mask[: size * size])
    return jnp.concatenate([cells, mask[size * size :]])


def to_absolute_action(state: HexState, action: jax.Array) -> jax.Array:
    """Map an action in the mover's frame back to the absolute board (transpose for white)."""
    size = state.size
    row, col = jnp.divmod(action, size)
    transposed = jnp.where(action < size * size, col * size + row, action)
    return jnp.where(state.current_player == WHITE, transposed, action)


def reset_where_done(state: HexState) -> HexState:
    """Auto-reset: finished games become the empty board, others are untouched (batched or not)."""
    fresh = init(state.size, swap_rule=state.swap_rule)
    return select_games(state.terminated, fresh, state)


def select_games(mask: jax.Array, on_true: HexState, on_false: HexState) -> HexState:
    """Per game, `on_true` where `mask` else `on_false`. `mask` has the batch shape ([] or [B]);
    either state may be unbatched (it is broadcast)."""

    def pick(a, b):
        ndim = max(a.ndim, b.ndim)
        return jnp.where(mask.reshape(mask.shape + (1,) * (ndim - mask.ndim)), a, b)

    return jax.tree.map(pick, on_true, on_false)
