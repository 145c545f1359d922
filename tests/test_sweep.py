"""Presets compose, sweeps launch through Hydra launchers, results land in the catalog."""

import subprocess
import sys

import pandas as pd
import pytest
from conftest import TINY_TRAIN, compose_config, run_module
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from pipeline.catalog import build_catalog
from pipeline.infra.config import (
    CONF_DIR,
    grid_configs,
    register_configs,
    savepoint_bounds,
    validate,
    validate_eval,
)
from pipeline.infra.layout import Layout
from pipeline.sweep import check_grid, run_all, train_commands


@pytest.mark.parametrize(
    "experiment", sorted(p.stem for p in (CONF_DIR / "experiment").glob("*.yaml"))
)
def test_every_experiment_preset_composes_and_validates(experiment):
    register_configs()
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        raw = compose("config", overrides=[f"+experiment={experiment}"])
    cfg = compose_config(f"+experiment={experiment}")
    validate(cfg)
    validate_eval(cfg)
    check_grid(raw)
    assert cfg.sweep.boards
    assert cfg.eval.reference_nodes == cfg.search.nodes  # one home: interpolated
    assert cfg.figures.nodes == cfg.eval.reference_nodes
    commands = train_commands(raw, [f"+experiment={experiment}"])
    together = set(cfg.sweep.population_boards) & set(cfg.sweep.boards)
    alone = {s: g for s, g in cfg.sweep.boards.items() if s not in together}
    per_width = sum(len(grid.widths) for grid in alone.values())
    assert len(commands) == len(together) + (len(alone) if cfg.sweep.jobs == 1 else per_width)
    assert sum("--multirun" in c for c in commands) == len(commands) - len(together)
    assert sum("pipeline.train.population" in c for c in commands) == len(together)


def test_population_boards_train_as_one_population_command_each():
    register_configs()
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        raw = compose("config", overrides=["+experiment=smoke", "sweep.population_boards=[3]"])
    commands = [c[1:] for c in train_commands(raw, ["+experiment=smoke"])]
    assert commands == [
        ["-m", "pipeline.train.population", "+experiment=smoke", "board.size=3"],
        ["-m", "pipeline.train", "--multirun", "+experiment=smoke", "board.size=4",
         "model.width=8,32", "model.depth=1", "train.seed=0"],
    ]  # fmt: skip


