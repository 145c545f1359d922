"""pipeline.status: run states from done / heartbeat / error records, pending runs from the
preset's grid, evaluation coverage, the CLI's output and exit codes; training's heartbeat and
error record."""

import json
import time

import pandas as pd
import pytest
from conftest import TINY_TRAIN, compose_config, fake_snapshot, run_module
from hydra import compose, initialize_config_dir

import pipeline.train.loop as train
from agents.search import SearchConfig
from pipeline.infra import tables as results
from pipeline.infra.config import CONF_DIR, register_configs
from pipeline.infra.files import atomic_write_json
from pipeline.infra.layout import Layout
from pipeline.status import format_status, planned_runs, run_status, sweep_status

# +experiment=tiny (3×3, jones, 4 nodes) with four widths in the grid
GRID = ("+experiment=tiny", "sweep.boards={3:{widths:[4,8,16,32],depths:[1]}}")
DONE, RUNNING, FAILED, PENDING = (f"b3-w{w}-d1-jones4-seed0" for w in (4, 8, 16, 32))
EXTRA = "b3-w2-d2-jones4-seed0"  # started by hand, not in the grid, no heartbeat: stopped
ERROR = "FloatingPointError: non-finite loss at iteration 7; stopping."


def _raw(*overrides: str):
    register_configs()
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        return compose("config", overrides=list(overrides))


def _snapshot(root, run: str, index: int):
    width = int(run.split("-w")[1].split("-")[0])
    fake_snapshot(root, index, run=run, width=width, search=SearchConfig(nodes=4))


@pytest.fixture
def results_dir(tmp_path):
    """Runs in every state, 4 snapshots of 3 runs, some games and an Elo table on board 3."""
    root = tmp_path / "results"
    layout = Layout(root)
    now = time.time()
    for name in (DONE, RUNNING, FAILED, EXTRA):
        layout.run(name).dir.mkdir(parents=True)
        layout.run(name).config.write_text("board:\n  size: 3\n")
    atomic_write_json(layout.run(DONE).done, {"run_name": DONE, "iteration": 40, "snapshots": 2})
    atomic_write_json(layout.run(DONE).heartbeat, {"time": now - 7200, "iteration": 40})
    atomic_write_json(layout.run(RUNNING).heartbeat, {"time": now - 10, "iteration": 12})
    atomic_write_json(layout.run(FAILED).heartbeat, {"time": now - 3600, "iteration": 3})
    atomic_write_json(layout.run(FAILED).error, {"time": now - 3590, "error": ERROR})
    _snapshot(root, DONE, 0)
    _snapshot(root, DONE, 1)
    _snapshot(root, RUNNING, 0)
    _snapshot(root, FAILED, 0)
    games = pd.DataFrame(
        {
            "board_size": 3,
            "black": [f"{DONE}/00@4", "perfect", "old-run/00@4"],
            "white": ["perfect", f"{DONE}/00@4", "random"],
            "games": [2, 3, 5],  # 2 + min(3, 2) count toward the plan; old-run is not pooled
            "black_wins": [0, 3, 1],
            "white_wins": [2, 0, 4],
            "black_nodes": pd.array([4, None, 4], dtype="Int64"),
            "white_nodes": pd.array([None, 4, None], dtype="Int64"),
        }
    )
    results.append_matches(root, 3, games)
    results.write_parquet(layout.board(3).elo, pd.DataFrame({"agent": ["a", "b", "c"]}))
    return root, now


def test_planned_run_names_are_the_training_jobs_names():
    cfg = _raw(*GRID, "train.seed=5", "sweep.seeds=[0,1]")
    names = planned_runs(cfg)
    assert list(names) == [f"b3-w{w}-d1-jones4-seed{s}" for w in (4, 8, 16, 32) for s in (0, 1)]
    assert set(names.values()) == {3}
    # the same name a training job of that grid point resolves
    point = compose_config(*GRID, "model.width=8", "model.depth=1", "train.seed=1")
    assert point.run_name in names


def test_sweep_status_counts_states_errors_and_coverage(results_dir):
    root, now = results_dir
    status = sweep_status(_raw(*GRID, f"results_dir={root}"), now=now, stale_s=300)
    assert [b.size for b in status.boards] == [3]
    board = status.boards[0]
    by_name = {r.name: r for r in board.runs}
    assert [r.name for r in board.runs] == [DONE, RUNNING, FAILED, PENDING, EXTRA]
    states = {name: r.state for name, r in by_name.items()}
    assert states == {
        DONE: "done", RUNNING: "running", FAILED: "failed", PENDING: "pending", EXTRA: "stopped"
    }  # fmt: skip
    assert [board.count(s) for s in ("done", "running", "failed", "stopped", "pending")] == [
        1, 1, 1, 1, 1,
    ]  # fmt: skip
    assert by_name[FAILED].error == ERROR and by_name[DONE].error is None
    assert [r.name for r in status.failed] == [FAILED] and not status.ok
    assert not by_name[EXTRA].planned and by_name[PENDING].planned
    assert {n: r.snapshots for n, r in by_name.items()} == {
        DONE: 2, RUNNING: 1, FAILED: 1, PENDING: 0, EXTRA: 0
    }  # fmt: skip
    assert by_name[DONE].iteration == 40 and by_name[RUNNING].iteration == 12
    assert by_name[RUNNING].heartbeat_age_s == pytest.approx(10, abs=1)

    # tiny eval: 4 snapshots @4 nodes + 3 anchors (perfect, ε 0.3, random) in a round robin of
    # 2 games per ordered pair; node variants 1, 2 and 16 with each snapshot's @4, 2 games each
    ev = board.eval
    assert ev.snapshots == 4 and ev.pool_agents == 4 + 3 + 4 * 3
    assert ev.games_planned == 7 * 6 * 2 + 4 * (4 * 3 * 2)
    assert ev.games_played == 4 and ev.games_recorded == 10
    assert ev.agents_rated == 3 and ev.problem is None

    text = format_status(status)
    assert "board 3: 4 runs planned + 1 not in the grid" in text
    assert f"error: {ERROR}" in text
    assert "4 / 180 planned games played" in text and "3 agents rated" in text
    assert f"FAILED: {FAILED}" in text


