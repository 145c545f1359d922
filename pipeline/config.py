"""Structured configs for the training job: the schema Hydra validates YAML against, one
`validate` that rejects bad values before any compute, and per-board defaults derived from conf.

The tree mirrors the code: `board` (hex_env), `model` (agents.network), `search`
(agents.search.SearchConfig), `train` (pipeline.train).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig, OmegaConf

from agents.search import SearchConfig
from pipeline import jones


@dataclasses.dataclass
class BoardConfig:
    size: int = 3  # side of the b×b board, 2..19
    swap_rule: bool = False  # pie rule (training ignores it for now; evaluation too)


@dataclasses.dataclass
class ModelConfig:
    width: int = 16  # hidden units per layer
    depth: int = 2  # residual blocks


@dataclasses.dataclass
class TrainSettings:
    n_envs: int = 256  # games played in parallel (Jones: 32,768)
    batch_size: int = 256  # learner minibatch (Jones: 32,768)
    rollout_steps: int = 16  # self-play steps per jitted call = value-target window
    lr: float = 1e-3  # Adam, no schedule, no weight decay
    seed: int = 0
    n_snapshots: int = 21  # savepoints, log-spaced in train FLOPs (Jones convention)
    min_flops: float | None = None  # first savepoint; null: from flops_bounds
    max_flops: float | None = None  # last savepoint; null: from flops_bounds
    max_samples: float | None = None  # sample cap; null: from sample_caps
    # per-board [first, last] savepoints in Jones FLOPs, and sample caps (Jones 2021); other
    # board sizes are extrapolated log-linearly from the listed ones
    flops_bounds: dict[int, list[float]] = dataclasses.field(
        default_factory=lambda: {b: list(v) for b, v in jones.SAVEPOINT_FLOPS_BOUNDS.items()}
    )
    sample_caps: dict[int, float] = dataclasses.field(
        default_factory=lambda: dict(jones.SAMPLE_CAPS)
    )
    checkpoint_every_s: float = 60.0  # wall seconds between full-state checkpoints
    progress: bool = True  # tqdm progress bar


@dataclasses.dataclass
class GridConfig:
    widths: list[int] = dataclasses.field(default_factory=lambda: [16])  # hidden units swept
    depths: list[int] = dataclasses.field(default_factory=lambda: [2])  # residual blocks swept


@dataclasses.dataclass
class SweepConfig:
    """What `python -m pipeline.sweep +experiment=NAME` launches: one run per board × width ×
    depth × seed. Read by the sweep driver only; a single training job ignores it."""

    boards: dict[int, GridConfig] = dataclasses.field(default_factory=dict)  # board → grid
    seeds: list[int] = dataclasses.field(default_factory=lambda: [0])
    eval: str = "default"  # conf/eval/<name>.yaml preset for pipeline.evaluate


@dataclasses.dataclass
class TrainJobConfig:
    board: BoardConfig = dataclasses.field(default_factory=BoardConfig)
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    search: SearchConfig = dataclasses.field(default_factory=SearchConfig)
    train: TrainSettings = dataclasses.field(default_factory=TrainSettings)
    run_name: str = "???"  # set by conf/train.yaml from the settings; names the run directory
    output_dir: str = "outputs"  # root of every run, evaluation and figure
    run_dir: str = "???"  # where this run writes; re-launching the same run resumes it
    sweep: SweepConfig = dataclasses.field(default_factory=SweepConfig)


def register_configs() -> None:
    ConfigStore.instance().store(name="train_schema", node=TrainJobConfig)


def _interpolate(table: dict[int, Any], size: int) -> float | list[float]:
    """Value at `size` from a per-board table, log-linear beyond the listed sizes."""
    table = {int(k): v for k, v in table.items()}
    if size in table:
        return table[size]
    sizes = sorted(table)
    lo, hi = (sizes[0], sizes[1]) if size < sizes[0] else (sizes[-2], sizes[-1])
    if sizes[0] < size < sizes[-1]:
        lo = max(s for s in sizes if s < size)
        hi = min(s for s in sizes if s > size)

    def extrapolate(a: float, b: float) -> float:
        return 10 ** (math.log10(a) + (math.log10(b) - math.log10(a)) * (size - lo) / (hi - lo))

    a, b = table[lo], table[hi]
    if isinstance(a, int | float):
        return extrapolate(a, b)
    return [extrapolate(x, y) for x, y in zip(a, b, strict=True)]


def savepoint_bounds(train: TrainSettings, size: int) -> tuple[float, float, float]:
    """(first savepoint, last savepoint, sample cap) for a board size."""
    low, high = _interpolate(train.flops_bounds, size)
    low = train.min_flops if train.min_flops is not None else low
    high = train.max_flops if train.max_flops is not None else high
    cap = (
        train.max_samples
        if train.max_samples is not None
        else _interpolate(train.sample_caps, size)
    )
    return float(low), float(high), float(cap)


def validate(cfg: TrainJobConfig | DictConfig) -> None:
    """Reject bad values with a one-line ValueError, before anything is compiled or written."""
    checks = [
        (2 <= cfg.board.size <= 19, f"board.size must be in 2..19, got {cfg.board.size}"),
        (cfg.model.width >= 1, f"model.width must be >= 1, got {cfg.model.width}"),
        (cfg.model.depth >= 0, f"model.depth must be >= 0, got {cfg.model.depth}"),
        (cfg.train.n_envs >= 1, f"train.n_envs must be >= 1, got {cfg.train.n_envs}"),
        (cfg.train.batch_size >= 1, f"train.batch_size must be >= 1, got {cfg.train.batch_size}"),
        (cfg.train.rollout_steps >= 1, "train.rollout_steps must be >= 1"),
        (
            (cfg.train.n_envs * cfg.train.rollout_steps) % cfg.train.batch_size == 0,
            "train.n_envs * train.rollout_steps must be a multiple of train.batch_size "
            f"(got {cfg.train.n_envs} * {cfg.train.rollout_steps} and {cfg.train.batch_size})",
        ),
        (cfg.train.lr > 0, f"train.lr must be > 0, got {cfg.train.lr}"),
        (cfg.train.n_snapshots >= 1, "train.n_snapshots must be >= 1"),
        (not cfg.board.swap_rule, "board.swap_rule=true is not supported by training yet"),
    ]
    for ok, message in checks:
        if not ok:
            raise ValueError(message)
    SearchConfig(**cfg.search).validate() if isinstance(cfg, DictConfig) else cfg.search.validate()
    low, high, cap = savepoint_bounds(cfg.train, cfg.board.size)
    if not 0 < low <= high:
        raise ValueError(f"savepoints need 0 < first <= last, got {low:g} and {high:g}")
    if cap <= 0:
        raise ValueError(f"train.max_samples must be > 0, got {cap:g}")


def to_object(cfg: DictConfig) -> TrainJobConfig:
    return OmegaConf.to_object(cfg)
