"""The experiment pipeline: training (`train`), evaluation (`evaluate`) and what they share
(`infra`), with the orchestration over them at this level: `sweep`, `reproduce`, `status`,
`catalog`, `publish`. Each stage is also a `python -m` entry point (README)."""

from pipeline.evaluate.elo_table import build as build_elo_tables
from pipeline.evaluate.players import black_wins_vs_solver, load_player
from pipeline.evaluate.ratings import EloFit, fit_elo
from pipeline.evaluate.run import evaluate as run_evaluation
from pipeline.infra.config import Config, compose
from pipeline.infra.layout import Layout
from pipeline.infra.snapshot import load_snapshot
from pipeline.train.loop import run as run_training

__all__ = [
    "Config",
    "EloFit",
    "Layout",
    "black_wins_vs_solver",
    "build_elo_tables",
    "compose",
    "fit_elo",
    "load_player",
    "load_snapshot",
    "run_evaluation",
    "run_training",
]