def test_retry_after_failure_is_running_and_stale_heartbeats_are_not(results_dir):
    root, now = results_dir
    files = Layout(root).run(FAILED)
    atomic_write_json(files.heartbeat, {"time": now - 5, "iteration": 4})
    retry = run_status(files, 3, True, 1, now, 300)
    assert retry.state == "running" and retry.error == ERROR
    assert run_status(files, 3, True, 1, now + 400, 300).state == "failed"
    running = Layout(root).run(RUNNING)
    assert run_status(running, 3, True, 1, now + 400, 300).state == "stopped"


def test_board_without_grid_and_no_snapshots(tmp_path):
    """A results dir used without a preset: boards come from started runs; nothing planned."""
    Layout(tmp_path).run("b5-w4-d1-jones4-seed0").dir.mkdir(parents=True)
    Layout(tmp_path).run("b5-w4-d1-jones4-seed0").config.write_text("board:\n  size: 5\n")
    status = sweep_status(_raw(f"results_dir={tmp_path}"))
    assert [b.size for b in status.boards] == [5]
    assert [r.state for r in status.runs] == ["stopped"] and status.ok
    assert status.boards[0].eval.games_planned == 0


def test_cli_exit_codes_and_table(results_dir, tmp_path):
    root, _ = results_dir
    result = run_module("pipeline.status", *GRID, f"results_dir={root}")
    assert result.returncode == 1, result.stderr[-2000:]
    assert "done 1  running 1  failed 1  stopped 1  pending 1" in result.stdout
    assert ERROR in result.stdout and "Traceback" not in result.stderr

    Layout(root).run(FAILED).error.unlink()  # now merely stopped: nothing failed
    result = run_module("pipeline.status", *GRID, f"results_dir={root}")
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    assert "failed 0  stopped 2" in result.stdout

    missing = run_module("pipeline.status", *GRID, f"results_dir={tmp_path / 'nope'}")
    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines() == [
        f"error: results_dir {tmp_path / 'nope'} does not exist"
    ]
    assert not (tmp_path / "nope").exists()


TRAIN = (*TINY_TRAIN, "model.width=4", "train.max_flops=1e5")


def test_training_writes_a_heartbeat_and_records_failures(tmp_path, monkeypatch):
    cfg = compose_config(*TRAIN, f"results_dir={tmp_path}")
    files = Layout(tmp_path).run(cfg.run_name)

    def broken(cfg, optimizer):
        def iteration(carry):
            raise RuntimeError("device fell over\nsecond line")

        return iteration

    with monkeypatch.context() as patch:
        patch.setattr(train, "make_iteration", broken)
        with pytest.raises(RuntimeError, match="device fell over"):
            train.run(cfg)
    record = json.loads(files.error.read_text())
    assert record["error"] == "RuntimeError: device fell over"
    assert "Traceback" in record["traceback"] and record["time"] <= time.time()
    assert json.loads(files.heartbeat.read_text())["iteration"] == 0
    assert not files.done.exists()
    status = sweep_status(_raw(*TRAIN, f"results_dir={tmp_path}"))
    assert [(r.name, r.state, r.error) for r in status.runs] == [
        (cfg.run_name, "failed", "RuntimeError: device fell over")
    ]

    summary = train.run(cfg)  # the retry succeeds and clears the record
    assert not files.error.exists() and files.done.exists()
    beat = json.loads(files.heartbeat.read_text())
    assert beat["iteration"] == summary["iteration"] > 0
    assert abs(beat["time"] - time.time()) < 120 and beat["pid"] and beat["host"]
    status = sweep_status(_raw(*TRAIN, f"results_dir={tmp_path}"))
    assert [r.state for r in status.runs] == ["done"] and status.ok
    assert status.runs[0].snapshots == summary["snapshots"]


@pytest.mark.parametrize("code, recorded", [(2, True), (143, False), (-1, False), (0, False)])
def test_only_error_exits_are_recorded(tmp_path, monkeypatch, code, recorded):
    """Exits after preemption (128 + signal; submitit's -1 after requeueing) are not failures."""
    cfg = compose_config(f"results_dir={tmp_path}")
    files = Layout(tmp_path).run(cfg.run_name)
    files.dir.mkdir(parents=True)

    def exits(cfg):
        raise SystemExit(code)

    monkeypatch.setattr(train, "_train", exits)
    with pytest.raises(SystemExit):
        train.run(cfg)
    assert files.error.exists() == recorded
    if recorded:
        assert json.loads(files.error.read_text())["error"] == "SystemExit: exit status 2"


def test_layout_names_the_new_files(tmp_path):
    files = Layout(tmp_path).run("r")
    assert files.heartbeat == tmp_path / "runs/r/heartbeat.json"
    assert files.error == tmp_path / "runs/r/error.json"
