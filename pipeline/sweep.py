"""Launch an experiment's sweep.

    python -m pipeline.sweep +experiment=smoke                          # basic launcher, in order
    python -m pipeline.sweep +experiment=paper hydra/launcher=slurm     # SLURM: submit and return

The grid lives in the preset (`sweep.boards`: board → widths × depths, `sweep.seeds`).

Locally (the basic or the `local` launcher) the sweep trains: one Hydra multirun per board size,
each override given here passed on to every `python -m pipeline.train --multirun …` call, and it
returns when they end; evaluation is a separate step (`pipeline.reproduce` runs both).

On SLURM (`hydra/launcher=slurm` or `slurm_local`) it submits and returns: per board a training
array of the runs without `done.json` and an evaluation job that starts once that array has
ended (`pipeline.slurm`), printing the job ids and recording them in `<results_dir>/jobs.json`;
`pipeline.status` shows them beside the runs' own files. A board whose last submitted jobs are
still queued or running is not submitted again.

Finished runs return at once (their `done.json`), partial ones resume from their checkpoint, and
evaluation plays only missing games, so re-launching a sweep redoes nothing.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from pipeline.infra.config import (
    check_results_dir,
    check_run_settings,
    grid_configs,
    grid_overrides,
    hydra_main,
    load,
    register_configs,
    to_object,
    validate,
    with_overrides,
)
from pipeline.infra.layout import Layout
from pipeline.slurm import (
    Stage,
    active,
    board_job_ids,
    is_slurm,
    job_states,
    latest_boards,
    launcher_params,
    read_submissions,
    record_submission,
    submit_board,
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
    for size in sorted(boards):
        for job in grid_configs(cfg, size):
            validate(job)
            check_run_settings(job)


@dataclasses.dataclass(frozen=True)
class GridPoint:
    """One training run of the preset's grid."""

    size: int  # board size
    name: str  # the run name its config resolves to
    overrides: list[str]  # board.size=…, model.width=…, model.depth=…, train.seed=…


def grid_points(cfg: DictConfig) -> list[GridPoint]:
    """Every run of the preset's grid (`sweep.boards` × `sweep.seeds`), in grid order, named as
    its training job names it."""
    return [GridPoint(size, with_overrides(cfg, o).run_name, o) for size, o in grid_overrides(cfg)]


def train_commands(cfg: DictConfig, overrides: list[str]) -> list[list[str]]:
    """The `pipeline.train --multirun` commands of the preset in `cfg`, passing `overrides` (the
    sweep's own command line) on to each: one per board size, or one per board × width (largest
    first) with `sweep.jobs` > 1, so that they can run side by side, or where the board's grid has
    per-width seeds or sample caps; a board of `sweep.population_boards` is one
    `pipeline.train.population` command."""
    sweep = to_object(cfg).sweep
    split = sweep.jobs > 1
    commands = []
    for size, grid in sorted(sweep.boards.items(), reverse=split):
        if size in sweep.population_boards:
            commands.append([sys.executable, "-m", "pipeline.train.population", *overrides,
                             f"board.size={size}"])  # fmt: skip
            continue
        by_width = split or grid.seeds or grid.max_samples
        groups = [[w] for w in sorted(grid.widths, reverse=split)] if by_width else [grid.widths]
        for widths in groups:
            commands.append([
                sys.executable, "-m", "pipeline.train", "--multirun", *overrides,
                f"board.size={size}", f"model.width={_csv(widths)}",
                f"model.depth={_csv(grid.depths)}",
                f"train.seed={_csv(grid.seeds_of(widths[0], sweep.seeds))}",
                *grid.cap_overrides(widths[0]),
            ])  # fmt: skip
    return commands


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


def submit_to_slurm(cfg: DictConfig, overrides: list[str], params: dict) -> None:
    """Submit each board's unfinished runs and its evaluation (module docstring); print and
    record the job ids."""
    layout = Layout(to_object(cfg).results_dir)
    task = [o for o in overrides if not o.startswith(("hydra/", "hydra."))]
    previous = latest_boards(read_submissions(layout))
    points, boards = grid_points(cfg), []
    try:
        for size in sorted(to_object(cfg).sweep.boards):
            queued = _still_queued(previous.get(size))
            if queued:
                print(f"board {size}: jobs {', '.join(queued)} still queued or running; skipped")
                continue
            boards.append({"board": size})
            training = training_stages(cfg, size, task, [p for p in points if p.size == size])
            submit_board(params, layout.slurm_logs, boards[-1], training,
                         Stage("pipeline.evaluate", (*task, f"board.size={size}")))  # fmt: skip
            _print_board(boards[-1])
    finally:  # what was submitted is recorded, even when a later sbatch fails
        boards = [b for b in boards if len(b) > 1]
        if boards:
            record_submission(layout, overrides, boards)
            print(f"job ids recorded in {layout.jobs}; pipeline.status shows where they stand")


def training_stages(cfg: DictConfig, size: int, task: list[str],
                    points: list[GridPoint]) -> dict[Stage, list[str]]:  # fmt: skip
    """Board `size`'s training jobs and the runs each trains: one per run without done.json, or
    for a board of `sweep.population_boards` one `pipeline.train.population` job for them all."""
    layout = Layout(to_object(cfg).results_dir)
    todo = [p for p in points if not layout.run(p.name).done.exists()]
    if not todo:
        return {}
    if size in to_object(cfg).sweep.population_boards:
        population = Stage("pipeline.train.population", (*task, f"board.size={size}"))
        return {population: [p.name for p in todo]}
    return {Stage("pipeline.train", (*task, *p.overrides)): [p.name] for p in todo}


def _still_queued(board: dict | None) -> list[str]:
    if board is None:
        return []
    states = job_states(board_job_ids(board))
    return [job for job in board_job_ids(board) if active(states.get(job))]


def _print_board(record: dict) -> None:
    size, runs = record["board"], record.get("runs", {})
    if runs:
        print(f"board {size}: training {record['train']} ({len(runs)} runs), "
              f"evaluation {record['evaluate']} after it")  # fmt: skip
        for name, job in runs.items():
            print(f"  {job}  {name}")
    else:
        print(f"board {size}: every run done; evaluation {record['evaluate']}")


def check_slurm() -> None:
    """SLURM's client is here (a one-line ValueError otherwise)."""
    if shutil.which("sbatch") is None or shutil.which("srun") is None:
        raise ValueError(
            "hydra/launcher=slurm needs SLURM's sbatch and srun on PATH "
            "(a local cluster: bash scripts/slurm_local.sh up, then hydra/launcher=slurm_local)"
        )


@hydra_main
def main(cfg: DictConfig) -> None:
    load(cfg, check_results_dir)
    launcher = HydraConfig.get().launcher
    slurm = is_slurm(launcher)
    try:
        check_grid(cfg)
        if slurm:
            check_slurm()
    except ValueError as err:
        print(f"config error: {err}", file=sys.stderr)
        sys.exit(2)
    overrides, jobs = command_line_overrides(), to_object(cfg).sweep.jobs
    if slurm:
        try:
            submit_to_slurm(cfg, overrides, launcher_params(launcher))
        except ValueError as err:
            print(f"error: {str(err).splitlines()[0]}", file=sys.stderr)
            sys.exit(1)
        return
    run_all(train_commands(cfg, overrides), jobs, process_env(shares_devices(overrides, jobs)))


if __name__ == "__main__":
    register_configs()
    main()
