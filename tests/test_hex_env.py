"""The JAX Hex core against literal games, an independent implementation and game properties."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import hex_env as he
from hex_env.play import connects


@functools.cache
def _player(size: int, swap_rule: bool = False):
    """jit: [B, T] absolute actions → batched final states (moves after the end are no-ops)."""

    def play(actions):
        def one(moves):
            state = he.init(size, swap_rule=swap_rule)
            return jax.lax.scan(lambda s, a: (he.step(s, a), None), state, moves)[0]

        return jax.vmap(one)(actions)

    return jax.jit(play)


def _random_games(size: int, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.argsort(rng.random((n, size * size)), axis=1).astype(np.int32)


def test_scripted_3x3_black_wins_down_the_middle():
    state = he.init(3)
    for cell in [4, 0, 1, 3]:
        state = he.step(state, cell)
        assert not state.terminated and state.reward == 0
    state = he.step(state, 7)
    assert state.terminated and int(state.winner) == he.BLACK and float(state.reward) == 1.0
    assert int(state.ply) == 5 and int(state.current_player) == he.WHITE
    assert he.render(3, [4, 0, 1, 3, 7]) == "\n".join(
        ["   a b c", " 1 O X .", "  2 O X .", "   3 . X ."]
    )
    assert he.winner_of(3, [4, 0, 1, 3, 7]) == 0
    # moves after the end change nothing
    after = he.step(state, 8)
    assert int(after.board[8]) == 0 and float(after.reward) == 0 and int(after.ply) == 5


def test_scripted_2x2_white_wins_on_the_obtuse_diagonal():
    # black's 0 and 3 lie on the acute diagonal and are not neighbours; white's 2 and 1 are
    moves = [0, 2, 3, 1]
    assert he.winner_of(2, moves[:3]) is None
    assert he.winner_of(2, moves) == 1
    final = _player(2)(jnp.array([moves]))
    assert int(final.winner[0]) == he.WHITE and int(final.ply[0]) == 4
    np.testing.assert_array_equal(np.sign(np.asarray(final.board[0])), [1, -1, -1, 1])


@pytest.mark.parametrize("n_games", [300, pytest.param(10_000, marks=pytest.mark.slow)])
@pytest.mark.parametrize("size", range(3, 12))
def test_agrees_with_open_spiel(size, n_games):
    """Winner and game length of uniformly random games match open_spiel's `hex`."""
    pyspiel = pytest.importorskip("pyspiel")
    games = _random_games(size, n_games, seed=size)
    final = _player(size)(jnp.asarray(games))
    winners, plies = np.asarray(final.winner), np.asarray(final.ply)
    game = pyspiel.load_game(f"hex(num_rows={size},num_cols={size})")
    for g, moves in enumerate(games):
        state = game.new_initial_state()
        for cell in moves:
            state.apply_action(int(cell))
            if state.is_terminal():
                break
        assert plies[g] == state.move_number(), (size, g)
        assert winners[g] == (0 if state.returns()[0] > 0 else 1), (size, g)


@settings(max_examples=40, deadline=None)
@given(size=st.integers(2, 8), seed=st.integers(0, 2**31 - 1))
def test_full_board_has_exactly_one_winner(size, seed):
    rng = np.random.default_rng(seed)
    cells = rng.permutation(size * size)
    n_black = (size * size + 1) // 2
    black, white = set(cells[:n_black].tolist()), set(cells[n_black:].tolist())
    assert connects(size, black, 0) != connects(size, white, 1)
    # transposing the board and swapping colours swaps the winner
    t = lambda c: (c % size) * size + c // size
    assert connects(size, {t(c) for c in white}, 0) == connects(size, white, 1)
    assert connects(size, {t(c) for c in black}, 1) == connects(size, black, 0)


@settings(max_examples=25, deadline=None)
@given(size=st.sampled_from([2, 3, 5, 7]), seed=st.integers(0, 2**31 - 1))
def test_batched_env_agrees_with_winner_of_and_rotation(size, seed):
    games = _random_games(size, 8, seed)
    final = _player(size)(jnp.asarray(games))
    rotated = _player(size)(jnp.asarray(size * size - 1 - games))
    for g, moves in enumerate(games):
        ply = int(final.ply[g])
        assert bool(final.terminated[g])  # a full game always ends with a winner
        assert he.winner_of(size, moves[:ply].tolist()) == int(final.winner[g])
        assert he.winner_of(size, moves[: ply - 1].tolist()) is None
        # 180° rotation maps the game onto an equivalent one: same winner, same length
        assert int(rotated.winner[g]) == int(final.winner[g])
        assert int(rotated.ply[g]) == ply


def test_observation_is_player_relative_and_actions_map_back():
    size = 4
    state = he.init(size)
    state = he.step(state, 1)  # black at (0, 1)
    obs = he.observe(state)  # white to move: transposed, own = white, opp = black
    assert obs.shape == (size, size, 2)
    assert obs[1, 0, 1] == 1 and obs.sum() == 1
    rel_mask = he.relative_legal_mask(state)
    assert not rel_mask[1 * size + 0] and rel_mask[1]
    # white's relative action (row 2, col 3) is the absolute cell (3, 2)
    assert int(he.to_absolute_action(state, 2 * size + 3)) == 3 * size + 2
    state = he.step(state, he.to_absolute_action(state, 2 * size + 3))
    obs = he.observe(state)  # black to move: untransposed
    assert obs[0, 1, 0] == 1 and obs[3, 2, 1] == 1 and obs.sum() == 2


def test_legal_mask_and_reset_where_done_are_batched():
    games = _random_games(3, 6, seed=1)
    final = _player(3)(jnp.asarray(games))
    assert final.terminated.all()
    assert not jax.vmap(he.legal_action_mask)(final).any()
    half = jax.tree.map(lambda x: x, final)
    half = half.replace(winner=half.winner.at[:3].set(he.NO_WINNER))
    reset = he.reset_where_done(half)
    assert (reset.board[3:] == 0).all() and (reset.ply[3:] == 0).all()
    np.testing.assert_array_equal(reset.board[:3], final.board[:3])


def test_swap_rule_mirrors_the_opening_stone():
    size = 3
    state = he.init(size, swap_rule=True)
    assert state.num_actions == size * size + 1
    assert not he.legal_action_mask(state)[-1]
    state = he.step(state, 1)  # black at (0, 1)
    assert he.legal_action_mask(state)[-1]
    state = he.step(state, size * size)  # white swaps: white stone at (1, 0), black to move
    assert int(state.board[3]) < 0 and int((state.board != 0).sum()) == 1
    assert int(state.current_player) == he.BLACK and int(state.ply) == 2
    assert not he.legal_action_mask(state)[-1]
    # white now wins along the middle row: (1,0) (1,1) (1,2)
    for cell in [0, 4, 2, 5]:
        state = he.step(state, cell)
    assert int(state.winner) == he.WHITE


@pytest.mark.parametrize(
    "moves, message",
    [
        ([0, 0], "occupied"),
        ([9], "off a 3x3"),
        ([-1], "off a 3x3"),
        ([4, 0, 1, 3, 7, 2], "won at move 4"),
    ],
)
def test_winner_of_rejects_bad_moves(moves, message):
    with pytest.raises(ValueError, match=message):
        he.winner_of(3, moves)


def test_init_rejects_bad_size():
    with pytest.raises(ValueError, match="board size"):
        he.init(1)
