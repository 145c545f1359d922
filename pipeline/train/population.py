"""Population training: a board's grid of runs in one jitted program (the self-play issue, item 3).

    python -m pipeline.train.population +experiment=smoke board.size=3

The members are the preset's grid for the board (`sweep.boards[size]` widths × depths ×
`sweep.seeds`); `model.*` and `train.seed` on the command line are ignored. Their carries are
stacked and `vmap`ped through `pipeline.train.core.make_iteration`, every net zero-padded to the
population's widest and deepest (`agents.network.pad_params`). Padding is exact for training
too: a padded unit's activation is 0 and its weights get zero gradients (nothing downstream
reads it), a padded block's α = 0 gets none, so Adam keeps them at 0. Each member keeps its own
keys, optimiser state, savepoints and FLOP accounting by its true architecture, and writes the
run directory a solo run writes (snapshots and checkpoints unpadded), so evaluation, status and
a solo `python -m pipeline.train` resume see no difference.

A member that reaches its last savepoint is finished (done.json) and dropped, and the program is
rebuilt for the others, padded to the largest left: kept running masked, a finished member would
cost a full member's compute every call until the last one finishes, while a rebuild costs one
compile (a few seconds on CPU), at most once per member.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
from omegaconf import DictConfig

from agents import network
from pipeline.infra.config import (
    Config,
    check_results_dir,
    check_run_settings,
    grid_configs,
    hydra_main,
    load,
    register_configs,
    validate,
)
from pipeline.infra.layout import Layout, RunFiles
from pipeline.infra.progress import Progress
from pipeline.infra.runtime import configure_jax
from pipeline.train import loop
from pipeline.train.core import TrainCarry, donate_carry, make_iteration
from pipeline.train.loop import (
    Plan,
    Sinks,
    finish_run,
    out_of_time,
    record,
    resume,
    save_run_snapshot,
    snapshot_due,
    snapshot_meta,
    start_run,
)
from pipeline.train.run_files import Counters, Preemption, save_checkpoint, write_error

# what members may differ in; everything else must be one setting for the whole program
MEMBER_FIELDS = ("model.width", "model.depth", "train.seed", "run_name")


def check_population(cfgs: list[Config]) -> None:
    """Members differ only in MEMBER_FIELDS (a one-line ValueError otherwise)."""
    if not cfgs:
        raise ValueError("a population needs at least one run")

    def shared(cfg: Config) -> dict:
        out = dataclasses.asdict(cfg)
        for name in MEMBER_FIELDS:
            *parents, leaf = name.split(".")
            node = out
            for p in parents:
                node = node[p]
            del node[leaf]
        return out

    first = shared(cfgs[0])
    for cfg in cfgs[1:]:
        if shared(cfg) != first:
            differ = sorted(k for k in first if first[k] != shared(cfg)[k])
            raise ValueError(
                f"population members {cfgs[0].run_name} and {cfg.run_name} differ in {differ}; "
                f"only {', '.join(MEMBER_FIELDS)} may differ"
            )


def _map_params(fn, tree):
    """`fn` applied to every params-shaped subtree of `tree` (the params, Adam's two moments)."""
    is_params = lambda x: isinstance(x, dict) and set(x) == {"params"}  # noqa: E731
    return jax.tree.map(lambda x: fn(x) if is_params(x) else x, tree, is_leaf=is_params)


def pad_carry(carry: TrainCarry, size: int, width: int, depth: int) -> TrainCarry:
    """A solo run's carry with its params and optimiser moments zero-padded to width × depth."""
    pad = functools.partial(network.pad_params, size=size, width=width, depth=depth)
    return carry.replace(params=pad(carry.params), opt_state=_map_params(pad, carry.opt_state))


def unpad_carry(carry: TrainCarry, size: int, width: int, depth: int) -> TrainCarry:
    """`pad_carry`'s inverse: the member's own carry, as a solo run of width × depth has it."""
    cut = functools.partial(network.unpad_params, size=size, width=width, depth=depth)
    return carry.replace(params=cut(carry.params), opt_state=_map_params(cut, carry.opt_state))


def stack(carries: list[TrainCarry]) -> TrainCarry:
    return jax.tree.map(lambda *xs: jnp.stack(xs), *carries)


def member_carry(stacked: TrainCarry, index: int) -> TrainCarry:
    return jax.tree.map(lambda x: x[index], stacked)


@dataclasses.dataclass
class Member:
    """One run of the population and the Python-side state a solo run's loop keeps."""

    cfg: Config
    run: RunFiles
    plan: Plan
    meta: dict
    counters: Counters
    sinks: Sinks
    carry: TrainCarry  # its own (unpadded) carry, as of the last rebuild

    def own(self, padded: TrainCarry) -> TrainCarry:
        return unpad_carry(padded, self.cfg.board.size, self.cfg.model.width, self.cfg.model.depth)


def widest(cfgs: list[Config]) -> tuple[int, int]:
    return max(c.model.width for c in cfgs), max(c.model.depth for c in cfgs)


def build(cfgs: list[Config], carries: list[TrainCarry], optimizer):
    """(the jitted population iteration, the stacked padded carry) of runs `cfgs` with their own
    carries `carries`."""
    width, depth = widest(cfgs)
    template = dataclasses.replace(
        cfgs[0], model=dataclasses.replace(cfgs[0].model, width=width, depth=depth)
    )
    iteration = donate_carry(jax.vmap(make_iteration(template, optimizer)))
    size = template.board.size
    carry = stack([pad_carry(c, size, width, depth) for c in carries])
    return iteration, jax.device_put(carry)


def start_members(cfgs: list[Config], optimizer) -> tuple[list[Member], dict[str, dict]]:
    """The members still to train (resumed from their checkpoints) and the finished runs'
    summaries."""
    members, finished = [], {}
    for cfg in cfgs:
        run = Layout(cfg.results_dir).run(cfg.run_name)
        summary = start_run(cfg, run)
        if summary is not None:
            finished[cfg.run_name] = summary
            continue
        carry, counters = resume(cfg, run, optimizer)
        plan = Plan.of(cfg)
        quiet = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, progress=False))
        sinks = Sinks(quiet, run, counters, plan)
        members.append(Member(cfg, run, plan, snapshot_meta(cfg), counters, sinks, carry))
    return members, finished


