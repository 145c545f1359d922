"""Operator-facing behaviour: progress lines without a TTY, metric sinks, file modes under the
umask, and one-line errors for damaged snapshots, checkpoints and parquet files."""

from __future__ import annotations

import io
import logging
import os
import stat
import struct
import sys

import jax
import numpy as np
import pandas as pd
import pytest
from flax import serialization

from agents.network import init_params
from pipeline.infra import tables as results
from pipeline.infra.files import CorruptFileError, atomic_write_bytes, atomic_write_json
from pipeline.infra.metrics_log import MetricsLogger, scalars, wandb_run_id
from pipeline.infra.progress import Progress
from pipeline.infra.runtime import quiet_jax_logs
from pipeline.infra.snapshot import (
    META_FILE,
    PARAMS_FILE,
    SnapshotError,
    check_snapshot,
    load_snapshot,
    save_snapshot,
)

# --- progress ---


class FakeClock:
    def __init__(self):
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_progress_without_tty_prints_plain_lines_every_interval():
    stream, clock = io.StringIO(), FakeClock()
    progress = Progress(
        total=1000, desc="games", unit="game", interval_s=30, stream=stream, clock=clock
    )
    for _ in range(10):  # 10 updates of 50 games, 10 s apart: a line at 30 s and at 60 s
        clock.t += 10
        progress.set_postfix(loss=0.5)
        progress.update(50)
    progress.close()
    progress.close()  # idempotent
    text = stream.getvalue()
    assert "\r" not in text and "\x1b" not in text
    lines = text.splitlines()
    assert lines[0] == "games: 0/1,000 game (0%) | elapsed 00:00 | ETA ?"
    assert lines[1] == (
        "games: 150/1,000 game (15%) | 5 game/s | elapsed 00:30 | ETA 02:50 | loss=0.5"
    )
    assert lines[2].startswith("games: 300/1,000 game (30%) | 5 game/s | elapsed 01:00 | ETA 02:20")
    assert lines[3].startswith("games: 450/1,000 game (45%) | 5 game/s | elapsed 01:30 | ETA 01:50")
    assert lines[4].startswith("games: 500/1,000 game (50%) | 5 game/s | elapsed 01:40 | ETA 01:40")
    assert len(lines) == 5  # start, every 30 s, close


def test_progress_unit_scale_resume_and_done():
    stream, clock = io.StringIO(), FakeClock()
    progress = Progress(
        total=4e9, initial=1e9, unit="FLOP", unit_scale=True, interval_s=0, stream=stream,
        clock=clock,
    )  # fmt: skip
    clock.t += 10
    progress.update(3e9)  # rate counts only this session's work
    progress.close()
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("1.00G/4.00G FLOP (25%)")
    assert lines[1] == "4.00G/4.00G FLOP (100%) | 300M FLOP/s | elapsed 00:10"
    assert lines[2] == lines[1]  # the final line at close


def test_progress_interval_from_environment(monkeypatch):
    monkeypatch.setenv("HEXSCALE_PROGRESS_S", "5")
    assert Progress(10, stream=io.StringIO()).interval_s == 5
    monkeypatch.setenv("HEXSCALE_PROGRESS_S", "soon")
    with pytest.raises(ValueError, match="HEXSCALE_PROGRESS_S"):
        Progress(10, stream=io.StringIO())


def test_progress_on_a_terminal_is_a_tqdm_bar():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    stream = Terminal()
    with Progress(total=10, desc="bar", stream=stream) as progress:
        progress.update(10)
        progress.set_postfix(loss="1.0")
    assert "\r" in stream.getvalue() and "10/10" in stream.getvalue()


def test_quiet_jax_logs():
    logger = logging.getLogger("jax._src.xla_bridge")
    level = logger.level
    try:
        quiet_jax_logs()
        assert not logger.isEnabledFor(logging.INFO)
        assert logger.isEnabledFor(logging.WARNING)
    finally:
        logger.setLevel(level)


# --- metric sinks ---


def _read_events(directory):
    """(tag, step, value) of every scalar in the TFRecord event files under `directory`."""
    from tensorboardX.proto import event_pb2

    found = []
    for path in sorted(directory.glob("events.out.tfevents.*")):
        data = path.read_bytes()
        offset = 0
        while offset < len(data):
            (length,) = struct.unpack("<Q", data[offset : offset + 8])
            event = event_pb2.Event.FromString(data[offset + 12 : offset + 12 + length])
            offset += 12 + length + 4
            for value in event.summary.value:
                found.append((value.tag, event.step, value.simple_value))
    return found


