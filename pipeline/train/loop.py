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
    register_configs,
    savepoint_bounds,
    validate,
)
from pipeline.infra.files import atomic_write_bytes, atomic_write_json
from pipeline.infra.layout import Layout
from pipeline.infra.metrics_log import MetricsLogger
from pipeline.infra.progress import Progress
from pipeline.infra.provenance import code_version
from pipeline.infra.snapshot import save_snapshot
from pipeline.train.core import (
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

register_configs()


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


def _train(cfg: Config) -> dict:
    validate(cfg)
    run = Layout(cfg.results_dir).run(cfg.run_name)
    run_dir = run.dir
    if run.done.exists():
        summary = json.loads(run.done.read_text())
        print(f"{run_dir}: already finished ({summary['snapshots']} snapshots)")
        return summary
    run_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(run)
    atomic_write_bytes(run.config, OmegaConf.to_yaml(OmegaConf.structured(cfg)).encode())

    low, high, sample_cap = savepoint_bounds(cfg.train, cfg.board.size)
    savepoints = np.geomspace(low, high, cfg.train.n_snapshots)
    jones_per_sample, standard_per_sample = flops_per_sample(cfg)
    samples_per_iteration = cfg.train.n_envs * steps_per_call(cfg)
    optimizer = optax.adam(cfg.train.lr)
    iteration = make_iteration(cfg, optimizer)

    carry = init_carry(cfg, optimizer)
    restored = load_checkpoint(
        run, carry, restart_if_corrupt=cfg.train.restart_on_corrupt_checkpoint
    )
    counters = Counters()
    if restored is not None:
        carry, counters = restored
        print(f"resuming {run_dir} at iteration {counters.iteration}, {counters.samples:,} samples")
    truncate_metrics(run.metrics, counters.iteration)  # rows past the checkpoint (or all)

    code = code_version()
    meta_base = {
        "run_name": cfg.run_name,
        "board_size": cfg.board.size,
        "width": cfg.model.width,
        "depth": cfg.model.depth,
        "params": network.param_count(cfg.board.size, cfg.model.width, cfg.model.depth),
        "forward_flops_jones": network.forward_flops(
            cfg.board.size, cfg.model.width, cfg.model.depth, "jones"
        ),
        "forward_flops_standard": network.forward_flops(
            cfg.board.size, cfg.model.width, cfg.model.depth, "standard"
        ),
        "search": dataclasses.asdict(cfg.search),
        "train": {
            k: v
            for k, v in dataclasses.asdict(cfg.train).items()
            if k not in ("flops_bounds", "sample_caps")
        },
        "seed": cfg.train.seed,
        "code_version": code,
    }

    def snapshot(index: int, capped: bool) -> None:
        meta = dict(
            meta_base,
            index=index,
            savepoint_flops_jones=float(savepoints[min(index, len(savepoints) - 1)]),
            samples=counters.samples,
            train_flops_jones=counters.train_flops_jones,
            train_flops_standard=counters.train_flops_standard,
            wall_s=counters.wall_s,
            capped=capped,
        )
        save_snapshot(run.snapshot(index), carry.params, meta)

    metrics_sinks = MetricsLogger(
        run_dir,
        tensorboard=cfg.train.tensorboard,
        wandb=cfg.train.wandb,
        wandb_project=cfg.train.wandb_project,
        run_name=cfg.run_name,
        config=dataclasses.asdict(cfg),
        resume_step=counters.iteration,
    )
    preemption = Preemption()
    progress = None
    if cfg.train.progress:
        progress = Progress(
            total=float(high), initial=min(counters.train_flops_jones, high), unit="FLOP",
            unit_scale=True, desc=cfg.run_name,
            interval_s=cfg.train.progress_interval_s,
        )  # fmt: skip
    last_checkpoint = time.monotonic()
    last_heartbeat = write_heartbeat(run, counters)
    metrics_file = run.metrics.open("a")
    try:
        while counters.next_snapshot < len(savepoints) and counters.samples < sample_cap:
            start = time.perf_counter()
            carry, metrics = iteration(carry)
            metrics = {k: float(v) for k, v in metrics.items()}
            elapsed = time.perf_counter() - start
            if not math.isfinite(metrics["loss/total"]):
                raise FloatingPointError(
                    f"non-finite loss at iteration {counters.iteration + 1}; stopping. The last "
                    f"good snapshot and checkpoint in {run_dir} are kept."
                )
            counters.iteration += 1
            counters.samples += samples_per_iteration
            counters.train_flops_jones += samples_per_iteration * jones_per_sample
            counters.train_flops_standard += samples_per_iteration * standard_per_sample
            counters.wall_s += elapsed
            rates = {
                "samples_per_s": samples_per_iteration / elapsed,
                "node_evals_per_s": samples_per_iteration * cfg.search.nodes / elapsed,
            }
            row = {
                "iteration": counters.iteration,
                **dataclasses.asdict(counters),
                **rates,
                **metrics,
            }
            del row["next_snapshot"]
            metrics_file.write(json.dumps(row) + "\n")
            metrics_file.flush()
            metrics_sinks.log(counters.iteration, row)
            if time.monotonic() - last_heartbeat >= HEARTBEAT_EVERY_S:
                last_heartbeat = write_heartbeat(run, counters)

            crossed = int(np.searchsorted(savepoints, counters.train_flops_jones, side="right"))
            if crossed > counters.next_snapshot:
                snapshot(crossed - 1, capped=False)  # several crossed at once share one snapshot
                counters.next_snapshot = crossed
            elif counters.samples >= sample_cap:
                snapshot(counters.next_snapshot, capped=True)
                counters.next_snapshot += 1
            if progress is not None:
                progress.set_postfix(
                    samples_per_s=f"{rates['samples_per_s']:.3g}",
                    evals_per_s=f"{rates['node_evals_per_s']:.3g}",
                    loss=f"{metrics['loss/total']:.3f}",
                    snap=counters.next_snapshot,
                    refresh=False,
                )
                progress.update(min(counters.train_flops_jones, high) - progress.n)
            now = time.monotonic()
            if preemption.signum or now - last_checkpoint >= cfg.train.checkpoint_every_s:
                save_checkpoint(run, carry, counters)
                last_checkpoint = now
                if preemption.signum:
                    name = signal.Signals(preemption.signum).name
                    print(f"{name}: checkpointed {run_dir} at iteration {counters.iteration}")
                    preemption.finish()
    finally:
        preemption.restore()
        metrics_file.close()
        metrics_sinks.close()
        if progress is not None:
            progress.close()

    save_checkpoint(run, carry, counters)
    write_heartbeat(run, counters)
    summary = {
        "run_name": cfg.run_name,
        "snapshots": len(list(run.snapshots.glob("[0-9]*"))),
        **dataclasses.asdict(counters),
        "code_version": code,
    }
    atomic_write_json(run.done, summary)
    return summary


@hydra_main
def main(cfg: DictConfig) -> None:
    summary = run(load(cfg, validate, check_results_dir, check_run_settings))
    print(json.dumps(summary))

