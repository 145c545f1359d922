"""Where the Jones search's time goes: ablations of it built and timed in one process, taking turns.

    python scripts/profile_search.py                      # 5x5, 64x2, B 1024, 64 nodes, 2 moves
    python scripts/profile_search.py --size 5 --width 16 --batch 256 --nodes 16

Variants (all self-play moves from the empty board, as `scripts/bench.py` times them):
  gumbel   hexscale's Gumbel search, for scale
  jones    the Jones search as shipped
  newton1  Jones with a single Newton step for α (not exact: how much the iterations cost)
  prior    the descent samples from the prior instead of π̄ (not exact: the floor without π̄)
The two inexact variants patch `agents.search.regularised` while their program is traced only.
Prints wall and process CPU seconds per call (median / min over `--repeats`) and node evals/s.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import time

import jax
import jax.numpy as jnp

import agents.search.regularised as regularised
import hex_env as he
from agents.network import HexNet
from agents.search import SearchConfig, make_search_fn


@contextlib.contextmanager
def patched(variant: str):
    """The ablation's change to the regularised policy, while its program is traced."""
    newton, policy = regularised._newton_alpha, regularised.grill_policy
    if variant == "newton1":
        regularised._newton_alpha = lambda p, q, lam, steps=None, **kw: newton(p, q, lam, 1, **kw)
    elif variant == "prior":
        regularised.grill_policy = lambda logits, q, visits, **kw: jax.nn.softmax(logits, -1)
    try:
        yield
    finally:
        regularised._newton_alpha, regularised.grill_policy = newton, policy


def build(variant: str, args, params, net):
    kind = "gumbel" if variant == "gumbel" else "jones"
    search = make_search_fn(net.apply, SearchConfig(kind=kind, nodes=args.nodes), args.size)

    @jax.jit
    def run(params, key):
        envs = jax.vmap(lambda _: he.init(args.size))(jnp.arange(args.batch))

        def move(envs, move_key):
            out = search(params, move_key, envs, explore=True)
            return he.reset_where_done(jax.vmap(he.step)(envs, out.action)), None

        return jax.lax.scan(move, envs, jax.random.split(key, args.moves))[0].board

    with patched(variant):
        start = time.perf_counter()
        jax.block_until_ready(run(params, jax.random.PRNGKey(0)))
    return run, time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=5)
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--depth", type=int, default=2)
    ap.add_argument("--batch", type=int, default=1024)
    ap.add_argument("--nodes", type=int, default=64)
    ap.add_argument("--moves", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--variants", nargs="+", default=["gumbel", "jones", "newton1", "prior"])
    args = ap.parse_args()
    net = HexNet(args.width, args.depth)
    params = net.init(jax.random.PRNGKey(0), jnp.zeros((1, args.size, args.size, 2)))
    runs = {v: build(v, args, params, net) for v in args.variants}
    walls, cpus = {v: [] for v in runs}, {v: [] for v in runs}
    for rep in range(args.repeats):
        for v, (run, _) in runs.items():
            start, cpu = time.perf_counter(), time.process_time()
            jax.block_until_ready(run(params, jax.random.PRNGKey(rep + 1)))
            walls[v].append(time.perf_counter() - start)
            cpus[v].append(time.process_time() - cpu)
    evals = args.batch * args.moves * args.nodes
    print(f"{args.size}x{args.size} {args.width}x{args.depth} B{args.batch} {args.nodes} nodes, "
          f"{args.moves} moves per call, load {os.getloadavg()[0]:.1f}")  # fmt: skip
    for v in runs:
        wall = statistics.median(walls[v])
        print(f"{v:8s} wall {wall:.3f} s  cpu {min(cpus[v]):.3f} s  {evals / wall:12,.0f} evals/s  "
              f"compile {runs[v][1]:.1f} s")  # fmt: skip


if __name__ == "__main__":
    main()
