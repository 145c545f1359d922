"""Exact Hex solver by search, boards 2…5 (made for 5×5, checked against the 4×4 table):
depth-first negamax over bitboards with a transposition table, compiled with numba (imported by
`hex_env.solver` only when a 5×5 position is asked, so `import hex_env` works without numba).

A position is two bitmasks (cell `row * size + col` is bit `row * size + col`); the player to move
is black when both colours have as many stones. Every rule below follows from the rules of Hex
and its monotonicity (an extra stone never hurts its owner), so the answers are exact:

- a cell that connects a colour's two edges at once is a threat: two threats of the opponent
  lose (one stone blocks one), a single one must be blocked;
- a move that makes two threats of the mover's own wins at once (a fork);
- each result carries a carrier, empty cells outside which the loser may own anything and still
  lose; once a move is refuted, untried moves outside its refutation's carrier lose too (the
  must-play region of Hayward et al. 2005, "Solving 7x7 Hex"). No dead-cell or
  virtual-connection patterns beyond these.

Moves are tried killers first (the last winning move at this ply), then the other cell of a
bridge the opponent just broke into, then centre first. Results are stored for the process in
an 8M-entry table; a position and its 180° rotation (the cell order reversed: same edges, same
value) share an entry. The perfect player's choices in positions of at most `BOOK_STONES`
stones, the costliest and the most repeated, are kept on disk under
`hex_env.solver.cache_dir()` (an opening book, a plain int64 .npy written atomically).

The swap rule is not modelled: the solver plays standard Hex.
"""

from __future__ import annotations

import functools
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from hex_env.core import NEIGHBOUR_OFFSETS
from hex_env.play import winner_of
from hex_env.solver import cache_dir

os.environ.setdefault("NUMBA_CACHE_DIR", str(cache_dir() / "numba"))
import numba  # noqa: E402  (after NUMBA_CACHE_DIR: compiled kernels are cached there)

MAX_SIZE = 5  # two 25-bit masks fill a 50-bit table key
TABLE_BITS = 23  # 8M entries of 16 bytes: 128 MB per board size
PROBES = 4  # slots tried per key before an entry is overwritten
BOOK_STONES = 1  # positions with at most this many stones keep the player's choices on disk

# geometry vector: indices into the int64 array every kernel takes
_SIZE, _CELLS, _FULL, _NOT_FIRST_COL, _NOT_LAST_COL, _TOP, _BOTTOM, _LEFT, _RIGHT = range(9)


def _geometry(size: int) -> np.ndarray:
    cells = size * size
    rows, cols = np.divmod(np.arange(cells), size)
    mask = lambda where: int(sum(1 << int(c) for c in np.flatnonzero(where)))  # noqa: E731
    return np.array(
        [size, cells, (1 << cells) - 1, mask(cols > 0), mask(cols < size - 1), mask(rows == 0),
         mask(rows == size - 1), mask(cols == 0), mask(cols == size - 1)],
        np.int64,
    )  # fmt: skip


def _bridge_repairs(size: int) -> np.ndarray:
    """[S*S, 6, 2]: for each cell x and its k-th neighbour y, (y, the mask of the two cells next
    to both): a bridge over {x, y} between those two, an intrusion at x answered at y. Off-board
    cells are the edge beyond them, bits S*S + (0 top, 1 bottom, 2 left, 3 right); y = -1 off
    the board; a corner beyond two edges is bit 62, never owned."""
    cells = size * size

    def bit(r, c):
        beyond = [i for i, out in enumerate((r < 0, r >= size, c < 0, c >= size)) if out]
        if not beyond:
            return 1 << (r * size + c)
        return 1 << (cells + beyond[0]) if len(beyond) == 1 else 1 << 62

    def around(r, c):
        return {(r + dr, c + dc) for dr, dc in NEIGHBOUR_OFFSETS}

    out = np.full((cells, 6, 2), -1, np.int64)
    for x in range(cells):
        r, c = divmod(x, size)
        for k, (dr, dc) in enumerate(NEIGHBOUR_OFFSETS):
            yr, yc = r + dr, c + dc
            if 0 <= yr < size and 0 <= yc < size:
                common = around(r, c) & around(yr, yc)
                out[x, k] = yr * size + yc, sum(bit(*rc) for rc in common)
    return out