def test_parallel_sweep_splits_by_width_and_runs_jobs_at_once(tmp_path):
    register_configs()
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        raw = compose("config", overrides=["+experiment=smoke", "sweep.jobs=2"])
    commands = train_commands(raw, [])
    widths = [" ".join(c[c.index("--multirun") + 1 :][:2]) for c in commands]
    assert widths == [
        "board.size=4 model.width=32",
        "board.size=4 model.width=8",
        "board.size=3 model.width=16",
        "board.size=3 model.width=4",
    ]
    # job 0 waits for the file job 1 writes: only two at once finish (one at a time: exit 1)
    script = (
        "import pathlib, sys, time\n"
        "d, i, t = pathlib.Path(sys.argv[1]), int(sys.argv[2]), time.time()\n"
        "(d / str(i)).touch()\n"
        "while i < 1 and not (d / str(i + 1)).exists():\n"
        "    time.sleep(0.05)\n"
        "    if time.time() - t > 60: sys.exit(1)\n"
    )
    run_all([[sys.executable, "-c", script, str(tmp_path), str(i)] for i in range(3)], jobs=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["0", "1", "2"]
    failing = [[sys.executable, "-c", "raise SystemExit(3)"], [sys.executable, "-c", "pass"]]
    with pytest.raises(subprocess.CalledProcessError):
        run_all(failing, jobs=1)
    with pytest.raises(ValueError, match="sweep.jobs"):
        check_grid(OmegaConf.merge(raw, {"sweep": {"jobs": 0}}))


@pytest.mark.parametrize("group", ["search", "train", "eval", "figures"])
def test_every_group_option_composes(group):
    for option in sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml")):
        cfg = compose_config(f"{group}={option}")
        validate(cfg)
        validate_eval(cfg)


def test_layout_resolver_matches_the_layout_object(tmp_path):
    register_configs()
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        raw = compose("config", overrides=[f"results_dir={tmp_path}"], return_hydra_config=True)
    assert raw.hydra.sweep.dir.startswith(str(Layout(tmp_path).logs))


def test_new_board_sizes_are_config_values():
    """Unlisted board sizes get extrapolated savepoints and validate."""
    for size in (10, 13):
        cfg = compose_config(f"board.size={size}")
        validate(cfg)
        low, high, cap = savepoint_bounds(cfg.train, size)
        assert 0 < low < high and cap > 0


@pytest.mark.slow
def test_a_new_board_size_trains_and_evaluates(tmp_path):
    """10×10 trains and evaluates with no code change (CI: the compose check above)."""
    result = run_module(
        "pipeline.train",
        *TINY_TRAIN,
        "board.size=10",
        "model.width=4",
        "train.max_flops=1e4",
        f"results_dir={tmp_path}",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    snapshots = list((tmp_path / "runs").glob("b10-*/snapshots/*/meta.json"))
    assert snapshots
    result = run_module(
        "pipeline.evaluate",
        f"results_dir={tmp_path}",
        "board.size=10",
        "eval.games_per_pair=2",
        "eval.reference_nodes=2",
        "eval.node_variants=[1]",
        "eval.progress=false",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    elo = pd.read_parquet(tmp_path / "eval" / "b10" / "elo.parquet")
    assert len(elo) == len(snapshots) * 2 + 1  # reference and 1-node variant of each, random
    assert (elo["anchor"] == "top=0").all()


def test_submitit_local_multirun_lands_in_the_catalog(tmp_path):
    result = run_module(
        "pipeline.train",
        "--multirun",
        *TINY_TRAIN,
        "board.size=2",
        "model.width=2,4",
        "train.max_flops=1e5",
        "hydra/launcher=local",
        f"results_dir={tmp_path}",
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    tables = build_catalog(tmp_path)
    runs = tables["runs"]
    assert sorted(runs["run_name"]) == [f"b2-w{w}-d1-jones4-seed0" for w in (2, 4)]
    assert (runs["status"] == "done").all()
    snapshots = pd.read_parquet(tmp_path / "catalog" / "snapshots.parquet")
    assert set(snapshots["width"]) == {2, 4}
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


def test_processes_sharing_a_device_do_not_preallocate(monkeypatch):
    from pipeline.sweep import process_env, shares_devices

    monkeypatch.delenv("XLA_PYTHON_CLIENT_PREALLOCATE", raising=False)
    assert shares_devices([], 2) and shares_devices(["hydra/launcher=local"], 1)
    assert not shares_devices(["+experiment=smoke"], 1)
    assert process_env(True)["XLA_PYTHON_CLIENT_PREALLOCATE"] == "false"
    assert "XLA_PYTHON_CLIENT_PREALLOCATE" not in process_env(False)
    monkeypatch.setenv("XLA_PYTHON_CLIENT_PREALLOCATE", "true")  # the user's choice wins
    assert process_env(True)["XLA_PYTHON_CLIENT_PREALLOCATE"] == "true"


def test_per_width_seeds_and_sample_caps_reach_every_run_and_command():
    register_configs()
    grid = "++sweep.boards={4:{widths:[2,16],depths:[1],seeds:{16:[0,1]},max_samples:{2:5e5}}}"
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        raw = compose("config", overrides=["+experiment=smoke", grid])
    runs = [(c.model.width, c.train.seed, savepoint_bounds(c.train, 4)[2])
            for c in grid_configs(raw, 4)]  # fmt: skip
    board_cap = savepoint_bounds(compose_config("+experiment=smoke").train, 4)[2]
    assert runs == [(2, 0, 5e5), (16, 0, board_cap), (16, 1, board_cap)]
    commands = [c[c.index("board.size=4"):] for c in train_commands(raw, [])
                if "board.size=4" in c]  # fmt: skip
    assert commands == [  # one command per width even with sweep.jobs = 1
        ["board.size=4", "model.width=2", "model.depth=1", "train.seed=0",
         "train.max_samples=500000"],
        ["board.size=4", "model.width=16", "model.depth=1", "train.seed=0,1"],
    ]  # fmt: skip
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        stray_grid = grid.replace("16:[0,1]", "8:[0]")
        stray = compose("config", overrides=["+experiment=smoke", stray_grid])
    with pytest.raises(ValueError, match=r"sweep.boards.4.seeds names widths \[8\]"):
        check_grid(stray)