def test_metrics_logger_tensorboard_event_file(tmp_path):
    with MetricsLogger(tmp_path, tensorboard=True, run_name="r") as sinks:
        assert sinks.enabled
        sinks.log(1, {"loss/total": 2.5, "samples": 256, "note": "x", "bad": float("nan")})
        sinks.log(2, {"loss/total": 1.5, "samples": 512})
    events = _read_events(tmp_path / "tensorboard")
    assert ("loss/total", 1, 2.5) in events and ("loss/total", 2, 1.5) in events
    assert ("samples", 2, 512.0) in events
    assert not any(tag in ("note", "bad") for tag, _, _ in events)


def test_metrics_logger_off_writes_nothing(tmp_path):
    sinks = MetricsLogger(tmp_path)
    sinks.log(1, {"loss": 1.0})
    sinks.close()
    assert not sinks.enabled and list(tmp_path.iterdir()) == []


def test_scalars_and_wandb_id(tmp_path):
    assert scalars({"a": 1, "b": np.float32(2), "c": True, "d": "s", "e": float("inf")}) == {
        "a": 1.0,
        "b": 2.0,
    }
    run_id = wandb_run_id("b4/w8 d2", tmp_path)
    assert run_id == wandb_run_id("b4/w8 d2", tmp_path / "." / "")
    assert run_id.startswith("b4_w8_d2-") and run_id != wandb_run_id("b4/w8 d2", tmp_path / "x")


def test_metrics_logger_wandb_offline(tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    with MetricsLogger(tmp_path, wandb=True, wandb_project="test", config={"a": 1}) as sinks:
        sinks.log(1, {"loss/total": 2.5})
    assert list((tmp_path / "wandb").glob("offline-run-*"))


def test_metrics_logger_wandb_missing_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "wandb", None)  # import fails
    with pytest.raises(RuntimeError, match=r"hexscale\[wandb\]"):
        MetricsLogger(tmp_path, wandb=True)


# --- file modes ---


@pytest.fixture(params=[0o022, 0o027])
def umask(request):
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_atomic_writes_respect_umask(tmp_path, umask):
    atomic_write_bytes(tmp_path / "a.bin", b"x")
    atomic_write_json(tmp_path / "sub" / "b.json", {"a": 1})
    assert _mode(tmp_path / "a.bin") == 0o666 & ~umask
    assert _mode(tmp_path / "sub" / "b.json") == 0o666 & ~umask
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_snapshot_directories_respect_umask(tmp_path, umask):
    params = init_params(jax.random.PRNGKey(0), 3, 4, 1)
    directory = tmp_path / "snapshots" / "00"
    save_snapshot(directory, params, {"board_size": 3, "width": 4, "depth": 1})
    assert _mode(directory) == 0o777 & ~umask
    for name in (PARAMS_FILE, META_FILE):
        assert _mode(directory / name) == 0o666 & ~umask


# --- damaged files ---


@pytest.fixture
def snapshot_dir(tmp_path):
    params = init_params(jax.random.PRNGKey(0), 3, 4, 1)
    directory = tmp_path / "runs" / "x" / "snapshots" / "03"
    save_snapshot(directory, params, {"board_size": 3, "width": 4, "depth": 1, "index": 3})
    return directory


def test_good_snapshot_loads_as_before(snapshot_dir):
    assert check_snapshot(snapshot_dir) is None
    params, meta = load_snapshot(snapshot_dir)
    template = init_params(jax.random.PRNGKey(1), 3, 4, 1)
    expected = serialization.from_bytes(template, (snapshot_dir / PARAMS_FILE).read_bytes())
    assert jax.tree.structure(params) == jax.tree.structure(expected)
    for a, b in zip(jax.tree.leaves(params), jax.tree.leaves(expected), strict=True):
        np.testing.assert_array_equal(a, b)
    assert meta["index"] == 3


def _damage_params(directory, how):
    path = directory / PARAMS_FILE
    data = path.read_bytes()
    if how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "garbage":
        path.write_bytes(b"garbage")
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "missing":
        path.unlink()
    elif how == "other network":
        path.write_bytes(serialization.to_bytes(init_params(jax.random.PRNGKey(0), 3, 8, 1)))


