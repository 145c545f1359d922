"""The 5×5 search solver's speed: `solve(5, [])`, positions solved per second along games, and
the anchor games of a smoke-sized 5×5 pool through the match engine (docs/benchmarks.md).

    .venv/bin/python scripts/bench_solver.py                 # everything, fresh cache
    .venv/bin/python scripts/bench_solver.py --skip-pool     # solver only

Each part starts from an empty transposition table and an empty `HEXSCALE_CACHE` (no opening
book); the compiled kernels come from the numba cache when present (the first call's load or
compile time is reported on its own). The pool is the smoke preset's evaluation on 5×5: two
runs (widths 8, 32, depth 1) × 11 snapshots with seeded random parameters (near-random play, the
most varied positions), the perfect and ε-perfect (0.1, 0.3) anchors and the random player, 16
games per pair, no node variants; only the pairs with a solver anchor are played. Last, perfect
black against the resisting anchor (lost from its first move, so every move counts winning
replies).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402


def solve_empty() -> None:
    from hex_env import search_solver

    start = time.perf_counter()
    search_solver.solve(3, [])
    print(f"kernels ready (numba compile or cache load): {time.perf_counter() - start:.1f} s")
    b = search_solver.board(5)
    start = time.perf_counter()
    wins, moves = search_solver.solve(5, [])
    print(f"solve(5, []): {time.perf_counter() - start:.1f} s, {b.stats[0]:,} nodes, "
          f"{b.stats[1]:,} table entries; black wins {wins}, winning openings {moves}")  # fmt: skip


def random_positions(rng, n_games: int) -> list[list[int]]:
    """Every unfinished position of `n_games` uniformly random 5×5 games."""
    from hex_env.play import winner_of

    out = []
    for _ in range(n_games):
        moves: list[int] = []
        for cell in rng.permutation(25).tolist():
            out.append(list(moves))
            moves.append(cell)
            if winner_of(5, moves) is not None:
                break
    return out


def positions_per_s(n_games: int) -> None:
    """`solve` (value and every winning move) on each position of random games, by stones."""
    from hex_env import search_solver

    positions = random_positions(np.random.default_rng(0), n_games)
    rows = {}
    for moves in positions:
        start = time.perf_counter()
        search_solver.solve(5, moves)
        bucket = min(len(moves) // 4, 4)
        rows.setdefault(bucket, []).append(time.perf_counter() - start)
    print(f"solve() on the {len(positions)} positions of {n_games} random games:")
    for bucket, seconds in sorted(rows.items()):
        stones = f"{4 * bucket}-{4 * bucket + 3}" if bucket < 4 else "16+"
        print(f"  {stones:>5} stones: {len(seconds):5d} positions, "
              f"{len(seconds) / sum(seconds):9.1f} /s, slowest {max(seconds):.2f} s")  # fmt: skip
    total = sum(sum(v) for v in rows.values())
    print(f"  all: {len(positions) / total:.1f} positions/s")


def anchor_games(root: Path) -> None:
    import jax

    from pipeline.evaluate.match_engine import MatchEngine, make_batches
    from pipeline.evaluate.pool import architecture_capacity, build_pool, discover_snapshots
    from pipeline.infra.config import compose

    sys.path.insert(0, str(REPO / "scripts"))
    from bench_eval import SMOKE_WIDTHS, make_pool

    SMOKE_WIDTHS.setdefault(5, (8, 32))
    make_pool(root, 5, "puct")
    cfg = compose(f"results_dir={root}", "board.size=5", "+experiment=smoke",
                  "eval.variant_snapshots=none")  # fmt: skip
    pool = build_pool(cfg, discover_snapshots(root, 5))
    solver_anchors = {
        a for a, spec in pool.agents.items() if spec.kind != "network" and spec.eps < 1
    }
    targets = {pair: n for pair, n in pool.targets.items() if set(pair) & solver_anchors}
    arch = architecture_capacity(pool.agents.values())
    engine = MatchEngine(5, arch=arch)
    batches = make_batches({p: [(0, n)] for p, n in targets.items()}, pool.agents,
                           cfg.eval.batch, arch)  # fmt: skip
    from hex_env import search_solver

    b, picked, solver_s = search_solver.board(5), [0], [0.0]
    plain = search_solver.picks

    def timed(size, boards, priority, active, *, resist):  # counts the anchor moves asked
        start = time.perf_counter()
        out = plain(size, boards, priority, active, resist=resist)
        picked[0] += int(np.sum(active))
        solver_s[0] += time.perf_counter() - start
        return out

    search_solver.picks = timed
    games, start = 0, time.perf_counter()
    for batch in batches:
        engine.play(batch, jax.random.PRNGKey(0))
        games += sum(batch.games)
    wall = time.perf_counter() - start
    search_solver.picks = plain
    print(f"anchor games of the smoke-sized 5x5 pool ({len(pool.reference)} agents, "
          f"{len(targets)} ordered pairs with a solver anchor): {games} games in {wall:.0f} s, "
          f"{games / wall:.2f} games/s; {picked[0]:,} solver moves in {solver_s[0]:.0f} s "
          f"({picked[0] / solver_s[0]:.0f}/s), {b.stats[0]:,} nodes searched")  # fmt: skip


def perfect_vs_resisting(n_games: int) -> None:
    """The resisting anchor's worst case, lost from the first move: perfect black against it."""
    import jax

    from agents import players

    start = time.perf_counter()
    final = players.play_games(players.perfect_player(5), players.eps_perfect_player(5, 0.0), 5,
                               n_games, jax.random.key(3))  # fmt: skip
    wall = time.perf_counter() - start
    print(f"perfect black vs the resisting anchor: {n_games} games in {wall:.0f} s "
          f"({n_games / wall:.2f} games/s), black won {float((final.winner == 0).mean()):.0%}, "
          f"{float(final.ply.mean()):.1f} plies per game")  # fmt: skip


def fresh(root: Path, part: str) -> None:
    """An empty `HEXSCALE_CACHE` (no opening book) and transposition table for the next part."""
    from hex_env import search_solver

    os.environ["HEXSCALE_CACHE"] = str(root / part)
    search_solver.board.cache_clear()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--games", type=int, default=20, help="random games for positions/s")
    parser.add_argument("--skip-pool", action="store_true", help="no anchor games")
    args = parser.parse_args()
    os.environ.setdefault("NUMBA_CACHE_DIR", str(Path.home() / ".cache/hexscale/numba"))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        print(f"host: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
        fresh(tmp, "solve")
        solve_empty()
        fresh(tmp, "positions")
        positions_per_s(args.games)
        if not args.skip_pool:
            fresh(tmp, "pool")
            anchor_games(tmp / "pool")
            fresh(tmp, "resisting")
            perfect_vs_resisting(64)


if __name__ == "__main__":
    main()
