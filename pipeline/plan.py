"""What a preset's training would cost on this host, before anything runs.

    python -m pipeline.plan +experiment=cpu                 # every run of the grid
    python -m pipeline.plan +experiment=cpu sweep.plan_calls=1  # quicker, noisier

For every architecture of the grid (`sweep.boards` × its seeds): the samples a run trains
(to its last savepoint in Jones FLOPs, or its sample cap, in whole jitted calls), its samples/s
measured here over `sweep.plan_calls` calls after the compiling one, and the hours that make; then
the totals. Nothing is written. Throughput is measured on this host as it is now: other jobs
on it slow the numbers (the load average is printed with them).
"""

from __future__ import annotations

import math
import os
import sys
import time

import jax
import optax
from omegaconf import DictConfig

from pipeline.infra.config import (
    Config,
    grid_configs,
    grid_overrides,
    hydra_main,
    load,
    register_configs,
    savepoint_bounds,
    validate,
)
from pipeline.infra.runtime import configure_jax
from pipeline.train.core import flops_per_sample, init_carry, make_iteration, steps_per_call


def run_samples(cfg: Config) -> int:
    """Self-play samples a run trains: until its last savepoint or its sample cap, whichever
    comes first, rounded up to whole calls (the loop stops at a call boundary)."""
    _, last_flops, cap = savepoint_bounds(cfg.train, cfg.board.size)
    per_call = cfg.train.n_envs * steps_per_call(cfg)
    wanted = min(last_flops / flops_per_sample(cfg)[0], cap)
    return math.ceil(wanted / per_call) * per_call


def timed_calls(iteration, carry, calls: int) -> tuple[float, float]:
    """(seconds of the first call, compile included; seconds of `calls` more calls)."""
    start = time.perf_counter()
    carry, metrics = iteration(carry)
    jax.block_until_ready(metrics)
    first = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(calls):
        carry, metrics = iteration(carry)
    jax.block_until_ready(metrics)
    return first, time.perf_counter() - start


def samples_per_s(cfg: Config, calls: int) -> tuple[float, float]:
    """(compile + first call seconds, samples/s over `calls` more calls) of the run's iteration."""
    optimizer = optax.adam(cfg.train.lr)
    first, rest = timed_calls(make_iteration(cfg, optimizer), init_carry(cfg, optimizer), calls)
    return first, calls * cfg.train.n_envs * steps_per_call(cfg) / rest


def plan_rows(cfg: DictConfig, calls: int) -> list[dict]:
    """One row per board × width × depth: seeds, samples per run, measured samples/s, hours."""
    runs: dict[tuple, list[Config]] = {}
    for size in sorted({board for board, _ in grid_overrides(cfg)}):
        for run in grid_configs(cfg, size):
            runs.setdefault((size, run.model.width, run.model.depth), []).append(run)
    rows = []
    for (size, width, depth), seeds in runs.items():
        run = seeds[0]
        validate(run)
        first, rate = samples_per_s(run, calls)
        samples = run_samples(run)
        rows.append(dict(board=size, width=width, depth=depth, seeds=len(seeds),
                         samples_per_run=samples, first_call_s=first, samples_per_s=rate,
                         hours=len(seeds) * samples / rate / 3600))  # fmt: skip
        print(_row(rows[-1]), flush=True)
    return rows


HEADER = (
    "| board | width × depth | seeds | samples per run | first call s | samples/s | hours |\n"
    "|---:|---:|---:|---:|---:|---:|---:|"
)


def _row(r: dict) -> str:
    return (f"| {r['board']} | {r['width']}×{r['depth']} | {r['seeds']} | "
            f"{r['samples_per_run']:,} | {r['first_call_s']:.0f} | {r['samples_per_s']:,.0f} | "
            f"{r['hours']:.3g} |")  # fmt: skip


@hydra_main
def main(cfg: DictConfig) -> None:
    calls = load(cfg).sweep.plan_calls
    if not cfg.sweep.boards:
        print("config error: the preset has no sweep.boards; use e.g. +experiment=cpu",
              file=sys.stderr)  # fmt: skip
        sys.exit(2)
    configure_jax(compile_cache=True)
    print(f"plan: {jax.default_backend()} ({os.cpu_count()} cores), load "
          f"{os.getloadavg()[0]:.1f}, {calls} timed calls per architecture\n{HEADER}")  # fmt: skip
    rows = plan_rows(cfg, calls)
    runs = sum(r["seeds"] for r in rows)
    samples = sum(r["seeds"] * r["samples_per_run"] for r in rows)
    hours = sum(r["hours"] for r in rows)
    print(f"\ntotal: {runs} runs, {samples:,} samples, {hours:.2f} hours one run after another "
          f"on this host (load {os.getloadavg()[0]:.1f} at the end)")  # fmt: skip


if __name__ == "__main__":
    register_configs()
    main()
