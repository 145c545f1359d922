"""Checked, plain-Python Hex for people and tests: `winner_of` and `render`.

Written independently of the JAX core (a breadth-first search over stones), so tests can
cross-check one against the other.
"""

from __future__ import annotations

from collections.abc import Sequence

from hex_env.core import NEIGHBOUR_OFFSETS


def connects(size: int, stones: set[int], seat: int) -> bool:
    """Whether `stones` (cells of one colour) join that seat's two edges (0: top↔bottom)."""
    coord = (lambda c: c // size) if seat == 0 else (lambda c: c % size)
    frontier = [c for c in stones if coord(c) == 0]
    seen = set(frontier)
    while frontier:
        cell = frontier.pop()
        if coord(cell) == size - 1:
            return True
        row, col = divmod(cell, size)
        for dr, dc in NEIGHBOUR_OFFSETS:
            r, c = row + dr, col + dc
            nbr = r * size + c
            if 0 <= r < size and 0 <= c < size and nbr in stones and nbr not in seen:
                seen.add(nbr)
                frontier.append(nbr)
    return False


def _check_moves(size: int, moves: Sequence[int]) -> list[set[int]]:
    if not isinstance(size, int) or size < 2:
        raise ValueError(f"board size must be an int >= 2, got {size!r}")
    stones: list[set[int]] = [set(), set()]
    for ply, cell in enumerate(moves):
        if not 0 <= cell < size * size:
            raise ValueError(
                f"move {ply} ({cell}) is off a {size}x{size} board (cells 0..{size * size - 1})"
            )
        if cell in stones[0] or cell in stones[1]:
            raise ValueError(f"move {ply} ({cell}) is on an occupied cell")
        stones[ply % 2].add(cell)
    return stones


def winner_of(size: int, moves: Sequence[int]) -> int | None:
    """Winner of a game given as absolute cells `row*size + col`, moves alternating from black.

    Returns 0 (black), 1 (white) or None (unfinished). Raises ValueError for an occupied or
    off-board cell, or for a move played after the game was already won.
    """
    _check_moves(size, moves)
    stones: list[set[int]] = [set(), set()]
    for ply, cell in enumerate(moves):
        seat = ply % 2
        stones[seat].add(cell)
        if connects(size, stones[seat], seat):
            if ply != len(moves) - 1:
                raise ValueError(
                    f"the game was won at move {ply}; {len(moves) - ply - 1} moves follow it"
                )
            return seat
    return None


def render(size: int, moves: Sequence[int]) -> str:
    """ASCII board: `X` black (top↔bottom), `O` white (left↔right), `.` empty; rows shift right
    as they go down, so each cell's six neighbours are the adjacent ones on screen."""
    stones = _check_moves(size, moves)
    letters = "abcdefghijklmnopqrstuvwxyz"[:size]
    lines = ["   " + " ".join(letters)]
    for row in range(size):
        cells = []
        for col in range(size):
            cell = row * size + col
            cells.append("X" if cell in stones[0] else "O" if cell in stones[1] else ".")
        lines.append(f"{' ' * row}{row + 1:>2} " + " ".join(cells))
    return "\n".join(lines)
