"""Launch an experiment's training sweep: one Hydra multirun per board size.

    python -m pipeline.sweep +experiment=smoke                          # basic launcher, in order
    python -m pipeline.sweep +experiment=paper hydra/launcher=slurm     # SLURM via submitit

The grid lives in the preset (`sweep.boards`: board → widths × depths, `sweep.seeds`). Every
override given here is passed on to each `python -m pipeline.train -m …` call, so launcher
settings and training settings work the same way. Finished runs return at once (their
`done.json`), partial ones resume from their checkpoint, so re-launching a sweep redoes nothing.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from pipeline.config import register_configs, to_object, validate

CONF_DIR = Path(__file__).resolve().parents[1] / "conf"


def _csv(values) -> str:
    return ",".join(str(v) for v in values)


def train_commands(overrides: list[str]) -> list[list[str]]:
    """The multirun command per board size of the preset that `overrides` select."""
    register_configs()
    job_overrides = [o for o in overrides if not o.startswith(("hydra/", "hydra."))]
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        cfg = compose("train", overrides=[*job_overrides, "run_name=check", "run_dir=check"])
    job = to_object(cfg)
    if not job.sweep.boards:
        raise ValueError("the preset has no sweep.boards; use e.g. +experiment=smoke")
    commands = []
    for size, grid in sorted(job.sweep.boards.items()):
        for width in grid.widths:
            for depth in grid.depths:
                sample = OmegaConf.merge(
                    cfg, {"board": {"size": size}, "model": {"width": width, "depth": depth}}
                )
                validate(to_object(sample))  # every point of the grid, before anything runs
        commands.append(
            [
                sys.executable, "-m", "pipeline.train", "--multirun", *overrides,
                f"board.size={size}", f"model.width={_csv(grid.widths)}",
                f"model.depth={_csv(grid.depths)}", f"train.seed={_csv(job.sweep.seeds)}",
            ]
        )  # fmt: skip
    return commands


def main(argv: list[str]) -> None:
    try:
        commands = train_commands(argv)
    except ValueError as err:
        print(f"config error: {err}", file=sys.stderr)
        sys.exit(2)
    for command in commands:
        print("+", " ".join(command[1:]), flush=True)
        subprocess.run(command, check=True, cwd=CONF_DIR.parent)


if __name__ == "__main__":
    main(sys.argv[1:])
