"""Launch an experiment's training sweep: one Hydra multirun per board size.

    python -m pipeline.sweep +experiment=smoke                          # basic launcher, in order
    python -m pipeline.sweep +experiment=paper hydra/launcher=slurm     # SLURM via submitit

The grid lives in the preset (`sweep.boards`: board → widths × depths, `sweep.seeds`). Every
override given here is passed on to each `python -m pipeline.train --multirun …` call, so launcher
settings and training settings work the same way. Finished runs return at once (their
`done.json`), partial ones resume from their checkpoint, so re-launching a sweep redoes nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from pipeline.infra.config import (
    check_results_dir,
    check_run_settings,
    hydra_main,
    load,
    register_configs,
    to_object,
    validate,
)

REPO = Path(__file__).resolve().parents[1]


def _csv(values) -> str:
    return ",".join(str(v) for v in values)


def check_grid(cfg: DictConfig) -> None:
    """Every point of the preset's grid validates (a one-line ValueError otherwise)."""
    sweep = to_object(cfg).sweep
    boards = sweep.boards
    if not boards:
        raise ValueError("the preset has no sweep.boards; use e.g. +experiment=smoke")
    if sweep.jobs < 1:
        raise ValueError(f"sweep.jobs must be >= 1, got {sweep.jobs}")
    for size, grid in sorted(boards.items()):
        for width in grid.widths:
            for depth in grid.depths:
                point = {"board": {"size": size}, "model": {"width": width, "depth": depth}}
                job = to_object(OmegaConf.merge(cfg, point))
                validate(job)
                check_run_settings(job)


def train_commands(cfg: DictConfig, overrides: list[str]) -> list[list[str]]:
    """The `pipeline.train --multirun` commands of the preset in `cfg`, passing `overrides` (the
    sweep's own command line) on to each: one per board size, or with `sweep.jobs` > 1 one per
    board × width (largest first), so that they can run side by side."""
    job = to_object(cfg)
    split = job.sweep.jobs > 1
    return [
        [
            sys.executable, "-m", "pipeline.train", "--multirun", *overrides,
            f"board.size={size}", f"model.width={_csv(widths)}",
            f"model.depth={_csv(grid.depths)}", f"train.seed={_csv(job.sweep.seeds)}",
        ]
        for size, grid in sorted(job.sweep.boards.items(), reverse=split)
        for widths in ([[w] for w in sorted(grid.widths, reverse=True)] if split else [grid.widths])
    ]  # fmt: skip


def shares_devices(overrides: list[str], jobs: int) -> bool:
    """Whether training processes may share one accelerator: several commands at once, or the
    local submitit launcher, which starts a multirun's jobs together."""
    return jobs > 1 or any(o.replace(" ", "") == "hydra/launcher=local" for o in overrides)


def process_env(share: bool) -> dict[str, str]:
    """The training processes' environment: when they share a device, JAX allocates memory as
    it needs it instead of preallocating 75% of the device in each (a user's setting wins)."""
    env = dict(os.environ)
    if share:
        env.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    return env


def run_all(commands: list[list[str]], jobs: int, env: dict[str, str] | None = None) -> None:
    """Run `commands` from the repo root, `jobs` at a time; the first failure stops the sweep
    (runs already started finish; everything is resumable)."""
    waiting, running = list(commands), []
    while waiting or running:
        while waiting and len(running) < jobs:
            command = waiting.pop(0)
            print("+", " ".join(command[1:]), flush=True)
            running.append(subprocess.Popen(command, cwd=REPO, env=env))
        done = next((p for p in running if p.poll() is not None), None)
        if done is None:
            time.sleep(1)
            continue
        running.remove(done)
        if done.returncode != 0:
            waiting.clear()
            for p in running:
                p.wait()
            raise subprocess.CalledProcessError(done.returncode, done.args)


def command_line_overrides() -> list[str]:
    """This job's command-line overrides, launcher choices (hydra/...) included."""
    overrides = HydraConfig.get().overrides
    hydra = [o for o in overrides.hydra if not o.startswith("hydra.mode=")]  # set by Hydra itself
    return [*hydra, *overrides.task]


@hydra_main
def main(cfg: DictConfig) -> None:
    load(cfg, check_results_dir)
    try:
        check_grid(cfg)
    except ValueError as err:
        print(f"config error: {err}", file=sys.stderr)
        sys.exit(2)
    overrides, jobs = command_line_overrides(), to_object(cfg).sweep.jobs
    run_all(train_commands(cfg, overrides), jobs, process_env(shares_devices(overrides, jobs)))


if __name__ == "__main__":
    register_configs()
    main()
