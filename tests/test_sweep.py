"""Presets compose, sweeps launch through Hydra launchers, results land in the catalog."""

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from hydra import compose, initialize_config_dir

from pipeline.catalog import build_catalog
from pipeline.config import register_configs, to_object, validate
from pipeline.sweep import CONF_DIR, train_commands

REPO = Path(__file__).resolve().parents[1]
TINY = [
    "model.depth=1",
    "search.nodes=4",
    "train.n_envs=16",
    "train.batch_size=16",
    "train.rollout_steps=4",
    "train.min_flops=1e3",
    "train.n_snapshots=3",
    "train.progress=false",
]


def _compose(*overrides):
    register_configs()
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        return compose("train", overrides=[*overrides, "run_name=x", "run_dir=x"])


@pytest.mark.parametrize(
    "experiment", sorted(p.stem for p in (CONF_DIR / "experiment").glob("*.yaml"))
)
def test_every_experiment_preset_composes_and_validates(experiment):
    cfg = to_object(_compose(f"+experiment={experiment}"))
    validate(cfg)
    assert cfg.sweep.boards
    commands = train_commands([f"+experiment={experiment}"])
    assert len(commands) == len(cfg.sweep.boards)
    assert all("--multirun" in c for c in commands)


@pytest.mark.parametrize("group", ["search", "train"])
def test_every_group_option_composes(group):
    for option in sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml")):
        validate(to_object(_compose(f"{group}={option}")))


def test_new_board_sizes_are_config_values(tmp_path):
    """Unlisted board sizes get extrapolated savepoints, train and evaluate with no code change."""
    for size in (10, 13):
        cfg = to_object(_compose(f"board.size={size}"))
        validate(cfg)
    result = subprocess.run(
        [sys.executable, "-m", "pipeline.train", *TINY, "board.size=10", "model.width=4",
         "train.max_flops=1e4", f"output_dir={tmp_path}"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    snapshots = list((tmp_path / "runs").glob("b10-*/snapshots/*/meta.json"))
    assert snapshots
    result = subprocess.run(
        [sys.executable, "-m", "pipeline.evaluate", f"results_dir={tmp_path}", "board.size=10",
         "games_per_pair=2", "reference_nodes=2", "node_variants=[1]", "progress=false"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    elo = pd.read_parquet(tmp_path / "eval" / "b10" / "elo.parquet")
    assert len(elo) == len(snapshots) * 2 + 1  # reference and 1-node variant of each, random
    assert (elo["anchor"] == "top=0").all()


def test_submitit_local_multirun_lands_in_the_catalog(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "pipeline.train", "--multirun", *TINY, "board.size=2",
         "model.width=2,4,8", "train.max_flops=1e5", "hydra/launcher=local",
         f"output_dir={tmp_path}"],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    tables = build_catalog(tmp_path)
    runs = tables["runs"]
    assert sorted(runs["run_name"]) == [f"b2-w{w}-d1-grill4-seed0" for w in (2, 4, 8)]
    assert (runs["status"] == "done").all()
    snapshots = pd.read_parquet(tmp_path / "catalog" / "snapshots.parquet")
    assert set(snapshots["width"]) == {2, 4, 8}
    for column in (
        "seed",
        "code_version",
        "train_flops_jones",
        "train_flops_standard",
        "search.kind",
    ):
        assert snapshots[column].notna().all()
    # rebuilding is idempotent
    again = build_catalog(tmp_path)
    pd.testing.assert_frame_equal(again["snapshots"], tables["snapshots"])
