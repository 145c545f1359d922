"""The training job: targets, a tiny end-to-end run, resume after SIGKILL/SIGTERM, config errors."""

import hashlib
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from conftest import compose_config, run_module

from pipeline.infra.config import Config
from pipeline.infra.layout import Layout
from pipeline.infra.snapshot import load_meta
from pipeline.train.core import (
    Transition,
    Window,
    init_carry,
    make_iteration,
    steps_per_call,
    value_targets,
    window_init,
    window_push,
    window_sample,
    window_slots,
    window_targets,
)
from pipeline.train.loop import run

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


def _hand_made_window(n_steps: int, steps: int = 4, n_envs: int = 3) -> Window:
    """Push `n_steps` steps into a W=`steps` window on 2×2; step t's obs planes hold (t >> bit)
    & 1 in cell bit, so a stored sample names its step; games end at fixed (step, env) cells."""
    window = window_init(steps, n_envs, 2)
    ends = {(1, 0): 1.0, (3, 0): 1.0, (4, 1): 1.0, (5, 2): 1.0}  # (step, env) → reward
    for t in range(n_steps):
        bits = jnp.array([(t >> b) & 1 for b in range(4)], bool).reshape(2, 2)
        obs = jnp.broadcast_to(jnp.stack([bits, ~bits], -1), (n_envs, 2, 2, 2))
        done = jnp.array([(t, b) in ends for b in range(n_envs)])
        reward = jnp.array([ends.get((t, b), 0.0) for b in range(n_envs)])
        policy = jnp.full((n_envs, 4), float(t))
        window = window_push(window, Transition(obs, policy, reward, done))
    return window


def _step_of(obs) -> np.ndarray:
    """The step number encoded by `_hand_made_window` in [N, 2, 2, 2] observations."""
    bits = np.asarray(obs)[..., 0].reshape(-1, 4)
    return (bits * (1 << np.arange(4))).sum(-1).astype(int)


@pytest.mark.parametrize("n_steps", [2, 4, 7])
def test_jones_window_is_a_ring_of_the_last_steps_with_bootstrapped_targets(n_steps):
    steps, n_envs = 4, 3
    window = _hand_made_window(n_steps, steps, n_envs)
    filled = min(n_steps, steps)
    assert int(window.filled) == filled and int(window.head) == n_steps % steps
    slots = np.asarray(window_slots(window))[:filled]
    kept = list(range(n_steps - filled, n_steps))  # the last W steps, oldest first
    assert list(np.asarray(window.policy)[slots, 0, 0].astype(int)) == kept
    assert list(_step_of(np.asarray(window.obs)[slots, 0])) == kept

    # targets of every (position, env) = value_targets over the valid steps, bootstrapped
    bootstrap = jnp.array([0.25, -0.5, 0.75])
    reward = np.asarray(window.reward)[slots]
    done = np.asarray(window.done)[slots]
    expected = np.asarray(value_targets(jnp.asarray(reward), jnp.asarray(done), bootstrap))
    # …and, independently, by the formula: result of the first game end at or after the step,
    # else the bootstrap, signed (−1)^(distance) since movers alternate (γ = 1)
    for p in range(filled):
        for b in range(n_envs):
            ends = [j for j in range(p, filled) if done[j, b]]
            j = ends[0] if ends else filled
            value = reward[j, b] if ends else float(bootstrap[b])
            assert expected[p, b] == pytest.approx((-1) ** (j - p) * value)
    positions, envs = np.meshgrid(np.arange(filled), np.arange(n_envs), indexing="ij")
    got = window_targets(
        window, bootstrap, jnp.asarray(positions.ravel()), jnp.asarray(envs.ravel())
    )
    np.testing.assert_allclose(np.asarray(got).reshape(filled, n_envs), expected)

    # Jones's batch (batch = envs): one step per env column, uniform over the valid steps
    seen = set()
    for i in range(64):
        obs, policy, targets, pos, env = window_sample(window, bootstrap, jax.random.key(i), n_envs)
        assert list(np.asarray(env)) == list(range(n_envs))
        pos = np.asarray(pos)
        assert ((0 <= pos) & (pos < filled)).all()
        seen.update(pos.tolist())
        np.testing.assert_array_equal(_step_of(obs), np.asarray(kept)[pos])
        np.testing.assert_array_equal(np.asarray(policy)[:, 0].astype(int), np.asarray(kept)[pos])
        np.testing.assert_allclose(np.asarray(targets), expected[pos, np.arange(n_envs)])
    assert seen == set(range(filled))
    # other batch sizes: (env, step) pairs over the whole window
    _, _, targets, pos, env = window_sample(window, bootstrap, jax.random.key(0), 500)
    pos, env = np.asarray(pos), np.asarray(env)
    assert set(pos.tolist()) == set(range(filled)) and set(env.tolist()) == set(range(n_envs))
    np.testing.assert_allclose(np.asarray(targets), expected[pos, env])