def _centre_first(size: int) -> np.ndarray:
    """Cells by hex distance from the centre, nearest first (a fixed order within each ring)."""
    rows, cols = np.divmod(np.arange(size * size), size)
    dr, dc = rows - (size - 1) / 2, cols - (size - 1) / 2
    distance = np.maximum(np.abs(dr), np.maximum(np.abs(dc), np.abs(dr + dc)))
    return np.lexsort((np.abs(dr - dc), distance)).astype(np.int64)


@numba.njit(cache=True, inline="always")
def _popcount(x):
    n = 0
    while x:
        x &= x - 1
        n += 1
    return n


@numba.njit(cache=True, inline="always")
def _neighbours(x, g):
    s = g[_SIZE]
    right, left = x & g[_NOT_LAST_COL], x & g[_NOT_FIRST_COL]
    out = (x << s) | (x >> s) | (right << 1) | (left >> 1) | (right >> (s - 1)) | (left << (s - 1))
    return out & g[_FULL]


@numba.njit(cache=True)
def _grow(seed, within, g):
    """The cells of `within` joined to `seed` (a subset of `within`) through `within`."""
    reach = seed
    while True:
        grown = (reach | _neighbours(reach, g)) & within
        if grown == reach:
            return reach
        reach = grown


@numba.njit(cache=True)
def _edges(black, g):
    if black:
        return g[_TOP], g[_BOTTOM]
    return g[_LEFT], g[_RIGHT]


@numba.njit(cache=True)
def _winning_cells(stones, empty, black, g):
    """Empty cells where one more stone joins the colour's two edges."""
    first, last = _edges(black, g)
    near_first = _neighbours(_grow(stones & first, stones, g), g) | first
    near_last = _neighbours(_grow(stones & last, stones, g), g) | last
    return near_first & near_last & empty


@numba.njit(cache=True)
def _reverse(x, cells):
    """The 180° rotation of a mask: bit i moves to bit cells-1-i."""
    x = ((x >> 1) & 0x55555555) | ((x & 0x55555555) << 1)
    x = ((x >> 2) & 0x33333333) | ((x & 0x33333333) << 2)
    x = ((x >> 4) & 0x0F0F0F0F) | ((x & 0x0F0F0F0F) << 4)
    x = ((x >> 8) & 0x00FF00FF) | ((x & 0x00FF00FF) << 8)
    x = ((x >> 16) & 0x0000FFFF) | ((x & 0x0000FFFF) << 16)
    return x >> (32 - cells)


@numba.njit(cache=True)
def _key(me, opp, me_black, cells):
    """(table key, whether the key is of the rotated position): a position and its rotation
    share one entry."""
    black, white = (me, opp) if me_black else (opp, me)
    key = black | (white << cells)
    turned = _reverse(black, cells) | (_reverse(white, cells) << cells)
    return min(key, turned) + 1, turned < key  # + 1: 0 marks an empty slot


@numba.njit(cache=True)
def _slot(key, size):
    mixed = key * -7046029254386353131  # Fibonacci hashing; int64 products wrap
    return (mixed ^ (mixed >> 31)) & (size - 1)


@numba.njit(cache=True)
def _lookup(table, key):
    """(1 won / 0 lost for the mover / -1 unknown, the proof's carrier)."""
    start = _slot(key, table.shape[0])
    for i in range(PROBES):
        j = (start + i) & (table.shape[0] - 1)
        if table[j, 0] >> 6 == key:
            return table[j, 0] & 1, table[j, 1]
        if table[j, 0] == 0:
            break
    return -1, 0


@numba.njit(cache=True)
def _store(table, key, won, carrier, work, stats):
    """Keep a result; a full bucket gives up its entry that took the least work."""
    start = _slot(key, table.shape[0])
    victim, least = start, 64
    for i in range(PROBES):
        j = (start + i) & (table.shape[0] - 1)
        if table[j, 0] == 0 or table[j, 0] >> 6 == key:
            victim, least = j, -1
            break
        if (table[j, 0] >> 1) & 31 < least:
            victim, least = j, (table[j, 0] >> 1) & 31
    stats[1] += least == -1
    table[victim, 0] = (key << 6) | (work << 1) | won
    table[victim, 1] = carrier


@numba.njit(cache=True)
def _log2(n):
    k = 0
    while n > 1 and k < 31:
        n >>= 1
        k += 1
    return k