@pytest.mark.parametrize(
    "how, reason",
    [
        ("truncated", "truncated msgpack"),
        ("garbage", "not a msgpack params file"),
        ("empty", "truncated msgpack"),
        ("missing", "missing params.msgpack"),
        ("other network", "shape"),
    ],
)
def test_damaged_params_one_line_error(snapshot_dir, how, reason):
    _damage_params(snapshot_dir, how)
    with pytest.raises(SnapshotError) as info:
        load_snapshot(snapshot_dir)
    message = str(info.value)
    assert "\n" not in message and reason in message
    assert message.startswith(f"corrupt snapshot {snapshot_dir / PARAMS_FILE} (")
    assert f"delete {snapshot_dir}" in message
    assert check_snapshot(snapshot_dir) == message
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    "text, reason",
    [
        ('{"board_size": 3, "wid', "invalid JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"board_size": 3, "width": 4}', "missing key 'depth'"),
        ('{"board_size": 3, "width": "4", "depth": 1}', "width is '4'"),
    ],
)
def test_damaged_meta_one_line_error(snapshot_dir, text, reason):
    (snapshot_dir / META_FILE).write_text(text)
    message = check_snapshot(snapshot_dir)
    assert message is not None and "\n" not in message and reason in message
    assert message.startswith(f"corrupt snapshot {snapshot_dir / META_FILE} (")


@pytest.mark.parametrize("which", ["matches", "agents"])
@pytest.mark.parametrize("damage", ["truncated", "garbage", "wrong table"])
def test_damaged_parquet_one_line_error(tmp_path, which, damage):
    path = tmp_path / "eval" / "b3" / f"{which}.parquet"
    path.parent.mkdir(parents=True)
    if damage == "wrong table":
        pd.DataFrame({"nothing": [1]}).to_parquet(path)
    else:
        good = results.empty_matches() if which == "matches" else results.read_agents(tmp_path, 3)
        good.to_parquet(path)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2] if damage == "truncated" else b"garbage!!")
    read = getattr(results, f"read_{which}")
    if which == "agents" and damage == "wrong table":
        read(tmp_path, 3)  # agents tables are reindexed to the known columns: still readable
        return
    with pytest.raises(CorruptFileError) as info:
        read(tmp_path, 3)
    message = str(info.value)
    assert message.startswith(f"corrupt parquet {path} (") and "\n" not in message


# --- damaged checkpoint ---


@pytest.fixture
def run_files(tmp_path):
    from pipeline.infra.layout import RunFiles

    run = RunFiles(tmp_path / "run")
    run.dir.mkdir()
    return run


def test_checkpoint_roundtrip(run_files):
    from pipeline.train import run_files as train

    carry = {"w": np.arange(3.0), "b": np.zeros((2, 2))}
    train.save_checkpoint(run_files, carry, train.Counters(iteration=7, samples=70))
    restored, counters = train.load_checkpoint(run_files, {"w": np.zeros(3), "b": np.ones((2, 2))})
    np.testing.assert_array_equal(restored["w"], carry["w"])
    assert counters.iteration == 7


@pytest.mark.parametrize("damage", ["truncated", "garbage", "other shapes"])
def test_corrupt_checkpoint_stops_with_one_line(run_files, capsys, damage):
    from pipeline.train import run_files as train

    carry = {"w": np.arange(3.0)}
    train.save_checkpoint(run_files, carry, train.Counters(iteration=7))
    data = run_files.checkpoint.read_bytes()
    if damage == "truncated":
        run_files.checkpoint.write_bytes(data[:-10])
    elif damage == "garbage":
        run_files.checkpoint.write_bytes(b"\x00garbage")
    else:
        carry = {"w": np.arange(4.0)}
    with pytest.raises(SystemExit) as info:
        train.load_checkpoint(run_files, {"w": np.zeros(3)} if damage != "other shapes" else carry)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"unreadable checkpoint {run_files.checkpoint}")
    assert "restart_on_corrupt_checkpoint" in err
    assert run_files.checkpoint.exists()  # left where it was


def test_corrupt_checkpoint_restart_flag_moves_files_aside(run_files, capsys):
    from pipeline.train import run_files as train

    run_files.checkpoint.write_bytes(b"\x92")  # truncated msgpack array
    run_files.metrics.write_text('{"iteration": 1}\n')
    assert train.load_checkpoint(run_files, {"w": np.zeros(3)}, restart_if_corrupt=True) is None
    assert not run_files.checkpoint.exists() and not run_files.metrics.exists()
    kept = sorted(p.name for p in run_files.dir.iterdir())
    assert len(kept) == 2
    assert kept[0].startswith("checkpoint.msgpack.corrupt-")
    assert kept[1].startswith("metrics.jsonl.corrupt-")
    assert "restarting" in capsys.readouterr().err
