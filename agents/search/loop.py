"""The simulation loop shared by every search kind: `run_search`, a drop-in for `mctx.search`
that builds the same tree bit for bit (mctx 0.0.71) with a batched descent and backward pass
(why: docs/benchmarks.md). Its number of simulations may be traced (a tree allocated for
`capacity` nodes, filled up to `nodes`), so one compiled search serves every node count. The
private mctx helpers it needs are copied in `agents.search.mctx_internals`."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import mctx

from agents.search import mctx_internals
from agents.search.keys import per_game, split


class _Descent(NamedTuple):
    """One game's walk down the tree in `_simulate` (mctx's `_SimulationState`)."""

    rng_key: jax.Array  # this game's key
    node: jax.Array  # [] int32: node the action was chosen at
    action: jax.Array  # [] int32
    child: jax.Array  # [] int32: where the action leads (UNVISITED if not expanded)
    depth: jax.Array  # [] float: edges walked so far
    continuing: jax.Array  # [] bool


def _simulate(keys, tree: mctx.Tree, root_select, interior_select, max_depth: int,
              steps: int | None = None):  # fmt: skip
    """mctx's `simulate` for a batch: every game starts at the root, so the root rule runs once,
    outside the loop, and only the interior rule inside it. Same key use as mctx. `steps`: None
    walks while the game continues (a loop of unknown trip count); an int walks that many
    steps, each finished walk kept as it was (the same walks when `steps` bounds them)."""

    def step(rng_key, tree, node, depth, select) -> _Descent:
        rng_key, select_key = jax.random.split(rng_key)
        action = select(select_key, tree, node, depth)
        child = tree.children_index[node, action]
        depth = depth + 1
        continuing = (child != mctx.Tree.UNVISITED) & (depth < max_depth)
        return _Descent(rng_key, node, action, child, depth, continuing)

    def one_game(rng_key, tree):
        root = jnp.array(mctx.Tree.ROOT_INDEX, jnp.int32)
        depth = jnp.zeros((), tree.children_prior_logits.dtype)
        root_rule = lambda key, tree, node, depth: root_select(key, tree, node)
        first = step(rng_key, tree, root, depth, root_rule)
        descend = lambda s: step(s.rng_key, tree, s.child, s.depth, interior_select)
        if steps is None:
            last = jax.lax.while_loop(lambda s: s.continuing, descend, first)
        else:
            last = jax.lax.fori_loop(0, steps, lambda _, s: _keep_if(~s.continuing, s, descend(s)),
                                     first)  # fmt: skip
        return last.node, last.action

    return jax.vmap(one_game)(keys, tree)


def _keep_if(keep, old, new):
    """`old` where `keep` (a scalar or per-game bool), else `new`, leaf by leaf."""
    pick = lambda a, b: jax.lax.select(jnp.broadcast_to(keep, a.shape), a, b)  # noqa: E731
    return jax.tree.map(pick, old, new)


class _Ascent(NamedTuple):
    """The batch's walk back up the tree in `_backward`."""

    tree: mctx.Tree
    value: jax.Array  # [B] return backed up so far, for the player at `index`
    index: jax.Array  # [B] int32 node reached (ROOT_INDEX: done)


def _backward(tree: mctx.Tree, leaf_index: jax.Array, steps: int | None = None) -> mctx.Tree:
    """mctx's `backward` for the whole batch at once: each step up the tree writes one entry per
    game (games already at the root write back what is there), not the whole tree. `steps`:
    None climbs until every game is at the root; an int climbs that many steps (enough when it
    bounds the leaves' depth)."""
    games = jnp.arange(leaf_index.shape[0])

    def up(state: _Ascent) -> _Ascent:
        tree, leaf_value, index = state.tree, state.value, state.index
        active = index != mctx.Tree.ROOT_INDEX
        node = jnp.where(active, index, 0)
        parent = jnp.where(active, tree.parents[games, node], 0)
        action = jnp.where(active, tree.action_from_parent[games, node], 0)
        count = tree.node_visits[games, parent]
        old_parent_value = tree.node_values[games, parent]
        old_child_value = tree.children_values[games, parent, action]
        old_child_count = tree.children_visits[games, parent, action]
        reward = tree.children_rewards[games, parent, action]
        value = reward + tree.children_discounts[games, parent, action] * leaf_value
        parent_value = (old_parent_value * count + value) / (count + 1.0)
        tree = tree.replace(
            node_values=tree.node_values.at[games, parent].set(
                jnp.where(active, parent_value, old_parent_value)
            ),
            node_visits=tree.node_visits.at[games, parent].set(jnp.where(active, count + 1, count)),
            children_values=tree.children_values.at[games, parent, action].set(
                jnp.where(active, tree.node_values[games, node], old_child_value)
            ),
            children_visits=tree.children_visits.at[games, parent, action].set(
                jnp.where(active, old_child_count + 1, old_child_count)
            ),
        )
        return _Ascent(tree, jnp.where(active, value, leaf_value), jnp.where(active, parent, index))

    start = _Ascent(tree, tree.node_values[games, leaf_index], leaf_index)
    if steps is None:
        end = jax.lax.while_loop(lambda s: jnp.any(s.index != mctx.Tree.ROOT_INDEX), up, start)
    else:
        end = jax.lax.fori_loop(0, steps, lambda _, s: up(s), start)
    return end.tree


