"""Search cost against tree size and batching: milliseconds per move of 256 games from the empty
board, Jones's search, a seeded random 16×1 net.

    .venv/bin/python scripts/bench_tree.py            # 4×4
    .venv/bin/python scripts/bench_tree.py --board 3

Rows, each at (tree capacity, nodes): one flat batch of 256 games with one net and one key
(`network_act_fn`, as self-play runs it); 32 pairings × 8 games vmapped over pairings with a
node count per pairing (the match engine before the flat layout); and the match engine's
layout, one flat search over the 256 games with params per pairing, one node count and a key
per game (`network_act_fn(pairings=True)`). The first call of each program compiles and is not
timed; the rest is the mean of `--repeats` calls.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import hex_env as he  # noqa: E402
from agents.network import init_params  # noqa: E402
from agents.players import network_act_fn  # noqa: E402
from agents.search import SearchConfig  # noqa: E402
from pipeline.infra.provenance import host  # noqa: E402

PAIRINGS, GAMES = 32, 8
CASES = ((64, 64), (512, 64), (256, 256), (512, 256))  # (tree capacity, nodes)


def _ms_per_call(fn, args, repeats: int) -> float:
    jax.block_until_ready(fn(*args))
    start = time.perf_counter()
    for _ in range(repeats):
        jax.block_until_ready(fn(*args))
    return (time.perf_counter() - start) / repeats * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--board", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    size, batch = args.board, PAIRINGS * GAMES
    params = init_params(jax.random.PRNGKey(0), size, 16, 1)
    stacked = jax.tree.map(lambda x: jnp.broadcast_to(x, (PAIRINGS,) + x.shape), params)
    flat_states = jax.tree.map(lambda x: jnp.broadcast_to(x, (batch,) + x.shape), he.init(size))
    paired_states = jax.tree.map(lambda x: x.reshape(PAIRINGS, GAMES, *x.shape[1:]), flat_states)
    keys = jax.random.split(jax.random.PRNGKey(1), PAIRINGS)
    game_keys = jax.random.split(jax.random.key(1), batch)
    print(f"host: {host()}; jax {jax.__version__}; {size}×{size}, {batch} games per call")
    print(
        "| tree capacity | nodes | flat batch ms/move | 32 pairings × 8 vmapped ms/move"
        " | engine: flat, params per pairing ms/move |"
    )
    print("|---:|---:|---:|---:|---:|")
    for capacity, nodes in CASES:
        act = network_act_fn(size, 16, 1, SearchConfig(), greedy=False, capacity=capacity)
        flat = _ms_per_call(
            jax.jit(act), (params, jax.random.PRNGKey(2), flat_states, jnp.int32(nodes)),
            args.repeats,
        )  # fmt: skip
        paired = _ms_per_call(
            jax.jit(jax.vmap(act)),
            (stacked, keys, paired_states, jnp.full((PAIRINGS,), nodes, jnp.int32)),
            args.repeats,
        )
        engine = network_act_fn(
            size, 16, 1, SearchConfig(), greedy=False, capacity=capacity, pairings=True
        )
        per_pairing = _ms_per_call(
            jax.jit(engine), (stacked, game_keys, flat_states, jnp.int32(nodes)), args.repeats
        )
        print(
            f"| {capacity} | {nodes} | {flat:,.0f} | {paired:,.0f} | {per_pairing:,.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