@numba.njit(cache=True)
def _move_order(moves, me, me_black, last, ply, g, order, repair, killers, seq):
    """Fill `seq` with `moves`: this ply's killers (the moves that last won here), then the other
    cell of any bridge of the mover's that the opponent's `last` move broke into, then the rest
    centre first. Returns how many."""
    n = 0
    for cell in killers[ply]:
        if cell >= 0 and moves >> cell & 1:
            seq[n], n, moves = cell, n + 1, moves & ~(np.int64(1) << cell)
    if last >= 0:
        own = me | (np.int64(3 if me_black else 12) << g[_CELLS])  # with the mover's edges
        for k in range(6):
            cell, common = repair[last, k, 0], repair[last, k, 1]
            if cell >= 0 and moves >> cell & 1 and common & ~own == 0:
                seq[n], n, moves = cell, n + 1, moves & ~(np.int64(1) << cell)
    for cell in order:
        if moves >> cell & 1:
            seq[n], n = cell, n + 1
    return n


@numba.njit(cache=True)
def _fork(me, empty, me_black, moves, g):
    """A move of `moves` after which the mover has two cells that connect (the opponent, with
    no such cell, blocks one and the other wins): the carrier {move, those two}, else 0. Only a
    move next to a group on one of the mover's edges (or on the edge) can make a new one."""
    first, last = _edges(me_black, g)
    near_first = _neighbours(_grow(me & first, me, g), g) | first
    near_last = _neighbours(_grow(me & last, me, g), g) | last
    candidates = moves & (near_first | near_last)
    while candidates:
        bit = candidates & -candidates
        candidates ^= bit
        wins = _winning_cells(me | bit, empty & ~bit, me_black, g)
        if wins & (wins - 1):
            rest = wins & (wins - 1)
            return bit | (wins & -wins) | (rest & -rest)
    return 0


@numba.njit(cache=True)
def _mover_wins(me, opp, me_black, last, g, order, repair, table, stats, killers, seqs):
    """(whether the player to move, with stones `me`, wins; the carrier of the winner's proof).
    Neither side has connected and the mover has no cell that connects at once (the opponent
    would have had to block it); `last` is the opponent's last move (-1: unknown).

    The carrier is a set of empty cells outside which the loser may own any cells and still lose
    (Hex is monotone: extra stones never hurt their owner). So once a move is refuted, every
    untried move outside that refutation's carrier loses too and is skipped (the must-play
    region of Hayward et al. 2005, "Solving 7x7 Hex"), and a lost node's carrier is the union of
    its refutations' carriers and the moves they answer."""
    stats[0] += 1
    empty = g[_FULL] & ~(me | opp)
    threats = _winning_cells(opp, empty, not me_black, g)
    if threats & (threats - 1):  # one stone blocks one of them, the opponent plays another
        rest = threats & (threats - 1)
        return False, (threats & -threats) | (rest & -rest)
    key, turned = _key(me, opp, me_black, g[_CELLS])
    known, carrier = _lookup(table, key)
    if known >= 0:
        return known == 1, _reverse(carrier, g[_CELLS]) if turned else carrier
    start = stats[0]
    ply = g[_CELLS] - _popcount(empty)
    moves = threats if threats else empty  # a single threat must be blocked
    fork = _fork(me, empty, me_black, moves, g)
    if fork:
        return True, fork
    won, carrier = False, threats
    seq = seqs[ply]
    for i in range(_move_order(moves, me, me_black, last, ply, g, order, repair, killers, seq)):
        cell = seq[i]
        bit = np.int64(1) << cell
        if not moves & bit:
            continue  # refuted by an earlier refutation
        child_won, child_carrier = _mover_wins(opp, me | bit, not me_black, cell, g, order,
                                               repair, table, stats, killers, seqs)  # fmt: skip
        if not child_won:
            won, carrier = True, child_carrier | bit
            if killers[ply, 0] != cell:
                killers[ply, 1], killers[ply, 0] = killers[ply, 0], cell
            break
        moves &= child_carrier
        carrier |= child_carrier | bit
    stored = _reverse(carrier, g[_CELLS]) if turned else carrier
    _store(table, key, won, stored, _log2(stats[0] - start), stats)
    return won, carrier


@numba.njit(cache=True)
def _winning_moves(me, opp, me_black, cells, limit, g, order, repair, table, stats, killers, seqs):
    """Mask of the mover's moves that keep a win, trying `cells` in that order and stopping
    once `limit` are found; neither side has connected."""
    empty = g[_FULL] & ~(me | opp)
    now = _winning_cells(me, empty, me_black, g)
    threats = _winning_cells(opp, empty, not me_black, g)
    wins, found = np.int64(0), 0
    for cell in cells:
        bit = np.int64(1) << cell
        if found >= limit or not empty & bit:
            continue
        if now & bit:
            won = True
        elif threats & ~bit:  # the opponent connects next move
            won = False
        else:
            child_won, _ = _mover_wins(opp, me | bit, not me_black, cell, g, order, repair,
                                       table, stats, killers, seqs)  # fmt: skip
            won = not child_won
        if won:
            wins, found = wins | bit, found + 1
    return wins


