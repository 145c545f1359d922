"""The outer training loop: one jitted call (`pipeline.train.core`) per iteration, with
savepoints, snapshots, checkpoints, metrics and progress around it.

    python -m pipeline.train board.size=4 model.width=8 model.depth=2 search=grill
"""

from __future__ import annotations

import dataclasses
import json
import math
import signal
import time

import jax
import numpy as np
import optax
from omegaconf import DictConfig, OmegaConf

from agents import network
from pipeline.infra.config import (
    Config,
    check_results_dir,
    check_run_settings,
    hydra_main,
    load,
    savepoint_bounds,
    validate,
)
from pipeline.infra.files import atomic_write_bytes, atomic_write_json
from pipeline.infra.layout import Layout, RunFiles
from pipeline.infra.metrics_log import MetricsLogger
from pipeline.infra.progress import Progress
from pipeline.infra.provenance import code_version, device_provenance
from pipeline.infra.runtime import configure_jax
from pipeline.infra.snapshot import save_snapshot
from pipeline.train.core import (
    TrainCarry,
    flops_per_sample,
    init_carry,
    make_iteration,
    steps_per_call,
)
from pipeline.train.run_files import (
    HEARTBEAT_EVERY_S,
    Counters,
    Preemption,
    load_checkpoint,
    remove_stale_temporaries,
    save_checkpoint,
    truncate_metrics,
    write_error,
    write_heartbeat,
)


def run(cfg: Config) -> dict:
    """Train until the last savepoint or the sample cap; returns the run summary (done.json).
    A failure writes `<run>/error.json` (`write_error`) and re-raises; a later success removes
    it. Preemption exits (128 + signal, submitit's -1) and Ctrl-C are not failures."""
    files = Layout(cfg.results_dir).run(cfg.run_name)
    try:
        summary = _train(cfg)
    except Exception as err:
        write_error(files, err)
        raise
    except SystemExit as err:
        if isinstance(err.code, str) or (isinstance(err.code, int) and 0 < err.code < 128):
            write_error(files, err)
        raise
    files.error.unlink(missing_ok=True)
    return summary


@dataclasses.dataclass(frozen=True)
class Plan:
    """What a run trains to and what each iteration adds: the savepoints (Jones train FLOPs),
    the sample cap, and the samples and FLOPs of one jitted call."""

    savepoints: np.ndarray
    last_flops: float
    sample_cap: float
    samples_per_iteration: int
    jones_per_sample: float
    standard_per_sample: float

    @classmethod
    def of(cls, cfg: Config) -> Plan:
        low, high, sample_cap = savepoint_bounds(cfg.train, cfg.board.size)
        jones, standard = flops_per_sample(cfg)
        return cls(
            savepoints=np.geomspace(low, high, cfg.train.n_snapshots),
            last_flops=float(high),
            sample_cap=sample_cap,
            samples_per_iteration=cfg.train.n_envs * steps_per_call(cfg),
            jones_per_sample=jones,
            standard_per_sample=standard,
        )

    def finished(self, counters: Counters) -> bool:
        return counters.next_snapshot >= len(self.savepoints) or counters.samples >= self.sample_cap


def snapshot_meta(cfg: Config) -> dict:
    """The meta.json fields every snapshot of the run shares, the device it trains on included
    (`device_provenance`: backend, device_kind, jax_version)."""
    size, width, depth = cfg.board.size, cfg.model.width, cfg.model.depth
    return {
        "run_name": cfg.run_name,
        "board_size": size,
        "width": width,
        "depth": depth,
        "params": network.param_count(size, width, depth),
        "forward_flops_jones": network.forward_flops(size, width, depth, "jones"),
        "forward_flops_standard": network.forward_flops(size, width, depth, "standard"),
        "search": dataclasses.asdict(cfg.search),
        "train": {
            k: v
            for k, v in dataclasses.asdict(cfg.train).items()
            if k not in ("flops_bounds", "sample_caps")
        },
        "seed": cfg.train.seed,
        "code_version": code_version(),
        **device_provenance(),
    }


