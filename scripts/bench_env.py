"""Random-play throughput of the Hex env, beside a straightforward flood-fill Hex.

For each board size S and batch B, B games of uniformly random legal moves are played from the
empty board inside one jitted `jax.lax.scan` of S*S steps over a `jax.vmap`-ed step (no host
round trip per move). Every Hex game ends within S*S moves (no draws), so each run completes all
B games; boards/s = B / wall time, moves/s = moves actually played / wall time. Compilation is
done ahead of time and excluded; each repeat uses a fresh key; the median over repeats is
reported.

Two implementations share the random-move driver:
  * `hexscale`: `hex_env.step` / `legal_action_mask` (group labels with edge flags, no loops);
  * `flood`: a plain signed board; after every move the mover's connectivity is recomputed by a
    6-neighbour dilation iterated with `jax.lax.while_loop` to a fixpoint, as in
    `shared/baselines/naive_selfplay.py` (`connects_top_bottom`).

The driver draws one uniform priority per cell per game up front and, at every step, plays the
legal cell (from the implementation's own legal mask) with the highest priority: a uniformly
random legal move each step, with one random draw per cell per game rather than per step. Both
implementations thus see the same action sequence for the same key, which the sanity check uses.

usage: python scripts/bench_env.py [--sizes 5 9 11 19] [--batches 1024 16384] [--repeats 3]
       python scripts/bench_env.py --quick
prints one JSON line per (size, batch), then a table.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

import hex_env as he
from pipeline.infra.provenance import host

PlayFn = Callable[[jax.Array], tuple[jax.Array, jax.Array]]


class FloodState(NamedTuple):
    """The flood-fill baseline's state: no group bookkeeping, only stones."""

    board: jax.Array  # [S*S] int8: 0 empty, +1 black, -1 white
    current_player: jax.Array  # [] int32: seat to move, 0 black, 1 white
    winner: jax.Array  # [] int32: -1 while the game runs, else the winning seat
    ply: jax.Array  # [] int32: moves played so far


def flood_init(size: int) -> FloodState:
    return FloodState(
        board=jnp.zeros(size * size, jnp.int8),
        current_player=jnp.int32(he.BLACK),
        winner=jnp.int32(he.NO_WINNER),
        ply=jnp.int32(0),
    )


def _connects_top_bottom(stones: jax.Array) -> jax.Array:
    """[S, S] bool stones → whether they join row 0 to row S-1 (dilation to a fixpoint)."""

    def grow(reach):
        p = jnp.pad(reach, 1)
        # the six neighbours (-1,0) (1,0) (0,-1) (0,1) (-1,1) (1,-1), as in NEIGHBOUR_OFFSETS
        nb = p[:-2, 1:-1] | p[2:, 1:-1] | p[1:-1, :-2] | p[1:-1, 2:] | p[:-2, 2:] | p[2:, :-2]
        return (reach | nb) & stones

    start = stones & (jnp.arange(stones.shape[0])[:, None] == 0)
    reach, _ = jax.lax.while_loop(
        lambda c: jnp.any(c[0] != c[1]), lambda c: (grow(c[0]), c[0]), (grow(start), start)
    )
    return jnp.any(reach[-1])


def flood_step(state: FloodState, action: jax.Array) -> FloodState:
    """Play `action` (an empty cell) and flood-fill the mover's stones; finished games stay put."""
    size = int(np.sqrt(state.board.shape[-1]))
    player = state.current_player
    sign = jnp.where(player == he.BLACK, 1, -1).astype(jnp.int8)
    board = state.board.at[action].set(sign)
    grid = board.reshape(size, size)
    stones = jnp.where(player == he.BLACK, grid == 1, (grid == -1).T)  # white: left↔right
    won = _connects_top_bottom(stones)
    played = FloodState(
        board=board,
        current_player=1 - player,
        winner=jnp.where(won, player, he.NO_WINNER),
        ply=state.ply + 1,
    )
    done = state.winner != he.NO_WINNER
    return jax.tree.map(lambda old, new: jnp.where(done, old, new), state, played)


