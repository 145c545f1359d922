"""The training job: targets, a tiny end-to-end run, resume after SIGKILL/SIGTERM, config errors."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest
from conftest import compose_config, run_module

from agents.snapshot import load_meta
from pipeline.config import Config
from pipeline.layout import Layout
from pipeline.train import run, value_targets

REPO = Path(__file__).resolve().parents[1]
TINY = [
    "board.size=3",
    "model.width=8",
    "model.depth=1",
    "search.nodes=8",
    "train.n_envs=32",
    "train.batch_size=64",
    "train.rollout_steps=4",
    "train.min_flops=1e5",
    "train.max_flops=1e7",
    "train.n_snapshots=6",
    "train.progress=false",
]


def _config(tmp_path, *overrides) -> Config:
    return compose_config(*TINY, *overrides, "run_name=tiny", f"results_dir={tmp_path}")


def _run_dir(root: Path) -> Path:
    return Layout(root).run("tiny").dir


def test_value_targets_alternate_sign_and_stop_at_game_ends():
    # one env, 5 steps: the game ends at step 2 (mover won); steps 3-4 start a new game
    reward = jnp.array([[0.0], [0.0], [1.0], [0.0], [0.0]])
    done = jnp.array([[False], [False], [True], [False], [False]])
    targets = value_targets(reward, done, bootstrap=jnp.array([0.5]))
    np.testing.assert_allclose(targets[:, 0], [1.0, -1.0, 1.0, 0.5, -0.5])


def test_tiny_run_writes_snapshots_with_provenance(tmp_path):
    summary = run(_config(tmp_path))
    run_dir = _run_dir(tmp_path)
    snapshots = sorted((run_dir / "snapshots").iterdir())
    assert summary["snapshots"] == len(snapshots) >= 3
    assert snapshots[-1].name == "05"
    metas = [load_meta(s) for s in snapshots]
    flops = [m["train_flops_jones"] for m in metas]
    assert flops == sorted(flops) and flops[-1] >= 1e7
    for m in metas:
        assert m["train_flops_jones"] >= m["savepoint_flops_jones"]
        # Jones: nodes × (weights + biases) per sample; standard: 2/MAC, search + learner
        assert m["train_flops_jones"] == m["samples"] * 8 * m["params"]
        assert m["train_flops_standard"] > m["samples"] * 8 * m["forward_flops_standard"]
        assert m["seed"] == 0 and m["code_version"] and m["search"]["kind"] == "grill"
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in rows] == list(range(1, len(rows) + 1))
    assert all(np.isfinite(r["loss/total"]) for r in rows)
    # a finished run is not redone
    assert run(_config(tmp_path))["iteration"] == summary["iteration"]


def _launch(root: Path, *extra: str) -> subprocess.Popen:
    args = [*TINY, "train.max_flops=4e7", "train.checkpoint_every_s=0", *extra]
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline.train", *args, f"results_dir={root}", "run_name=tiny"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_for_iterations(root: Path, n: int, proc: subprocess.Popen, timeout_s=240):
    metrics = Layout(root).run("tiny").metrics
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if metrics.exists() and len(metrics.read_text().splitlines()) >= n:
            return
        assert proc.poll() is None, proc.stdout.read()
        time.sleep(0.2)
    raise TimeoutError("training made no progress")


def _schedule(root: Path):
    return [
        (s.name, load_meta(s)["samples"], load_meta(s)["train_flops_jones"])
        for s in sorted(Layout(root).run("tiny").snapshots.iterdir())
    ]


@pytest.fixture(scope="module")
def reference_schedule(tmp_path_factory):
    """Snapshot schedule of the uninterrupted run (shared by both interruption tests)."""
    root = tmp_path_factory.mktemp("reference")
    reference = _launch(root)
    assert reference.wait(timeout=300) == 0, reference.stdout.read()
    return _schedule(root)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_interrupted_run_resumes_to_the_same_schedule(tmp_path, sig, reference_schedule):

    proc = _launch(tmp_path / "interrupted")
    _wait_for_iterations(tmp_path / "interrupted", 12, proc)
    proc.send_signal(sig)
    code = proc.wait(timeout=60)
    assert code == (-9 if sig == signal.SIGKILL else 143)
    files = Layout(tmp_path / "interrupted").run("tiny")
    assert files.checkpoint.exists() and not files.done.exists()
    resumed = _launch(tmp_path / "interrupted")
    out = resumed.communicate(timeout=300)[0]
    assert resumed.returncode == 0 and "resuming" in out, out
    assert _schedule(tmp_path / "interrupted") == reference_schedule
    leftovers = [p.name for p in files.dir.rglob(".*") if p.is_file()]
    assert not leftovers


@pytest.mark.parametrize(
    "override, message",
    [
        ("board.size=1", "board.size must be in 2..19"),
        ("model.width=0", "model.width must be >= 1"),
        ("search.nodes=0", "search.nodes must be >= 1"),
        ("search.kind=alphabeta", "search.kind must be one of"),
        ("train.batch_size=7", "multiple of train.batch_size"),
    ],
)
def test_config_errors_are_one_line_before_any_compute(tmp_path, override, message):
    result = run_module("pipeline.train", *TINY, override, f"results_dir={tmp_path}", timeout=120)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]  # nothing written


def test_non_finite_loss_stops_the_run_and_keeps_the_last_good_files(tmp_path, monkeypatch, capsys):
    from pipeline import train

    real = train.make_iteration

    def poisoned(cfg, optimizer):
        iteration = real(cfg, optimizer)
        calls = {"n": 0}

        def wrapped(carry):
            carry, metrics = iteration(carry)
            calls["n"] += 1
            if calls["n"] >= 6:
                metrics = dict(metrics, **{"loss/total": jnp.float32(jnp.nan)})
            return carry, metrics

        return wrapped

    monkeypatch.setattr(train, "make_iteration", poisoned)
    cfg = _config(tmp_path, "train.checkpoint_every_s=0")
    with pytest.raises(FloatingPointError, match="non-finite loss at iteration 6"):
        run(cfg)
    run_dir = _run_dir(tmp_path)
    assert not (run_dir / "done.json").exists()
    rows = (run_dir / "metrics.jsonl").read_text().splitlines()
    assert len(rows) == 5  # the bad iteration is not recorded
    # the checkpoint holds iteration 5, so a fixed relaunch resumes from there
    monkeypatch.setattr(train, "make_iteration", real)
    capsys.readouterr()
    summary = run(cfg)
    assert "at iteration 5," in capsys.readouterr().out  # "resuming … at iteration 5, …"
    assert summary["iteration"] > 5