def run_search(
    params,
    rng_key: jax.Array,
    *,
    root: mctx.RootFnOutput,
    recurrent_fn: mctx.RecurrentFn,
    root_action_selection_fn,
    interior_action_selection_fn,
    num_simulations: int | jax.Array,
    max_depth: int,
    invalid_actions: jax.Array,
    extra_data=None,
    capacity: int | None = None,
    loops: str = "dynamic",
) -> mctx.Tree:
    """`mctx.search` (same arguments, same key use, the same tree) with `_simulate`/`_backward`.

    With `capacity`, the tree has `capacity` nodes and `num_simulations` (≤ capacity − 1) may be
    a traced int32 scalar: the first num_simulations + 1 nodes are those of a tree built for it.
    `loops`: "dynamic" loops until done (trip counts the compiler cannot know: the descent, the
    backward pass, a traced number of simulations); "static" gives every loop a trip count known
    at compile time — the descent and backward pass bounded by the tree's depth bound, a traced
    count run as capacity − 1 simulations of which those past it change nothing — and builds
    the same tree.
    """
    batch_size = root.value.shape[0]
    games = jnp.arange(batch_size)
    num_nodes = num_simulations + 1 if capacity is None else capacity
    static = loops == "static"
    # a walk at simulation s has at most s + 1 ≤ num_nodes − 1 edges, and at most max_depth
    depth = min(num_nodes - 1, max_depth) if static else None

    def simulation(sim, loop_state):
        rng_key, tree = loop_state
        rng_key, simulate_key, expand_key = split(rng_key, 3)
        simulate_keys = (
            simulate_key if per_game(rng_key) else jax.random.split(simulate_key, batch_size)
        )
        parent, action = _simulate(
            simulate_keys, tree, root_action_selection_fn, interior_action_selection_fn,
            max_depth, steps=None if depth is None else depth - 1,
        )  # fmt: skip
        child = tree.children_index[games, parent, action]
        child = jnp.where(child == mctx.Tree.UNVISITED, sim + 1, child)
        if masked:  # simulations past a traced count write only the unused node sim + 1
            active = sim < num_simulations
            edge = (parent, action)
            old = [x[games, *edge] for x in _edges(tree)]
            child = jnp.where(active, child, sim + 1)
        tree = mctx_internals.expand(params, expand_key, tree, recurrent_fn, parent, action, child)
        if masked:
            kept = [jnp.where(active, x[games, *edge], o) for x, o in zip(_edges(tree), old,
                                                                          strict=True)]  # fmt: skip
            tree = tree.replace(**{name: x.at[games, *edge].set(k) for name, x, k in zip(
                _EDGE_FIELDS, _edges(tree), kept, strict=True)})  # fmt: skip
            child = jnp.where(active, child, mctx.Tree.ROOT_INDEX)  # nothing to back up
        return rng_key, _backward(tree, child, steps=depth)

    masked = static and not isinstance(num_simulations, int)
    tree = mctx_internals.instantiate_tree_from_root(
        root, num_nodes, root_invalid_actions=invalid_actions, extra_data=extra_data
    )
    trips = num_nodes - 1 if masked else num_simulations
    return jax.lax.fori_loop(0, trips, simulation, (rng_key, tree))[1]


_EDGE_FIELDS = ("children_index", "children_rewards", "children_discounts")


def _edges(tree: mctx.Tree) -> list[jax.Array]:
    """The [B, nodes, A] arrays `expand` writes at (parent, action)."""
    return [getattr(tree, name) for name in _EDGE_FIELDS]