def record(counters: Counters, plan: Plan, metrics: dict, elapsed: float, nodes: int) -> dict:
    """Count one iteration into `counters`; returns its metrics.jsonl row."""
    if not math.isfinite(metrics["loss/total"]):
        raise FloatingPointError(
            f"non-finite loss at iteration {counters.iteration + 1}; stopping. The last good "
            "snapshot and checkpoint in the run directory are kept."
        )
    samples = plan.samples_per_iteration
    counters.iteration += 1
    counters.samples += samples
    counters.train_flops_jones += samples * plan.jones_per_sample
    counters.train_flops_standard += samples * plan.standard_per_sample
    counters.wall_s += elapsed
    rates = {"samples_per_s": samples / elapsed, "node_evals_per_s": samples * nodes / elapsed}
    row = {"iteration": counters.iteration, **dataclasses.asdict(counters), **rates, **metrics}
    del row["next_snapshot"]
    return row


def snapshot_due(counters: Counters, plan: Plan) -> tuple[int, bool] | None:
    """(index, capped) of the snapshot to write after this iteration, advancing
    `counters.next_snapshot`; None if no savepoint was crossed. Several savepoints crossed at
    once share one snapshot; the sample cap writes the next one, marked capped."""
    crossed = int(np.searchsorted(plan.savepoints, counters.train_flops_jones, side="right"))
    if crossed > counters.next_snapshot:
        counters.next_snapshot = crossed
        return crossed - 1, False
    if counters.samples >= plan.sample_cap:
        counters.next_snapshot += 1
        return counters.next_snapshot - 1, True
    return None


def save_run_snapshot(run: RunFiles, params, meta: dict, counters: Counters, plan: Plan,
                      index: int, capped: bool) -> None:  # fmt: skip
    savepoint = float(plan.savepoints[min(index, len(plan.savepoints) - 1)])
    meta = dict(
        meta,
        index=index,
        savepoint_flops_jones=savepoint,
        samples=counters.samples,
        train_flops_jones=counters.train_flops_jones,
        train_flops_standard=counters.train_flops_standard,
        wall_s=counters.wall_s,
        capped=capped,
    )
    save_snapshot(run.snapshot(index), params, meta)


class Sinks:
    """Where an iteration's row goes: metrics.jsonl, TensorBoard/W&B, the progress bar and the
    heartbeat (every HEARTBEAT_EVERY_S)."""

    def __init__(self, cfg: Config, run: RunFiles, counters: Counters, plan: Plan):
        self.run, self.last_flops = run, plan.last_flops
        self.file = run.metrics.open("a")
        self.loggers = MetricsLogger(
            run.dir,
            tensorboard=cfg.train.tensorboard,
            wandb=cfg.train.wandb,
            wandb_project=cfg.train.wandb_project,
            run_name=cfg.run_name,
            config=dataclasses.asdict(cfg),
            resume_step=counters.iteration,
        )
        self.progress = None
        if cfg.train.progress:
            self.progress = Progress(
                total=plan.last_flops, initial=min(counters.train_flops_jones, plan.last_flops),
                unit="FLOP", unit_scale=True, desc=cfg.run_name,
                interval_s=cfg.train.progress_interval_s,
            )  # fmt: skip
        self.last_heartbeat = write_heartbeat(run, counters)

    def log(self, counters: Counters, row: dict) -> None:
        self.file.write(json.dumps(row) + "\n")
        self.file.flush()
        self.loggers.log(counters.iteration, row)
        if time.monotonic() - self.last_heartbeat >= HEARTBEAT_EVERY_S:
            self.last_heartbeat = write_heartbeat(self.run, counters)

    def show(self, counters: Counters, row: dict) -> None:
        if self.progress is None:
            return
        self.progress.set_postfix(
            samples_per_s=f"{row['samples_per_s']:.3g}",
            evals_per_s=f"{row['node_evals_per_s']:.3g}",
            loss=f"{row['loss/total']:.3f}",
            snap=counters.next_snapshot,
            refresh=False,
        )
        self.progress.update(min(counters.train_flops_jones, self.last_flops) - self.progress.n)

    def close(self) -> None:
        self.file.close()
        self.loggers.close()
        if self.progress is not None:
            self.progress.close()


def start_run(cfg: Config, run: RunFiles) -> dict | None:
    """The finished run's summary, or None after preparing its directory for (re)starting."""
    if run.done.exists():
        summary = json.loads(run.done.read_text())
        print(f"{run.dir}: already finished ({summary['snapshots']} snapshots)")
        return summary
    run.dir.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(run)
    atomic_write_bytes(run.config, OmegaConf.to_yaml(OmegaConf.structured(cfg)).encode())
    return None


