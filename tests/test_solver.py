"""The exact solver against known small-board facts and a brute-force search."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import hex_env as he
from hex_env import solver
from hex_env.play import connects


def _brute_force(size: int, black: frozenset, white: frozenset) -> tuple[bool, list[int]]:
    """Plain negamax over frozensets: does the player to move win, and with which moves?"""

    @functools.cache
    def mover_wins(black: frozenset, white: frozenset) -> bool:
        black_to_move = len(black) == len(white)
        if connects(size, black, 0) or connects(size, white, 1):
            return False  # the previous mover has won
        for c in range(size * size):
            if c in black or c in white:
                continue
            child = (black | {c}, white) if black_to_move else (black, white | {c})
            if not mover_wins(*child):
                return True
        return False

    black_to_move = len(black) == len(white)
    wins = []
    for c in range(size * size):
        if c not in black and c not in white:
            child = (black | {c}, white) if black_to_move else (black, white | {c})
            if not mover_wins(*child):
                wins.append(c)
    return mover_wins(black, white), wins


@pytest.mark.parametrize(
    "size, first_moves",
    [(2, [1, 2]), (3, [2, 3, 4, 5, 6]), (4, [3, 6, 9, 12])],
)
def test_first_player_wins_empty_board_with_known_openings(size, first_moves):
    assert solver.solve(size, []) == (True, first_moves)


def _random_position(rng, size, n_stones):
    """Moves of a random unfinished game with `n_stones` stones, or None if it ended early."""
    moves = rng.permutation(size * size)[:n_stones].tolist()
    if any(he.winner_of(size, moves[:k]) is not None for k in range(1, n_stones + 1)):
        return None
    return moves


@pytest.mark.parametrize("size, min_stones, n_positions", [(3, 0, 60), (4, 7, 25)])
def test_agrees_with_brute_force_on_random_positions(size, min_stones, n_positions):
    rng = np.random.default_rng(size)
    checked = 0
    while checked < n_positions:
        moves = _random_position(rng, size, int(rng.integers(min_stones, size * size - 1)))
        if moves is None:
            continue
        black, white = frozenset(moves[0::2]), frozenset(moves[1::2])
        assert solver.solve(size, moves) == _brute_force(size, black, white), moves
        checked += 1


def test_finished_game_is_lost_for_the_mover_and_bad_input_is_refused():
    assert solver.solve(3, [4, 0, 1, 3, 7]) == (False, [])
    with pytest.raises(ValueError, match="occupied"):
        solver.solve(3, [4, 4])
    with pytest.raises(ValueError, match="boards 2..5"):
        solver.solve(6, [])
    with pytest.raises(ValueError, match="tables cover boards 2..4"):
        solver.table(5)


@functools.cache
def _match(size: int, n_games: int):
    """jit: perfect black vs uniformly random white, and perfect vs perfect, from empty boards."""
    solved = jnp.asarray(solver.table(size))

    def game(key, perfect_white):
        def move(state, key):
            perfect_key, random_key = jax.random.split(key)
            perfect = solver.perfect_action(solved, state, perfect_key)
            legal = he.legal_action_mask(state)
            rand = jax.random.categorical(random_key, jnp.where(legal, 0.0, -jnp.inf))
            use_perfect = (state.current_player == 0) | perfect_white
            return he.step(state, jnp.where(use_perfect, perfect, rand)), None

        keys = jax.random.split(key, size * size)
        return jax.lax.scan(move, he.init(size), keys)[0].winner

    keys = jax.random.split(jax.random.key(0), n_games)
    play = jax.jit(jax.vmap(game, in_axes=(0, None)))
    return np.asarray(play(keys, False)), np.asarray(play(keys, True))


@pytest.mark.parametrize("size", [2, 3, 4])
def test_perfect_black_always_wins(size):
    vs_random, vs_perfect = _match(size, 256)
    assert (vs_random == 0).all() and (vs_perfect == 0).all()


def test_perfect_white_punishes_a_losing_black_opening():
    # 4x4: black's corner opening 0 loses; a perfect white must then win every game
    solved = jnp.asarray(solver.table(4))
    assert solver.solve(4, [0])[0]  # white, to move, wins
    state = he.step(he.init(4), 0)
    wins = 0
    for seed in range(32):
        s, key = state, jax.random.key(seed)
        while not bool(s.terminated):
            key, sub = jax.random.split(key)
            if int(s.current_player) == 1:
                s = he.step(s, solver.perfect_action(solved, s, sub))
            else:
                legal = he.legal_action_mask(s)
                s = he.step(s, jax.random.categorical(sub, jnp.where(legal, 0.0, -jnp.inf)))
        wins += int(s.winner) == 1
    assert wins == 32