def flood_legal_action_mask(state: FloodState) -> jax.Array:
    return (state.board == 0) & (state.winner == he.NO_WINNER)


IMPLS: dict[str, tuple[Callable[[int], Any], Callable, Callable]] = {
    "hexscale": (he.init, he.step, he.legal_action_mask),
    "flood": (flood_init, flood_step, flood_legal_action_mask),
}


def make_random_play(impl: str, size: int, batch: int) -> PlayFn:
    """key → ([B] winner, [B] plies) of B uniformly random games, one scan of S*S steps."""
    init_fn, step_fn, legal_fn = IMPLS[impl]
    cells = size * size
    batched_step, batched_legal = jax.vmap(step_fn), jax.vmap(legal_fn)

    def play(key):
        priority = jax.random.uniform(key, (batch, cells))  # [B, S*S]
        start = jax.tree.map(lambda x: jnp.broadcast_to(x, (batch, *x.shape)), init_fn(size))

        def move(state, _):
            legal = batched_legal(state)  # [B, S*S]
            action = jnp.argmax(jnp.where(legal, priority, -1.0), axis=-1)
            return batched_step(state, action), None

        final, _ = jax.lax.scan(move, start, None, length=cells)
        return final.winner, final.ply

    return play


def sanity_check(size: int, games: int, seed: int) -> None:
    """Both implementations give the same winner and game length on the same random games."""
    key = jax.random.key(seed)
    results = {
        impl: [np.asarray(x) for x in jax.jit(make_random_play(impl, size, games))(key)]
        for impl in IMPLS
    }
    (w_ours, ply_ours), (w_flood, ply_flood) = results["hexscale"], results["flood"]
    if (w_ours < 0).any() or (w_flood < 0).any():
        sys.exit(f"sanity check failed: an unfinished game after {size * size} moves")
    bad = np.flatnonzero((w_ours != w_flood) | (ply_ours != ply_flood))
    if bad.size:
        g = int(bad[0])
        sys.exit(
            f"sanity check failed on {size}x{size}: {bad.size}/{games} games disagree, e.g. game "
            f"{g}: hexscale winner {w_ours[g]} at ply {ply_ours[g]}, "
            f"flood winner {w_flood[g]} at ply {ply_flood[g]}"
        )
    check = {"size": size, "games": games, "agree": True, "black_wins": int((w_ours == 0).sum())}
    print(json.dumps({"sanity_check": check}), flush=True)


def time_config(
    size: int, batch: int, repeats: int, budget_s: float, seed: int
) -> dict[str, dict[str, float]]:
    """Compile every implementation ahead of time, then time up to `repeats` runs of each on
    fresh keys, alternating implementations so both see the same background load. An
    implementation stops repeating once its timed runs exceed `budget_s` (at least one run).
    Returns medians per implementation, with the 1-minute load average over the timed runs."""
    key = jax.random.key(seed)
    compiled, out = {}, {}
    for impl in IMPLS:
        t0 = time.perf_counter()
        compiled[impl] = jax.jit(make_random_play(impl, size, batch)).lower(key).compile()
        out[impl] = {"compile_s": time.perf_counter() - t0}
    walls: dict[str, list[float]] = {impl: [] for impl in IMPLS}
    moves: dict[str, list[int]] = {impl: [] for impl in IMPLS}
    loads = [os.getloadavg()[0]]
    for r in range(repeats):
        run_key = jax.random.fold_in(key, r)
        for impl in IMPLS:
            if walls[impl] and sum(walls[impl]) > budget_s:
                continue
            t0 = time.perf_counter()
            winner, ply = jax.block_until_ready(compiled[impl](run_key))
            walls[impl].append(time.perf_counter() - t0)
            if bool((winner < 0).any()):
                raise RuntimeError(
                    f"{impl} {size}x{size}: a game did not finish in {size * size} moves"
                )
            moves[impl].append(int(ply.sum()))
            loads.append(os.getloadavg()[0])
    for impl in IMPLS:
        wall_s = statistics.median(walls[impl])
        out[impl] |= {
            "boards_per_s": batch / wall_s,
            "moves_per_s": statistics.median(moves[impl]) / wall_s,
            "wall_s": wall_s,
            "runs": len(walls[impl]),
            "mean_moves": statistics.median(moves[impl]) / batch,
        }
    return out | {"load": {"loadavg_1m_max": max(loads)}}


