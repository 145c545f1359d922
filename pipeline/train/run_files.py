"""The files of a training run's lifecycle, written by the loop and read by `pipeline.status`:
the full-state checkpoint with its host counters, the heartbeat, the error record, and the
preemption signals that make the loop checkpoint and requeue (paths: `pipeline.infra.layout`)."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import socket
import sys
import time
import traceback
from pathlib import Path

import jax
import numpy as np
from flax import serialization

from pipeline.infra.files import atomic_write_bytes, atomic_write_json
from pipeline.infra.layout import RunFiles
from pipeline.train.core import TrainCarry


@dataclasses.dataclass
class Counters:
    """Host-side progress, checkpointed with the device state."""

    iteration: int = 0
    samples: int = 0
    train_flops_jones: float = 0.0
    train_flops_standard: float = 0.0
    wall_s: float = 0.0
    next_snapshot: int = 0


def save_checkpoint(run: RunFiles, carry: TrainCarry, counters: Counters) -> None:
    state = {
        "carry": serialization.to_state_dict(carry),
        "counters": dataclasses.asdict(counters),
    }
    atomic_write_bytes(run.checkpoint, serialization.msgpack_serialize(state))


def load_checkpoint(
    run: RunFiles, template: TrainCarry, *, restart_if_corrupt: bool = False
) -> tuple[TrainCarry, Counters] | None:
    """The checkpointed (carry, counters), or None if there is none. An unreadable checkpoint
    stops the job (exit 2) with one line saying what to do; with `restart_if_corrupt` it is
    renamed `checkpoint.msgpack.corrupt-<time>` (metrics.jsonl likewise) and None returned,
    so the run restarts from scratch. Nothing is deleted."""
    path = run.checkpoint
    if not path.exists():
        return None
    try:
        state = serialization.msgpack_restore(path.read_bytes())
        state["carry"].setdefault("window", None)  # checkpoints from before the jones schedule
        carry = serialization.from_state_dict(template, state["carry"])
        counters = Counters(**state["counters"])
        shapes = [np.shape(x) for x in jax.tree.leaves(carry)]
        if shapes != [np.shape(x) for x in jax.tree.leaves(template)]:
            raise ValueError("array shapes differ from this run's config")
    except Exception as err:  # msgpack/flax raise ValueError, KeyError, TypeError, ...
        reason = (str(err).strip().splitlines() or [type(err).__name__])[0][:100]
        if "incomplete input" in reason:
            reason = "truncated msgpack"
        if not restart_if_corrupt:
            print(
                f"unreadable checkpoint {path} ({reason}): move it aside (mv {path} "
                f"{path}.corrupt) and rerun to restart this run from scratch, or rerun with "
                "train.restart_on_corrupt_checkpoint=true to do that automatically",
                file=sys.stderr,
            )
            raise SystemExit(2) from None
        suffix = f".corrupt-{time.strftime('%Y%m%d-%H%M%S')}"
        path.rename(path.with_name(path.name + suffix))
        if run.metrics.exists():
            run.metrics.rename(run.metrics.with_name(run.metrics.name + suffix))
        print(
            f"unreadable checkpoint {path} ({reason}): renamed it (and metrics.jsonl) with "
            f"suffix {suffix}; restarting {run.dir} from scratch",
            file=sys.stderr,
        )
        return None
    return carry, counters


def truncate_metrics(path: Path, last_iteration: int) -> None:
    """After a resume, drop metric rows of iterations the checkpoint does not include."""
    if not path.exists():
        return
    keep = [
        line
        for line in path.read_text().splitlines()
        if line.strip() and json.loads(line)["iteration"] <= last_iteration
    ]
    atomic_write_bytes(path, "".join(line + "\n" for line in keep).encode())


def remove_stale_temporaries(run: RunFiles) -> None:
    """Temporary files a killed attempt left mid-write (the real files are intact)."""
    for path in run.dir.rglob(".*.tmp"):
        path.unlink(missing_ok=True)
    for path in run.snapshots.glob(".*"):
        shutil.rmtree(path, ignore_errors=True)


HEARTBEAT_EVERY_S = 10.0  # wall seconds between heartbeat.json rewrites (read by pipeline.status)


def write_heartbeat(run: RunFiles, counters: Counters) -> float:
    """Atomically (re)write `<run>/heartbeat.json`: {time (Unix s), iteration, samples, host,
    pid}; returns the monotonic time of the write."""
    beat = {
        "time": time.time(),
        "iteration": counters.iteration,
        "samples": counters.samples,
        "host": socket.gethostname(),
        "pid": os.getpid(),
    }
    atomic_write_json(run.heartbeat, beat)
    return time.monotonic()


def error_line(err: BaseException) -> str:
    """`Type: first line of the message`, at most 500 characters (what `pipeline.status` shows)."""
    if isinstance(err, SystemExit) and not isinstance(err.code, str):
        return f"SystemExit: exit status {err.code}"
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    return (f"{type(err).__name__}: {lines[0]}" if lines else type(err).__name__)[:500]


def write_error(run: RunFiles, err: BaseException) -> None:
    """Atomically write `<run>/error.json`: {time, error (the error line), type, host, pid,
    traceback}, if the run directory exists; never raises over the original failure."""
    record = {
        "time": time.time(),
        "error": error_line(err),
        "type": type(err).__name__,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "traceback": "".join(traceback.format_exception(err))[-20_000:],
    }
    try:
        if run.dir.is_dir():
            atomic_write_json(run.error, record)
    except OSError as problem:
        print(f"warning: could not write {run.error}: {problem}", file=sys.stderr)


class Preemption:
    """SIGTERM (preemption) and SIGUSR2 (submitit's warning before a SLURM time limit) set a
    flag; the loop checkpoints at the next iteration boundary and then `finish`es: the handler
    installed before ours runs (submitit requeues the job there), else the process exits."""

    SIGNALS = (signal.SIGTERM, signal.SIGUSR2)

    def __init__(self):
        self.signum: int | None = None
        self.previous = {s: signal.signal(s, self._handle) for s in self.SIGNALS}

    def _handle(self, signum, frame):
        self.signum = signum

    def restore(self) -> None:
        for s, handler in self.previous.items():
            signal.signal(s, handler)

    def finish(self) -> None:
        self.restore()
        previous = self.previous[self.signum]
        if callable(previous):
            previous(self.signum, None)
        sys.exit(128 + self.signum)