@numba.njit(cache=True)
def _pick(me, opp, me_black, cells, resist, g, order, repair, table, stats, killers, seqs):
    """The perfect player's move, the first in `cells` (a random order: ties uniform) that wins;
    lost: with `resist` the first that leaves the opponent the fewest winning replies, else the
    first empty cell."""
    args = (g, order, repair, table, stats, killers, seqs)
    wins = _winning_moves(me, opp, me_black, cells, 1, *args)
    if wins:
        return _popcount(wins - 1)  # the index of its one bit
    empty = g[_FULL] & ~(me | opp)
    best, chosen = g[_CELLS] + 1, -1
    for cell in cells:
        bit = np.int64(1) << cell
        if empty & bit:
            if not resist:
                return cell
            # a lost position leaves at least one winning reply: stop counting at `best`
            n = _popcount(_winning_moves(opp, me | bit, not me_black, order, best, *args))
            if n < best:
                best, chosen = n, cell
                if best == 1:
                    break
    return chosen


@numba.njit(cache=True)
def _choice_mask(me, opp, me_black, g, order, repair, table, stats, killers, seqs):
    """(whether the mover wins, every move `_pick` chooses among: the winning moves, or in a lost
    position the moves that leave the opponent the fewest winning replies)."""
    args = (g, order, repair, table, stats, killers, seqs)
    wins = _winning_moves(me, opp, me_black, order, g[_CELLS], *args)
    if wins:
        return True, wins
    empty = g[_FULL] & ~(me | opp)
    best, chosen = g[_CELLS] + 1, np.int64(0)
    for cell in order:
        bit = np.int64(1) << cell
        if empty & bit:
            n = _popcount(_winning_moves(opp, me | bit, not me_black, order, best + 1, *args))
            if n < best:
                best, chosen = n, bit
            elif n == best:
                chosen |= bit
    return False, chosen


@numba.njit(cache=True)
def _picks(blacks, whites, orders, active, resist, g, order, repair, table, stats, killers,
           seqs):  # fmt: skip
    """[B] cells: `_pick` for each position, with `orders` [B, S*S] its tie order; -1 where
    `active` is False."""
    out = np.full(blacks.size, -1, np.int64)
    for i in range(blacks.size):
        if active[i]:
            black, white = blacks[i], whites[i]
            me_black = _popcount(black) == _popcount(white)
            me, opp = (black, white) if me_black else (white, black)
            out[i] = _pick(me, opp, me_black, orders[i], resist, g, order, repair, table, stats,
                           killers, seqs)  # fmt: skip
    return out


@numba.njit(cache=True)
def _values(blacks, whites, g, order, repair, table, stats, killers, seqs):
    """[B] whether the player to move wins each position."""
    out = np.zeros(blacks.size, np.bool_)
    for i in range(blacks.size):
        black, white = blacks[i], whites[i]
        me_black = _popcount(black) == _popcount(white)
        me, opp = (black, white) if me_black else (white, black)
        out[i] = _winning_moves(me, opp, me_black, order, 1, g, order, repair, table, stats,
                                killers, seqs) != 0  # fmt: skip
    return out


class _Board:
    """One board size's geometry, move order, transposition table, counters and opening book."""

    def __init__(self, size: int):
        self.size = size
        self.geometry = _geometry(size)
        self.order = _centre_first(size)
        self.table = np.zeros((1 << min(TABLE_BITS, 2 * size * size + 2), 2), np.int64)
        self.stats = np.zeros(2, np.int64)  # [nodes searched, table entries filled]
        self.repair = _bridge_repairs(size)
        self.killers = np.full((size * size + 1, 2), -1, np.int64)  # [ply, 2] cells
        self.seqs = np.zeros((size * size + 1, size * size), np.int64)  # [ply] move order
        self.book = _load_book(size)  # (black, white) → (mover wins, `_choice_mask`)

    def masks(self, moves: Sequence[int]) -> tuple[int, int]:
        black = sum(1 << c for c in moves[0::2])
        white = sum(1 << c for c in moves[1::2])
        return black, white

    def args(self):
        return (
            self.geometry,
            self.order,
            self.repair,
            self.table,
            self.stats,
            self.killers,
            self.seqs,
        )

    def opening(self, black: int, white: int) -> tuple[bool, int]:
        """`_choice_mask` of an early position, from the book, else searched and added to it:
        the first moves are the costliest to solve and the same in many games."""
        if (black, white) not in self.book:
            me_black = black.bit_count() == white.bit_count()
            me, opp = (black, white) if me_black else (white, black)
            won, mask = _choice_mask(np.int64(me), np.int64(opp), me_black, *self.args())
            self.book[black, white] = bool(won), int(mask)
            _save_book(self.size, self.book)
        return self.book[black, white]