def machine_info() -> dict[str, Any]:
    device = jax.devices()[0]
    return {
        "backend": jax.default_backend(),
        "device": f"{device.platform}:{device.device_kind}",
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "cpu_model": host()["cpu"],
        "jax": jax.__version__,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[5, 9, 11, 19])
    ap.add_argument("--batches", type=int, nargs="+", default=[1024, 16384])
    ap.add_argument("--repeats", type=int, default=5, help="timed runs per config (median)")
    ap.add_argument(
        "--budget-s", type=float, default=20.0, help="no further repeat once runs exceed this"
    )
    ap.add_argument("--quick", action="store_true", help="sizes 5 9, batch 1024, 2 repeats")
    ap.add_argument("--check-size", type=int, default=9, help="board size of the sanity check")
    ap.add_argument("--check-games", type=int, default=512, help="games in the sanity check")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if args.quick:
        args.sizes, args.batches, args.repeats = [5, 9], [1024], 2
        args.check_games = min(args.check_games, 256)
    if min(args.sizes) < 2 or args.check_size < 2:
        ap.error("board sizes must be >= 2")
    if args.repeats < 1 or min(args.batches) < 1 or args.check_games < 1:
        ap.error("--repeats, --batches and --check-games must be >= 1")

    info = machine_info()
    print(json.dumps({"machine": info}), flush=True)
    sanity_check(args.check_size, args.check_games, args.seed)

    rows = []
    for size in args.sizes:
        for batch in args.batches:
            res = time_config(size, batch, args.repeats, args.budget_s, args.seed)
            ratio = res["hexscale"]["boards_per_s"] / res["flood"]["boards_per_s"]
            row = {
                "size": size,
                "batch": batch,
                **{
                    f"{impl}/{k}": (v if k == "runs" else float(f"{v:.4g}"))
                    for impl, r in res.items()
                    for k, v in r.items()
                },
                "ratio_hexscale_over_flood": round(ratio, 2),
                "backend": info["backend"],
            }
            rows.append(row)
            print(json.dumps(row), flush=True)

    print(
        f"\nbackend {info['backend']} ({info['device']}), {info['cpus_usable']} usable CPUs "
        f"of {info['cpu_count']}, {info['cpu_model']}, jax {info['jax']}; "
        f"median of up to {args.repeats} alternating runs ({args.budget_s:g} s budget per "
        "implementation and config); load = max 1-min load average during the timed runs"
    )
    header = (
        f"{'size':>4} {'batch':>6} {'moves/game':>10} {'hexscale boards/s':>17} "
        f"{'flood boards/s':>14} {'hexscale moves/s':>16} {'flood moves/s':>13} {'ratio':>6}"
    )
    print(header)
    for r in rows:
        print(
            f"{r['size']:>4} {r['batch']:>6} {r['hexscale/mean_moves']:>10.1f} "
            f"{r['hexscale/boards_per_s']:>17,.0f} {r['flood/boards_per_s']:>14,.0f} "
            f"{r['hexscale/moves_per_s']:>16,.0f} {r['flood/moves_per_s']:>13,.0f} "
            f"{r['ratio_hexscale_over_flood']:>6.2f} "
            f"{str(r['hexscale/runs']) + '/' + str(r['flood/runs']):>5} "
            f"{r['load/loadavg_1m_max']:>5.2f}"
        )


if __name__ == "__main__":
    main()