def resume(cfg: Config, run: RunFiles, optimizer) -> tuple[TrainCarry, Counters]:
    """The checkpointed state, or a fresh one; metrics rows past it are dropped. A restored
    carry goes back to the device as arrays like the fresh one's, so the jitted iteration is
    not compiled a second time for numpy leaves."""
    carry, counters = init_carry(cfg, optimizer), Counters()
    restored = load_checkpoint(
        run, carry, restart_if_corrupt=cfg.train.restart_on_corrupt_checkpoint
    )
    if restored is not None:
        carry, counters = jax.device_put(restored[0]), restored[1]
        print(f"resuming {run.dir} at iteration {counters.iteration}, {counters.samples:,} samples")
    truncate_metrics(run.metrics, counters.iteration)
    return carry, counters


def checkpoint_if_due(run: RunFiles, carry: TrainCarry, counters: Counters,
                      preemption: Preemption, due: bool) -> None:  # fmt: skip
    """Checkpoint when due or signalled; after a signal, hand over to `preemption.finish`."""
    if not (preemption.signum or due):
        return
    save_checkpoint(run, carry, counters)
    if preemption.signum:
        name = signal.Signals(preemption.signum).name
        print(f"{name}: checkpointed {run.dir} at iteration {counters.iteration}")
        preemption.finish()


def out_of_time(cfg: Config, started: float) -> bool:
    limit = cfg.train.max_wall_s
    return limit is not None and time.monotonic() - started >= limit


def stop_at_wall_limit(cfg: Config, run: RunFiles, carry: TrainCarry, counters: Counters) -> dict:
    """Checkpoint and stop before `train.max_wall_s` runs out: no done.json, so a rerun resumes."""
    save_checkpoint(run, carry, counters)
    write_heartbeat(run, counters)
    print(f"{run.dir}: stopped at train.max_wall_s={cfg.train.max_wall_s:g} after iteration "
          f"{counters.iteration}; rerun to resume")  # fmt: skip
    return {"run_name": cfg.run_name, "stopped": "max_wall_s", **dataclasses.asdict(counters)}


def finish_run(cfg: Config, run: RunFiles, carry: TrainCarry, counters: Counters) -> dict:
    save_checkpoint(run, carry, counters)
    write_heartbeat(run, counters)
    summary = {
        "run_name": cfg.run_name,
        "snapshots": len(list(run.snapshots.glob("[0-9]*"))),
        **dataclasses.asdict(counters),
        "code_version": code_version(),
    }
    atomic_write_json(run.done, summary)
    return summary


def _train(cfg: Config) -> dict:
    validate(cfg)
    run = Layout(cfg.results_dir).run(cfg.run_name)
    finished = start_run(cfg, run)
    if finished is not None:
        return finished
    plan = Plan.of(cfg)
    optimizer = optax.adam(cfg.train.lr)
    iteration = make_iteration(cfg, optimizer)
    carry, counters = resume(cfg, run, optimizer)
    meta = snapshot_meta(cfg)
    preemption = Preemption()
    sinks = Sinks(cfg, run, counters, plan)
    last_checkpoint = started = time.monotonic()
    try:
        while not plan.finished(counters):
            if out_of_time(cfg, started):
                return stop_at_wall_limit(cfg, run, carry, counters)
            start = time.perf_counter()
            carry, metrics = iteration(carry)
            metrics = {k: float(v) for k, v in metrics.items()}
            row = record(counters, plan, metrics, time.perf_counter() - start, cfg.search.nodes)
            sinks.log(counters, row)
            due = snapshot_due(counters, plan)
            if due is not None:
                save_run_snapshot(run, carry.params, meta, counters, plan, *due)
            sinks.show(counters, row)
            now = time.monotonic()
            checkpoint_due = now - last_checkpoint >= cfg.train.checkpoint_every_s
            checkpoint_if_due(run, carry, counters, preemption, checkpoint_due)
            last_checkpoint = now if checkpoint_due or preemption.signum else last_checkpoint
    finally:
        preemption.restore()
        sinks.close()
    return finish_run(cfg, run, carry, counters)


@hydra_main
def main(cfg: DictConfig) -> None:
    job = load(cfg, validate, check_results_dir, check_run_settings)
    configure_jax(job.compile_cache)
    summary = run(job)
    print(json.dumps(summary))