def _book_path(size: int) -> Path:
    return cache_dir() / f"hex_search_{size}x{size}_book.npy"


def _load_book(size: int) -> dict[tuple[int, int], tuple[bool, int]]:
    """The opening book on disk: rows (black, white, mover wins, choice mask), int64."""
    path = _book_path(size)
    rows = np.load(path, allow_pickle=False) if path.exists() else np.zeros((0, 4), np.int64)
    if rows.ndim != 2 or rows.shape[1] != 4:
        return {}
    return {(int(b), int(w)): (bool(won), int(mask)) for b, w, won, mask in rows}


def _save_book(size: int, book: dict[tuple[int, int], tuple[bool, int]]) -> None:
    """Merged with what other processes wrote, then replaced atomically (no pickle)."""
    merged = {**_load_book(size), **book}
    rows = np.array([(*k, *v) for k, v in sorted(merged.items())], np.int64).reshape(-1, 4)
    path = _book_path(size)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".npy", delete=False) as tmp:
        np.save(tmp, rows, allow_pickle=False)
    os.replace(tmp.name, path)


@functools.cache
def board(size: int) -> _Board:
    """The solver state of `size` (one per process)."""
    if not isinstance(size, int) or not 2 <= size <= MAX_SIZE:
        raise ValueError(f"the search solver handles boards 2..{MAX_SIZE}, got {size!r}")
    return _Board(size)


def solve(size: int, moves: Sequence[int]) -> tuple[bool, list[int]]:
    """Solve the position after `moves` (absolute cells, alternating from black): (whether the
    player to move wins with perfect play, sorted moves that keep the win; empty when lost or
    over). The same contract as `hex_env.solver.solve`."""
    b = board(size)
    if winner_of(size, moves) is not None:  # also validates the moves
        return False, []
    black, white = b.masks(moves)
    me_black = len(moves) % 2 == 0
    me, opp = (black, white) if me_black else (white, black)
    cells = size * size
    wins = int(_winning_moves(np.int64(me), np.int64(opp), me_black, b.order, cells, *b.args()))
    winning = [c for c in range(cells) if wins >> c & 1]
    return bool(winning), winning


def _bitboards(size: int, boards: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    weights = np.int64(1) << np.arange(size * size, dtype=np.int64)
    return (boards > 0) @ weights, (boards < 0) @ weights


def values(size: int, boards: np.ndarray) -> np.ndarray:
    """[B] bool: whether the player to move wins, for `boards` [B, S*S] as in `picks`."""
    blacks, whites = _bitboards(size, np.asarray(boards))
    return _values(blacks, whites, *board(size).args())


def picks(
    size: int, boards: np.ndarray, priority: np.ndarray, active: np.ndarray, *, resist: bool
) -> np.ndarray:
    """[B] the perfect player's moves for `boards` [B, S*S] (>0 black, <0 white, 0 empty; black
    moves when the counts are equal; no side has connected): the winning move of lowest
    `priority` [B, S*S] (uniform priorities: a uniformly random winning move); in a lost
    position, with `resist`, the lowest-priority move of those that leave the opponent the
    fewest winning replies, else the lowest-priority empty cell. -1 where `active` [B] is
    False. Positions of at most `BOOK_STONES` stones are read from the opening book."""
    b = board(size)
    blacks, whites = _bitboards(size, boards)
    orders = np.argsort(priority, axis=-1).astype(np.int64)
    active = np.asarray(active, bool)
    early = active & ((boards != 0).sum(-1) <= BOOK_STONES)
    out = _picks(blacks, whites, orders, active & ~early, resist, *b.args())
    for i in np.flatnonzero(early):
        won, mask = b.opening(int(blacks[i]), int(whites[i]))
        if not won and not resist:
            mask = ~int(blacks[i] | whites[i])
        out[i] = next(c for c in orders[i] if mask >> int(c) & 1)
    return out


__all__ = ["BOOK_STONES", "MAX_SIZE", "board", "picks", "solve", "values"]
