"""`search.loops=static`: no loop of unknown trip count in the training iteration or the
evaluation move program, and the same searches as the dynamic loops on a trained agent."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from conftest import compose_config, fake_snapshot

import hex_env as he
from agents.network import HexNet
from agents.search import SearchConfig, make_search_fn
from agents.search.regularised import newton_unconverged, regularised_lambda
from pipeline.evaluate.match_engine import MatchEngine
from pipeline.evaluate.pool import network_agent
from pipeline.infra.snapshot import load_meta, load_snapshot
from pipeline.train.core import init_carry, make_iteration

AGENT = Path(__file__).resolve().parents[1] / "docs" / "results" / "cpu" / "agents" / "b4"


# jax.random.dirichlet's gamma sampler rejects in a loop: once per move (the root noise), not
# per simulation; the one loop of unknown trip count left with search.loops=static.
ROOT_NOISE_SAMPLER = "jit(_gamma)"


def _while_loops(hlo: str, allowed: str | None = None) -> tuple[int, int]:
    """(while loops, those without a known trip count, other than loops inside an op whose
    name contains `allowed`) in compiled HLO text."""
    loops = [line for line in hlo.splitlines() if " while(" in line]
    unknown = [line for line in loops if "known_trip_count" not in line]
    return len(loops), sum(allowed is None or allowed not in line for line in unknown)


def test_the_detector_sees_a_loop_of_unknown_trip_count():
    def f(x, n):
        x = jax.lax.fori_loop(0, 3, lambda i, c: c + i, x)
        return jax.lax.while_loop(lambda c: c < n, lambda c: c + 1.0, x)

    assert _while_loops(jax.jit(f).lower(1.0, 5.0).compile().as_text()) == (2, 1)


@pytest.mark.parametrize("schedule", ["rollout", "jones"])
def test_training_iteration_with_static_loops_has_only_known_trip_counts(schedule):
    def compiled(loops):
        cfg = compose_config(
            "board.size=3", "model.width=4", "model.depth=1", "search.nodes=4",
            "train.n_envs=8", "train.batch_size=8", "train.rollout_steps=2",
            f"train.schedule={schedule}", f"search.loops={loops}",
        )  # fmt: skip
        optimizer = optax.adam(cfg.train.lr)
        carry = init_carry(cfg, optimizer)
        return make_iteration(cfg, optimizer).lower(carry).compile().as_text()

    total, unknown = _while_loops(compiled("static"), allowed=ROOT_NOISE_SAMPLER)
    assert total > 0 and unknown == 0
    # the descent, backward pass and Newton
    assert _while_loops(compiled("dynamic"), allowed=ROOT_NOISE_SAMPLER)[1] > 0


def test_evaluation_move_program_with_static_loops_has_only_known_trip_counts(tmp_path):
    directory = fake_snapshot(tmp_path, 0, search=SearchConfig(nodes=4, loops="static"))
    spec = network_agent(directory, load_meta(directory), 6, greedy=False)  # traced count 6 of 8
    engine = MatchEngine(3)
    move = engine._move_fn([spec])
    params = engine._stacked_params([spec, spec])
    states = jax.tree.map(lambda x: jnp.broadcast_to(x, (2, 4) + x.shape), he.init(3))
    keys = jax.random.split(jax.random.key(0), 2)
    hlo = move.lower(params, jnp.int32(6), keys, 0, states).compile().as_text()
    total, unknown = _while_loops(hlo, allowed=ROOT_NOISE_SAMPLER)
    assert total > 0 and unknown == 0


def _trained_positions(size: int, n: int, plies: int, seed: int = 0) -> he.HexState:
    """`n` positions of random games `plies` plies in (none finished on 4×4 that early)."""
    rng = np.random.default_rng(seed)
    states = jax.vmap(lambda _: he.init(size))(jnp.arange(n))
    for _ in range(plies):
        legal = np.asarray(jax.vmap(he.legal_action_mask)(states))
        actions = np.array([rng.choice(np.flatnonzero(row)) for row in legal])
        states = jax.vmap(he.step)(states, jnp.asarray(actions))
    return states


@pytest.mark.parametrize("kind", ["jones", "grill"])
def test_static_and_dynamic_searches_agree_on_a_trained_agent(kind):
    """The shipped 4×4 agent on 64 positions from its board's games: the same actions, policies
    and values bit for bit, with the node count fixed and traced; and Newton's fixed steps leave
    no node short of the dynamic loop's stopping rule."""
    params, meta = load_snapshot(AGENT)
    size, net = meta["board_size"], HexNet(meta["width"], meta["depth"])
    states = _trained_positions(size, 64, plies=3)
    base = dataclasses.replace(SearchConfig(**meta["search"]), kind=kind, nodes=32)
    for capacity, nodes in ((None, None), (32, jnp.int32(23))):
        out = {}
        for loops in ("dynamic", "static"):
            cfg = dataclasses.replace(base, loops=loops)
            search = jax.jit(make_search_fn(net.apply, cfg, size, capacity=capacity),
                             static_argnames=("explore",))  # fmt: skip
            extra = {} if nodes is None else {"nodes": nodes}
            out[loops] = search(params, jax.random.key(5), states, explore=True, **extra)
        for name in ("action", "policy", "value"):
            np.testing.assert_array_equal(
                getattr(out["static"], name), getattr(out["dynamic"], name), err_msg=name
            )
        assert int(out["static"].newton_unconverged) == int(out["dynamic"].newton_unconverged) == 0