def checkpoint_all(members: list[Member], stacked: TrainCarry) -> None:
    for i, m in enumerate(members):
        save_checkpoint(m.run, m.own(member_carry(stacked, i)), m.counters)


def record_call(members: list[Member], stacked: TrainCarry, metrics: dict, elapsed: float):
    """Count one population call into each member's counters, metrics and snapshots."""
    for i, m in enumerate(members):
        own = {k: float(v[i]) for k, v in metrics.items()}
        row = record(m.counters, m.plan, own, elapsed, m.cfg.search.nodes)
        m.sinks.log(m.counters, row)
        due = snapshot_due(m.counters, m.plan)
        if due is not None:
            params = m.own(member_carry(stacked, i)).params
            save_run_snapshot(m.run, params, m.meta, m.counters, m.plan, *due)


def stop_at_wall_limit(members: list[Member], stacked: TrainCarry) -> dict:
    """Each member stopped as a solo run stops at `train.max_wall_s` (checkpoint, heartbeat, no
    done.json: a rerun resumes); their stop records by name."""
    return {
        m.cfg.run_name: loop.stop_at_wall_limit(m.cfg, m.run, m.own(member_carry(stacked, i)),
                                                m.counters)
        for i, m in enumerate(members)
    }  # fmt: skip


def train_population(cfgs: list[Config]) -> dict[str, dict]:
    """Train every run of `cfgs` (one board) to its last savepoint in one program; returns each
    run's summary (done.json) by name, or its stop record at `train.max_wall_s`."""
    check_population(cfgs)
    cfg = cfgs[0]
    optimizer = optax.adam(cfg.train.lr)
    members, summaries = start_members(cfgs, optimizer)
    started_members, progress = list(members), None
    if cfg.train.progress and members:
        progress = Progress(
            total=sum(m.plan.last_flops for m in members), unit="FLOP", unit_scale=True,
            desc=f"population b{cfg.board.size} ({len(members)} runs)",
            interval_s=cfg.train.progress_interval_s,
        )  # fmt: skip
    preemption = Preemption()
    started = last_checkpoint = time.monotonic()
    try:
        while members:
            cfgs_left = [m.cfg for m in members]
            iteration, stacked = build(cfgs_left, [m.carry for m in members], optimizer)
            print(f"population b{cfg.board.size}: {len(members)} runs padded to "
                  f"{'x'.join(map(str, widest(cfgs_left)))}")  # fmt: skip
            while True:
                if out_of_time(cfg, started):
                    return {**summaries, **stop_at_wall_limit(members, stacked)}
                start = time.perf_counter()
                stacked, metrics = iteration(stacked)
                metrics = {k: np.asarray(v) for k, v in metrics.items()}
                record_call(members, stacked, metrics, time.perf_counter() - start)
                if progress is not None:
                    done = sum(min(m.counters.train_flops_jones, m.plan.last_flops)
                               for m in started_members)  # fmt: skip
                    progress.update(done - progress.n)
                now = time.monotonic()
                if preemption.signum or now - last_checkpoint >= cfg.train.checkpoint_every_s:
                    checkpoint_all(members, stacked)
                    last_checkpoint = now
                    if preemption.signum:
                        preemption.finish()
                ended = [m.plan.finished(m.counters) for m in members]
                if any(ended):
                    break
            for i, m in enumerate(members):
                m.carry = m.own(member_carry(stacked, i))
                if ended[i]:
                    summaries[m.cfg.run_name] = finish_run(m.cfg, m.run, m.carry, m.counters)
                    m.sinks.close()
            members = [m for m, e in zip(members, ended, strict=True) if not e]
    except Exception as err:
        for m in members:
            write_error(m.run, err)
        raise
    finally:
        preemption.restore()
        for m in members:
            m.sinks.close()
        if progress is not None:
            progress.close()
    return summaries


def board_configs(cfg: DictConfig) -> list[Config]:
    """The members of `board.size`'s population: its grid in the preset, each validated."""
    size = int(cfg.board.size)
    cfgs = grid_configs(cfg, size)
    if not cfgs:
        raise ValueError(f"the preset's sweep.boards has no board {size}")
    for member in cfgs:
        validate(member)
        check_run_settings(member)
    return cfgs


@hydra_main
def main(cfg: DictConfig) -> None:
    job = load(cfg, check_results_dir)
    try:
        cfgs = board_configs(cfg)
    except ValueError as err:
        print(f"config error: {err}", file=sys.stderr)
        sys.exit(2)
    configure_jax(job.compile_cache)
    print(json.dumps(train_population(cfgs)))


if __name__ == "__main__":
    register_configs()
    main()