def test_jones_window_uses_each_sample_about_once():
    steps, n_envs, n_moves = 8, 64, 200
    window = window_init(steps, n_envs, 2)
    zeros = Transition(
        jnp.zeros((n_envs, 2, 2, 2)), jnp.zeros((n_envs, 4)), jnp.zeros(n_envs), jnp.zeros(n_envs)
    )
    push_and_sample = jax.jit(
        lambda w, k: (lambda w: (w, window_sample(w, jnp.zeros(n_envs), k, n_envs)[3]))(
            window_push(w, zeros)
        )
    )
    uses = np.zeros((n_moves, n_envs))
    for t in range(n_moves):
        window, pos = push_and_sample(window, jax.random.key(t))
        uses[t + 1 - int(window.filled) + np.asarray(pos), np.arange(n_envs)] += 1
    settled = uses[steps : n_moves - steps]  # steps that went through a full window
    assert abs(settled.mean() - 1.0) < 0.05
    assert uses.sum() == n_moves * n_envs  # one batch of n_envs per move


def test_jones_iteration_takes_one_learner_step_per_move(tmp_path):
    cfg = _config(tmp_path, "train.schedule=jones", "train.batch_size=32", "train.steps_per_call=3")
    optimizer = optax.adam(cfg.train.lr)
    iteration = make_iteration(cfg, optimizer)
    carry = init_carry(cfg, optimizer)
    assert steps_per_call(cfg) == 3 and carry.window.obs.shape == (4, 32, 3, 3, 2)
    for calls in (1, 2):
        carry, metrics = iteration(carry)
        assert int(carry.opt_state[0].count) == 3 * calls  # Adam's step count
        assert int(carry.window.filled) == min(3 * calls, 4)
        assert int(carry.window.head) == 3 * calls % 4
        assert np.isfinite(float(metrics["loss/total"]))


@pytest.mark.parametrize("schedule", ["rollout", "jones"])
def test_tiny_run_writes_snapshots_with_provenance(tmp_path, schedule):
    summary = run(_config(tmp_path, f"train.schedule={schedule}"))
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
        assert m["seed"] == 0 and m["code_version"] and m["search"]["kind"] == "jones"
        assert m["train"]["schedule"] == schedule
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in rows] == list(range(1, len(rows) + 1))
    assert all(np.isfinite(r["loss/total"]) for r in rows)
    # a finished run is not redone
    assert run(_config(tmp_path, f"train.schedule={schedule}"))["iteration"] == summary["iteration"]


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
    """(index, samples, FLOPs, params digest) of each snapshot: a resume that lost state (the
    jones window, the key, the optimizer) changes the params."""
    return [
        (
            s.name,
            load_meta(s)["samples"],
            load_meta(s)["train_flops_jones"],
            hashlib.sha256((s / "params.msgpack").read_bytes()).hexdigest(),
        )
        for s in sorted(Layout(root).run("tiny").snapshots.iterdir())
    ]


@pytest.fixture(scope="module")
def reference_schedule(tmp_path_factory):
    """Snapshot schedule of the uninterrupted run of a learner schedule (shared by the
    interruption tests)."""
    schedules = {}

    def get(learner: str):
        if learner not in schedules:
            root = tmp_path_factory.mktemp(f"reference-{learner}")
            reference = _launch(root, f"train.schedule={learner}")
            assert reference.wait(timeout=300) == 0, reference.stdout.read()
            schedules[learner] = _schedule(root)
        return schedules[learner]

    return get