def test_fixed_newton_steps_converge_on_a_trained_agent_s_tree_nodes():
    """Every expanded node of 64 searches of the trained agent: Newton's NEWTON_STATIC_STEPS
    steps reach the dynamic loop's stopping rule (the count `newton_unconverged` reports is 0)."""
    from agents.search import loop
    from agents.search.model import make_recurrent_fn, make_root_fn
    from agents.search.regularised import regularised_select

    params, meta = load_snapshot(AGENT)
    size, net = meta["board_size"], HexNet(meta["width"], meta["depth"])
    states = _trained_positions(size, 64, plies=3, seed=1)
    cfg = dataclasses.replace(SearchConfig(**meta["search"]), nodes=64)
    root, legal = make_root_fn(net.apply)(params, states)
    tree = loop.run_search(
        params, jax.random.key(3), root=root, recurrent_fn=make_recurrent_fn(net.apply),
        root_action_selection_fn=regularised_select(cfg),
        interior_action_selection_fn=regularised_select(cfg),
        num_simulations=63, max_depth=size * size, invalid_actions=~legal,
    )  # fmt: skip
    visits = tree.children_visits.reshape(-1, size * size)
    expanded = np.asarray(tree.node_visits).reshape(-1) > 0
    prior = jax.nn.softmax(tree.children_prior_logits.reshape(-1, size * size), axis=-1)
    qvalues = jnp.stack([tree.qvalues(jnp.full(64, n, jnp.int32)) for n in range(64)], axis=1)
    qhat = jnp.where(visits > 0, (qvalues.reshape(-1, size * size) + 1) / 2, 0.0)
    qhat = qhat - jnp.max(qhat, axis=-1, keepdims=True)
    lam = regularised_lambda(visits, c=cfg.c, kind=cfg.kind)
    rows = np.flatnonzero(expanded)
    assert len(rows) > 1000
    assert int(newton_unconverged(prior[rows], qhat[rows], lam[rows])) == 0
    assert int(newton_unconverged(prior[rows], qhat[rows], lam[rows], steps=1)) > 0


def test_training_metrics_count_roots_left_short_by_the_fixed_newton_steps(monkeypatch):
    """The metric reads 0 with the shipped step count on the trained agent's board, and counts
    the roots when one Newton step is all the static search may take."""
    from agents.search import regularised

    params, meta = load_snapshot(AGENT)
    cfg = compose_config(
        f"board.size={meta['board_size']}", f"model.width={meta['width']}",
        f"model.depth={meta['depth']}", "search.nodes=32", "search.loops=static",
        "train.n_envs=16", "train.batch_size=16", "train.rollout_steps=2",
    )  # fmt: skip
    optimizer = optax.adam(cfg.train.lr)
    carry = init_carry(cfg, optimizer).replace(params=params, opt_state=optimizer.init(params))
    key = "search/newton_unconverged_roots"
    assert int(make_iteration(cfg, optimizer)(carry)[1][key]) == 0
    monkeypatch.setattr(regularised, "NEWTON_STATIC_STEPS", 1)
    short = int(make_iteration(cfg, optimizer)(carry)[1][key])
    assert 0 < short <= cfg.train.n_envs * cfg.train.rollout_steps
