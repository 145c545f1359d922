"""The 5×5 search solver (`hex_env.search_solver`) against the 4×4 retrograde table, a plain
minimax and the published 5×5 openings, and the 5×5 perfect players built on it."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import fake_snapshot
from test_solver import _brute_force, _random_position

import hex_env as he
from agents import players
from hex_env import search_solver, solver
from pipeline.evaluate.players import black_wins_vs_solver
from pipeline.evaluate.pool import anchor_agents
from pipeline.infra.config import AnchorConfig

# Winning first moves of 5×5 Hex without swap, as absolute cells row * 5 + col; in HexWiki's
# coordinates (letter = column from the left, number = row from the top, a1 an acute corner, the
# first player vertical, as black here) e1, b2 c2 d2 e2, b3 c3 d3, a4 b4 c4 d4, a5. The published
# table of every opening up to 6×6 is Queenbee's (van Rijswijck,
# http://www.cs.ualberta.ca/~queenbee/openings.html), copied on HexWiki's "Small boards"
# (https://www.hexwiki.net/index.php/Small_boards); both are diagrams that could not be read as
# text here, so this list is the solver's own answer, pinned. The test checks it against what
# those pages state in words: the first player wins; a1 and b1 lose (HexWiki, "Open problems":
# no other cell is known to lose on every board); the centre and the whole short diagonal win
# (ibid.: "is every opening move on the short diagonal winning?", asked of all sizes).
OPENINGS_5X5 = [4, 6, 7, 8, 9, 11, 12, 13, 15, 16, 17, 18, 20]


def _boards(size: int, stones: int) -> np.ndarray:
    """[N, S*S] int8 boards (1 black, -1 white) of every placement of `stones` stones, black
    holding the extra one."""
    cells, n_white = size * size, stones // 2
    out = []
    for black in itertools.combinations(range(cells), stones - n_white):
        rest = [c for c in range(cells) if c not in black]
        for white in itertools.combinations(rest, n_white):
            row = np.zeros(cells, np.int8)
            row[list(black)], row[list(white)] = 1, -1
            out.append(row)
    return np.array(out, np.int8).reshape(-1, cells)


def _random_boards(rng, size: int, stones: int, n: int) -> np.ndarray:
    cells, n_white = size * size, stones // 2
    order = rng.random((n, cells)).argsort(-1)
    boards = np.zeros((n, cells), np.int8)
    np.put_along_axis(boards, order[:, : stones - n_white], 1, -1)
    np.put_along_axis(boards, order[:, stones - n_white : stones], -1, -1)
    return boards


def _unfinished(size: int, boards: np.ndarray) -> np.ndarray:
    weights = (1 << np.arange(size * size)).astype(np.uint32)
    black, white = (boards > 0) @ weights, (boards < 0) @ weights
    return boards[~solver._connected(size, black, 0) & ~solver._connected(size, white, 1)]


def _agrees_with_table(size: int, boards: np.ndarray) -> None:
    boards = _unfinished(size, boards)
    pow3 = 3 ** np.arange(size * size, dtype=np.int64)
    index = (boards == 1) @ pow3 + 2 * ((boards == -1) @ pow3)
    expected = solver.table(size)[index] == 1
    got = search_solver.values(size, boards)
    bad = np.flatnonzero(got != expected)
    assert bad.size == 0, f"{bad.size} of {len(boards)} disagree, e.g. {boards[bad[0]].tolist()}"


@pytest.mark.parametrize("size", [2, 3])
def test_every_position_of_tiny_boards_agrees_with_the_table(size):
    for stones in range(size * size):
        _agrees_with_table(size, _boards(size, stones))


def test_4x4_positions_agree_with_the_table():
    """CI-sized: every position with ≤ 4 stones, 150 random ones of each larger count."""
    rng = np.random.default_rng(4)
    for stones in range(5):
        _agrees_with_table(4, _boards(4, stones))
    for stones in range(5, 16):
        _agrees_with_table(4, _random_boards(rng, 4, stones, 150))


@pytest.mark.slow
def test_4x4_positions_agree_with_the_table_in_full():
    """Every position with ≤ 6 stones, 1,000 random ones of each larger count."""
    rng = np.random.default_rng(44)
    for stones in range(7):
        _agrees_with_table(4, _boards(4, stones))
    for stones in range(7, 16):
        _agrees_with_table(4, _random_boards(rng, 4, stones, 1000))


def test_winning_moves_agree_with_the_table_solver_on_random_4x4_games():
    rng = np.random.default_rng(5)
    checked = 0
    while checked < 200:
        moves = _random_position(rng, 4, int(rng.integers(0, 15)))
        if moves is not None:
            assert search_solver.solve(4, moves) == solver.solve(4, moves), moves
            checked += 1


@pytest.mark.parametrize(
    "size, min_stones, max_stones, n_positions", [(3, 2, 7, 30), (4, 8, 14, 25), (5, 16, 22, 12)]
)
def test_agrees_with_brute_force(size, min_stones, max_stones, n_positions):
    rng = np.random.default_rng(size + 10)
    checked = 0
    while checked < n_positions:
        moves = _random_position(rng, size, int(rng.integers(min_stones, max_stones + 1)))
        if moves is None:
            continue
        black, white = frozenset(moves[0::2]), frozenset(moves[1::2])
        assert search_solver.solve(size, moves) == _brute_force(size, black, white), moves
        checked += 1


def test_5x5_openings_match_the_published_ones():
    assert solver.solve(5, []) == (True, OPENINGS_5X5)
    assert 0 not in OPENINGS_5X5 and 1 not in OPENINGS_5X5  # a1, b1
    assert {4, 8, 12, 16, 20} <= set(OPENINGS_5X5)  # the short diagonal e1…a5, centre c3
    # 180° rotation maps the board onto itself, edges included: cell c to 24 - c
    assert sorted(24 - c for c in OPENINGS_5X5) == OPENINGS_5X5


@pytest.mark.slow
def test_5x5_openings_do_not_depend_on_the_search_order():
    """The same openings from a fresh table with the move order transposed (cell (r, c) tried
    where (c, r) was; each ring round the centre stays in place): the pruning (carriers, forks)
    and the killers then take other paths to the same values."""
    b = search_solver._Board(5)
    b.order = np.array([c % 5 * 5 + c // 5 for c in b.order], np.int64)
    wins = search_solver._winning_moves(0, 0, True, b.order, 25, *b.args())
    assert [c for c in range(25) if wins >> c & 1] == OPENINGS_5X5


def test_finished_and_bad_5x5_positions():
    assert solver.solve(5, [0, 1, 5, 2, 10, 3, 15, 4, 20]) == (False, [])  # black's a-column
    with pytest.raises(ValueError, match="occupied"):
        solver.solve(5, [12, 12])
    with pytest.raises(ValueError, match="boards 2..5"):
        solver.solve(6, [])


def _fewest_replies_by_definition(moves):
    """The moves of a lost 5×5 position that leave the opponent the fewest winning replies,
    counted by `solve` on every child."""
    counts = {}
    for cell in set(range(25)) - set(moves):
        counts[cell] = len(solver.solve(5, [*moves, cell])[1])
    best = min(counts.values())
    return {c for c, n in counts.items() if n == best}


def test_resisting_picks_follow_the_fewest_replies_rule():
    rng = np.random.default_rng(7)
    checked = 0
    while checked < 6:
        moves = _random_position(rng, 5, int(rng.integers(9, 15)))
        if moves is None or solver.solve(5, moves)[0]:
            continue
        board = np.zeros((1, 25), np.int8)
        board[0, moves[0::2]], board[0, moves[1::2]] = 1, -1
        allowed = _fewest_replies_by_definition(moves)
        picked = set()
        for _ in range(8):
            pick = search_solver.picks(5, board, rng.random((1, 25)), [True], resist=True)
            picked.add(int(pick[0]))
        assert picked <= allowed, moves
        checked += 1


def test_5x5_anchor_moves_through_the_callback_are_perfect():
    """The match engine's anchor call (vmapped over pairings, jitted): with ε = 0 every move of
    a won position wins; ε = 1 asks the solver nothing and plays legal moves."""
    rng = np.random.default_rng(8)
    games = [_random_position(rng, 5, int(rng.integers(2, 16))) for _ in range(40)]
    games = [m for m in games if m is not None][:8]
    states = []
    for moves in games:
        state = he.init(5)
        for cell in moves:
            state = he.step(state, cell)
        states.append(state)
    batch = jax.tree.map(lambda *x: jnp.stack(x).reshape(2, 4, *x[0].shape), *states)
    act = jax.jit(jax.vmap(players.eps_perfect_act_fn(5)))
    keys = jax.random.split(jax.random.key(0), 2)
    perfect = np.asarray(act(jnp.zeros(2), keys, batch)).reshape(-1)
    randomly = np.asarray(act(jnp.ones(2), keys, batch)).reshape(-1)
    for moves, move, other in zip(games, perfect, randomly, strict=True):
        wins, winning = solver.solve(5, moves)
        assert move not in moves and other not in moves
        if wins:
            assert move in winning, (moves, move)


def _play_out(state, black, white, key):
    """One game from `state` to its end, each player asked with a batch of one."""
    while not bool(state.terminated):
        key, sub = jax.random.split(key)
        mover = black if int(state.current_player) == he.BLACK else white
        state = he.step(state, mover.act(sub, jax.tree.map(lambda x: x[None], state))[0])
    return int(state.winner)


def test_resisting_anchor_converts_a_won_position():
    """After black's losing corner opening and white's winning reply, the ε = 0 anchor as white
    beats a random black every game."""
    assert not solver.solve(5, [0, 12])[0]
    state = he.step(he.step(he.init(5), 0), 12)
    white = players.eps_perfect_player(5, 0.0)
    for seed in range(4):
        assert _play_out(state, players.random_player(), white, jax.random.key(seed)) == he.WHITE


def test_opening_book_is_searched_once_and_kept_on_disk(tmp_path, monkeypatch):
    monkeypatch.setenv("HEXSCALE_CACHE", str(tmp_path))
    first = search_solver._Board(4)
    assert first.opening(0, 0) == (True, sum(1 << c for c in (3, 6, 9, 12)))
    replies = sum(1 << c for c in search_solver.solve(4, [0])[1])
    assert first.opening(1, 0) == (True, replies)  # black's corner loses
    lost, resist = first.opening(1 << 3, 0)  # black's winning opening: white resists
    assert not lost and resist != 0
    again = search_solver._Board(4)
    assert again.book == first.book and again.stats[0] == 0


def test_the_fixed_solver_check_runs_on_5x5_agents(tmp_path):
    """`black_wins_vs_solver` (argmax, no noise, the agent as black vs the exact solver) on a
    random 5×5 net, and the 5×5 pool anchors at the solver."""
    snapshot = fake_snapshot(tmp_path, 0, run="b5-w4-d1-test", size=5)
    assert 0.0 <= black_wins_vs_solver(snapshot, games=4, nodes=1) <= 1.0
    kinds = [a.kind for a in anchor_agents(5, AnchorConfig())]
    assert kinds == ["perfect", "eps_perfect", "eps_perfect", "random"]