@pytest.mark.parametrize(
    "sig, learner",
    [  # CI: the jones learner (its window rides in the checkpoint); the rest with -m slow
        pytest.param(signal.SIGKILL, "rollout", marks=pytest.mark.slow),
        pytest.param(signal.SIGTERM, "rollout", marks=pytest.mark.slow),
        (signal.SIGKILL, "jones"),
    ],
)
def test_interrupted_run_resumes_to_the_same_schedule(tmp_path, sig, learner, reference_schedule):
    reference = reference_schedule(learner)  # the jones window rides in the checkpoint
    proc = _launch(tmp_path / "interrupted", f"train.schedule={learner}")
    _wait_for_iterations(tmp_path / "interrupted", 12, proc)
    proc.send_signal(sig)
    code = proc.wait(timeout=60)
    assert code == (-9 if sig == signal.SIGKILL else 143)
    files = Layout(tmp_path / "interrupted").run("tiny")
    assert files.checkpoint.exists() and not files.done.exists()
    resumed = _launch(tmp_path / "interrupted", f"train.schedule={learner}")
    out = resumed.communicate(timeout=300)[0]
    assert resumed.returncode == 0 and "resuming" in out, out
    assert _schedule(tmp_path / "interrupted") == reference
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
        ("train.schedule=replay", "train.schedule must be rollout or jones"),
        ("train.steps_per_call=2", "train.steps_per_call must be null or train.rollout_steps"),
        ("train.steps_per_call=0", "train.steps_per_call must be >= 1 or null"),
    ],
)
def test_config_errors_are_one_line_before_any_compute(tmp_path, override, message):
    result = run_module("pipeline.train", *TINY, override, f"results_dir={tmp_path}", timeout=120)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]  # nothing written


def test_a_run_is_never_resumed_or_reused_under_other_training_settings(tmp_path):
    """A run directory started with train.lr=0.001: asking for lr 0.01 under the same run name
    is a one-line error that leaves the run's files as they were; progress and evaluation-only
    settings may differ, and so may savepoint tables that give the same savepoints."""
    from omegaconf import OmegaConf

    from pipeline.infra.config import check_run_settings

    files = Layout(tmp_path).run("tiny")
    files.dir.mkdir(parents=True)
    files.config.write_text(OmegaConf.to_yaml(OmegaConf.structured(_config(tmp_path))))
    files.done.write_text('{"snapshots": 6}')
    before = {p: p.read_bytes() for p in files.dir.iterdir()}
    check_run_settings(_config(tmp_path, "train.progress=true", "search.test_noise=false"))
    other_tables = _config(tmp_path)
    other_tables.train.flops_bounds[3] = [1.0, 2.0]  # train.min/max_flops decide on this run
    check_run_settings(other_tables)
    with pytest.raises(ValueError, match="savepoints"):
        check_run_settings(_config(tmp_path, "train.max_flops=1e8"))
    result = run_module(
        "pipeline.train", *TINY, "train.lr=0.01", "run_name=tiny", f"results_dir={tmp_path}",
        timeout=120,
    )  # fmt: skip
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert "started with train.lr=0.001, not 0.01" in lines[0]
    assert {p: p.read_bytes() for p in files.dir.iterdir()} == before


def test_non_finite_loss_stops_the_run_and_keeps_the_last_good_files(tmp_path, monkeypatch, capsys):
    from pipeline.train import loop as train

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


def test_a_resumed_run_compiles_its_iteration_once(tmp_path):
    """The checkpoint restores numpy leaves; `resume` puts them back on the device, so the
    iteration compiled for the fresh carry serves the restored one (the jit cache stays at 1)."""
    import optax

    from pipeline.train.loop import resume
    from pipeline.train.run_files import Counters, save_checkpoint

    cfg = compose_config(*TINY, f"results_dir={tmp_path}", "run_name=tiny")
    run_files = Layout(tmp_path).run("tiny")
    run_files.dir.mkdir(parents=True)
    optimizer = optax.adam(cfg.train.lr)
    iteration = make_iteration(cfg, optimizer)
    carry, _ = iteration(init_carry(cfg, optimizer))
    save_checkpoint(run_files, carry, Counters(iteration=1))
    restored, counters = resume(cfg, run_files, optimizer)
    assert counters.iteration == 1
    iteration(restored)
    assert iteration._cache_size() == 1


def test_max_wall_s_checkpoints_and_stops_and_a_rerun_finishes(tmp_path):
    """A wall-clock limit stops the run cleanly after a checkpoint (no done.json); the rerun
    without it resumes from that checkpoint and finishes with every snapshot."""
    args = [*TINY, "run_name=tiny", f"results_dir={tmp_path}"]
    stopped = run_module("pipeline.train", *args, "train.max_wall_s=1e-9", timeout=120)
    assert stopped.returncode == 0, stopped.stderr[-2000:]
    assert "stopped at train.max_wall_s" in stopped.stdout
    run_files = Layout(tmp_path).run("tiny")
    assert run_files.checkpoint.exists() and not run_files.done.exists()
    finished = run_module("pipeline.train", *args, timeout=120)
    assert finished.returncode == 0, finished.stderr[-2000:]
    assert "resuming" in finished.stdout and run_files.done.exists()
    bad = run_module("pipeline.train", *args, "train.max_wall_s=0", timeout=60)
    assert bad.returncode == 2 and "train.max_wall_s" in bad.stderr
