"""Search internals against values computed here from the formulas (numpy, hex_experiments.md §2),
the traced node count against static searches, and a stored golden tree."""

import re
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import hex_env as he
from agents import mctx_internals, network
from agents import search as search_lib
from agents.search import SearchConfig, make_search_fn

ROOT = Path(__file__).resolve().parents[1]


def _games(size=3, batch=4, plies=2, seed=0):
    """A batch of unfinished games a few random plies in."""
    states = jax.vmap(lambda _: he.init(size))(jnp.arange(batch))
    rng = np.random.default_rng(seed)
    for _ in range(plies):
        cells = [rng.choice(np.flatnonzero(np.asarray(b) == 0)) for b in states.board]
        states = jax.vmap(he.step)(states, jnp.array(cells))
    return states


def _net(size=3, width=8, depth=1, seed=0, scale=0.0):
    """A small net; `scale` > 0 perturbs every weight, so values and priors are far from flat."""
    net = network.HexNet(width, depth)
    params = network.init_params(jax.random.key(seed), size, width, depth)
    if scale:
        leaves, treedef = jax.tree.flatten(params)
        keys = jax.random.split(jax.random.key(seed + 1), len(leaves))
        noise = [jax.random.normal(k, x.shape) for x, k in zip(leaves, keys, strict=True)]
        leaves = [x + scale * z for x, z in zip(leaves, noise, strict=True)]
        params = jax.tree.unflatten(treedef, leaves)
    return net, params


def test_nothing_outside_mctx_internals_imports_mctx_private_modules():
    offenders = []
    for path in ROOT.glob("**/*.py"):
        if ".venv" in path.parts or path.name == "mctx_internals.py" or path == Path(__file__):
            continue
        if re.search(r"mctx\._src|from mctx import _src", path.read_text()):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == [], offenders


# ---------------------------------------------------------------- traced node count (capacity)


@pytest.mark.parametrize("kind", ["jones", "grill", "puct", "gumbel"])
def test_traced_node_count_gives_the_static_search(kind):
    """One search compiled for capacity 16 with `nodes` traced = a search built for `nodes`."""
    size, capacity = 3, 16
    net, params = _net(size, scale=0.3)
    states = _games(size)
    cfg = SearchConfig(kind=kind, c=0.5)
    flexible = jax.jit(
        make_search_fn(net.apply, cfg, size, capacity=capacity),
        static_argnames=("explore", "greedy"),
    )
    for nodes in (1, 2, 5, 16):
        static = jax.jit(
            make_search_fn(net.apply, SearchConfig(kind=kind, c=0.5, nodes=nodes), size),
            static_argnames=("explore", "greedy"),
        )
        key = jax.random.key(nodes)
        want = static(params, key, states, explore=True)
        got = flexible(params, key, states, explore=True, nodes=jnp.int32(nodes))
        for name in ("action", "policy", "value"):
            np.testing.assert_array_equal(
                getattr(got, name), getattr(want, name), err_msg=f"{kind} {nodes} {name}"
            )


def test_traced_simulation_count_fills_the_first_slots_of_the_same_tree():
    size, capacity = 3, 16
    net, params = _net(size, scale=0.3)
    states = _games(size)
    root, legal = search_lib.make_root_fn(net.apply)(params, states)
    cfg = SearchConfig(kind="jones", c=0.5)
    select = lambda k, tree, node, depth=None: search_lib._categorical(
        k, jnp.log(search_lib._grill_node_policy(tree, node, cfg) + 1e-30)
    )
    kwargs = dict(
        root=root,
        recurrent_fn=search_lib.make_recurrent_fn(net.apply),
        root_action_selection_fn=select,
        interior_action_selection_fn=select,
        max_depth=size * size,
        invalid_actions=~legal,
    )
    key = jax.random.key(5)
    traced = jax.jit(
        lambda p, k, n: search_lib._run_search(p, k, num_simulations=n, capacity=capacity, **kwargs)
    )
    for nodes in (1, 2, 5, 16):
        want = search_lib._run_search(params, key, num_simulations=nodes - 1, **kwargs)
        got = traced(params, key, jnp.int32(nodes - 1))
        for name in ("node_visits", "node_values", "children_visits", "children_values",
                     "children_index", "parents", "action_from_parent", "raw_values"):  # fmt: skip
            np.testing.assert_array_equal(
                getattr(got, name)[:, :nodes], getattr(want, name), err_msg=f"{nodes} {name}"
            )
        assert (np.asarray(got.node_visits)[:, nodes:] == 0).all()


def test_search_refuses_a_node_count_without_capacity():
    net, params = _net()
    search = make_search_fn(net.apply, SearchConfig(nodes=4), 3)
    with pytest.raises(ValueError, match="capacity"):
        search(params, jax.random.key(0), _games(), explore=False, nodes=2)


@pytest.mark.parametrize("considered", [0, 1, 2, 3, 4, 5, 7, 8, 9, 16])
def test_considered_visit_matches_the_sequential_halving_table(considered):
    """The traced entry of mctx's sequential-halving table, against the table for every budget."""

    def table(m, n):  # mctx 0.0.71 seq_halving.get_sequence_of_considered_visits, re-derived
        if m <= 1:
            return list(range(n))
        log2max = int(np.ceil(np.log2(m)))
        sequence, visits, k = [], [0] * m, m
        while len(sequence) < n:
            for _ in range(max(1, int(n / (log2max * k)))):
                sequence.extend(visits[:k])
                visits[:k] = [v + 1 for v in visits[:k]]
            k = max(2, k // 2)
        return sequence[:n]

    budgets, indices, expected = [], [], []
    for n in range(1, 80):
        for s, v in enumerate(table(considered, n)):
            budgets.append(n), indices.append(s), expected.append(v)
    got = jax.jit(jax.vmap(mctx_internals.considered_visit, in_axes=(None, 0, 0)))(
        considered, jnp.array(budgets), jnp.array(indices)
    )
    np.testing.assert_array_equal(got, expected)
