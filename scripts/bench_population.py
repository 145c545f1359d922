"""A population of runs in one program against the same runs trained one after another.

    python scripts/bench_population.py                  # 6 runs of 3x3 (widths 1..32, depth 1)
    python scripts/bench_population.py --widths 16 16 16 16 --depths 2 --size 5

Each run trains `--calls` jitted calls of `pipeline.train.core.make_iteration` after its first
(compiling) call; solo runs go one after another, the population is one vmapped program padded
to the widest and deepest member (`pipeline.train.population.build`). Prints compile seconds and
samples/s over all runs, as JSON lines, then the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import platform

import jax
import optax

from pipeline.infra.config import compose
from pipeline.plan import timed_calls
from pipeline.train import population
from pipeline.train.core import init_carry, make_iteration


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=3)
    ap.add_argument("--widths", type=int, nargs="+", default=[1, 2, 4, 8, 16, 32])
    ap.add_argument("--depths", type=int, nargs="+", default=[1], help="one, or one per width")
    ap.add_argument("--nodes", type=int, default=64)
    ap.add_argument("--envs", type=int, default=256)
    ap.add_argument("--schedule", default="jones")
    ap.add_argument("--steps", type=int, default=4, help="moves per call")
    ap.add_argument("--calls", type=int, default=5)
    args = ap.parse_args()
    depths = args.depths * len(args.widths) if len(args.depths) == 1 else args.depths
    cfgs = [
        compose(f"board.size={args.size}", f"model.width={w}", f"model.depth={d}",
                f"search.nodes={args.nodes}", f"train.n_envs={args.envs}",
                f"train.batch_size={args.envs}", f"train.schedule={args.schedule}",
                f"train.rollout_steps={max(args.steps, 16)}", f"train.steps_per_call={args.steps}"
                if args.schedule == "jones" else f"train.rollout_steps={args.steps}",
                f"train.seed={i}")
        for i, (w, d) in enumerate(zip(args.widths, depths, strict=True))
    ]  # fmt: skip
    optimizer = optax.adam(cfgs[0].train.lr)
    samples = args.envs * args.steps * args.calls
    host = dict(cpu=platform.processor() or platform.machine(), cores=os.cpu_count(),
                backend=jax.default_backend(), jax=jax.__version__)  # fmt: skip

    compile_s = wall = 0.0
    for cfg in cfgs:
        first, rest = timed_calls(make_iteration(cfg, optimizer), init_carry(cfg, optimizer),
                                  args.calls)  # fmt: skip
        compile_s, wall = compile_s + first, wall + rest
    solo = dict(mode="one after another", runs=len(cfgs), first_calls_s=round(compile_s, 1),
                samples_per_s=round(samples * len(cfgs) / wall, 1))  # fmt: skip
    print(json.dumps({**solo, **host}))

    carries = [init_carry(c, optimizer) for c in cfgs]
    iteration, stacked = population.build(cfgs, carries, optimizer)
    first, rest = timed_calls(iteration, stacked, args.calls)
    together = dict(mode="population", runs=len(cfgs), padded_to=population.widest(cfgs),
                    first_calls_s=round(first, 1),
                    samples_per_s=round(samples * len(cfgs) / rest, 1))  # fmt: skip
    print(json.dumps({**together, **host}))
    speed = together["samples_per_s"] / solo["samples_per_s"]
    print(f"population / one after another: samples/s x{speed:.2f}, "
          f"first calls (compile) x{first / compile_s:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
