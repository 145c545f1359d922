"""Population training (`pipeline.train.population`): padding is exact for training, padded
parameters stay exactly zero, and a population resumes from its members' checkpoints."""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from conftest import TINY_TRAIN, compose_config, run_module

from agents import network
from pipeline.infra.layout import Layout
from pipeline.infra.snapshot import load_snapshot
from pipeline.train import population
from pipeline.train.core import init_carry, loss_fn
from pipeline.train.loop import run as train_solo

SIZE = 3


def _members(results_dir, *archs, extra=()):
    return [
        compose_config(*TINY_TRAIN, f"board.size={SIZE}", f"model.width={w}", f"model.depth={d}",
                       f"results_dir={results_dir}", "train.max_flops=3e5", *extra)
        for w, d in archs
    ]  # fmt: skip


def _assert_trees_equal(a, b):
    jax.tree.map(np.testing.assert_array_equal, a, b)


def test_padded_forward_gradients_and_adam_step_agree_with_the_unpadded_net():
    """One learner step from a shared state: the 4×1 net and its copy padded to 8×2 give the same
    outputs, gradients and Adam update on the real units (float tolerance: the padded matmuls
    sum more zeros, in another order), and exactly zero on the padded ones."""
    small, big = (4, 1), (8, 2)
    params = network.init_params(jax.random.PRNGKey(0), SIZE, *small)
    padded = network.pad_params(params, SIZE, *big)
    keys = jax.random.split(jax.random.PRNGKey(1), 3)
    obs = (jax.random.uniform(keys[0], (32, SIZE, SIZE, 2)) < 0.3).astype(jnp.float32)
    policy = jax.nn.softmax(jax.random.normal(keys[1], (32, SIZE * SIZE)))
    value = jax.random.uniform(keys[2], (32,), minval=-1, maxval=1)
    # after one step α ≠ 0, so the blocks' weights matter: take two steps
    optimizer = optax.adam(1e-2)

    def steps(params, width, depth):
        apply = network.HexNet(width, depth).apply
        state, outs = optimizer.init(params), []
        for _ in range(2):
            grads = jax.grad(lambda p: loss_fn(p, apply, obs, policy, value)[0])(params)
            updates, state = optimizer.update(grads, state, params)
            outs.append((apply(params, obs), grads, updates))
            params = optax.apply_updates(params, updates)
        return params, outs

    want_params, want = steps(params, *small)
    got_params, got = steps(padded, *big)
    cut = lambda tree: network.unpad_params(tree, SIZE, *small)  # noqa: E731
    for (w_out, w_grads, w_updates), (g_out, g_grads, g_updates) in zip(want, got, strict=True):
        for w, g in zip(w_out, g_out, strict=True):
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
        for w, g in ((w_grads, g_grads), (w_updates, g_updates)):
            jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6),
                         w, cut(g))  # fmt: skip
            _assert_trees_equal(g, network.pad_params(cut(g), SIZE, *big))  # zeros stay zeros
    _assert_trees_equal(got_params, network.pad_params(cut(got_params), SIZE, *big))
    assert float(jnp.abs(want_params["params"]["block_0"]["alpha"])) > 0  # the blocks trained


def test_padded_parameters_are_still_exactly_zero_after_population_iterations(tmp_path):
    cfgs = _members(tmp_path, (4, 1), (8, 2), (2, 1))
    optimizer = optax.adam(cfgs[0].train.lr)
    carries = [init_carry(c, optimizer) for c in cfgs]
    iteration, stacked = population.build(cfgs, carries, optimizer)
    for _ in range(3):
        stacked, metrics = iteration(stacked)
    assert metrics["loss/total"].shape == (3,)
    for i, (cfg, start) in enumerate(zip(cfgs, carries, strict=True)):
        mine = population.member_carry(stacked, i)
        own = population.unpad_carry(mine, SIZE, cfg.model.width, cfg.model.depth)
        _assert_trees_equal(mine, population.pad_carry(own, SIZE, 8, 2))
        trained = jax.tree.map(lambda a, b: not np.array_equal(a, b), own.params, start.params)
        assert any(jax.tree.leaves(trained))


def test_members_must_share_everything_but_architecture_and_seed(tmp_path):
    a, b = _members(tmp_path, (4, 1), (8, 1))
    population.check_population([a, b])
    other = _members(tmp_path, (8, 1), extra=("train.lr=3e-3",))[0]
    with pytest.raises(ValueError, match="differ in"):
        population.check_population([a, other])


def _stop_after(monkeypatch, calls: int):
    """`out_of_time` true from its `calls`-th check on: the population stops at that iteration
    boundary exactly as at train.max_wall_s (checkpoint, no done.json)."""
    seen = []
    monkeypatch.setattr(population, "out_of_time", lambda cfg, started: seen.append(1) or
                        len(seen) > calls)  # fmt: skip


def _snapshots(results_dir, name):
    snaps = Layout(results_dir).run(name).snapshots
    return {p.name: load_snapshot(p) for p in sorted(snaps.glob("[0-9]*"))}


def test_a_population_resumes_from_its_checkpoints_and_a_member_resumes_alone(
    tmp_path, monkeypatch
):
    archs = ((4, 1), (8, 1))
    straight = population.train_population(_members(tmp_path / "straight", *archs))
    assert all("snapshots" in s for s in straight.values())

    stopped = _members(tmp_path / "stopped", *archs, extra=("train.max_wall_s=3600",))
    _stop_after(monkeypatch, 3)
    first = population.train_population(stopped)
    assert all(s.get("stopped") == "max_wall_s" for s in first.values())
    monkeypatch.undo()
    resumed = population.train_population(stopped)
    for name, summary in straight.items():
        assert resumed[name]["samples"] == summary["samples"], name
        want, got = _snapshots(tmp_path / "straight", name), _snapshots(tmp_path / "stopped", name)
        assert list(got) == list(want), name
        for index, (params, meta) in got.items():
            _assert_trees_equal(params, want[index][0])  # the same program: the same bits
            assert meta["samples"] == want[index][1]["samples"]
        rows = [json.loads(line) for line in Layout(tmp_path / "stopped").run(name).metrics
                .read_text().splitlines()]  # fmt: skip
        assert [r["iteration"] for r in rows] == list(range(1, len(rows) + 1))

    alone = _members(tmp_path / "alone", *archs, extra=("train.max_wall_s=3600",))
    _stop_after(monkeypatch, 2)
    population.train_population(alone)
    monkeypatch.undo()
    wide = alone[1]
    summary = train_solo(wide)  # a member's checkpoint is a solo run's
    assert summary["samples"] == straight[wide.run_name]["samples"]
    assert list(_snapshots(tmp_path / "alone", wide.run_name)) == list(
        _snapshots(tmp_path / "straight", wide.run_name)
    )


def test_the_command_trains_the_board_s_grid_and_refuses_a_board_not_in_it(tmp_path):
    args = ("+experiment=smoke", *TINY_TRAIN, "train.max_flops=2e5", f"results_dir={tmp_path}")
    bad = run_module("pipeline.train.population", *args, "board.size=5")
    assert bad.returncode == 2 and "has no board 5" in bad.stderr, bad.stderr[-500:]
    assert not (tmp_path / "runs").exists()
    good = run_module("pipeline.train.population", *args, "board.size=3")
    assert good.returncode == 0, good.stderr[-2000:]
    done = sorted(p.parent.name for p in (tmp_path / "runs").glob("*/done.json"))
    assert done == ["b3-w16-d1-jones4-seed0", "b3-w4-d1-jones4-seed0"]
