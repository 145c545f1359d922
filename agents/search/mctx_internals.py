# Copied from google-deepmind/mctx 0.0.71 (https://github.com/google-deepmind/mctx),
# mctx/_src/search.py, mctx/_src/action_selection.py and mctx/_src/seq_halving.py.
# Copyright 2021 DeepMind Technologies Limited. All Rights Reserved.
# Licensed under the Apache License, Version 2.0 (the "License"); you may not use this file except
# in compliance with the License. You may obtain a copy of the License at
#     http://www.apache.org/licenses/LICENSE-2.0
# Unless required by applicable law or agreed to in writing, software distributed under the
# License is distributed on an "AS IS" BASIS, WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND,
# either express or implied. See the License for the specific language governing permissions and
# limitations under the License.
#
# Changes from the original (hexscale):
#   * only the private helpers agents/search/ needs, so that nothing imports `mctx._src`;
#   * chex shape assertions and pytype annotations removed, formatting to this repo's style;
#   * `instantiate_tree_from_root` takes the number of tree nodes to allocate (`num_nodes`)
#     instead of `num_simulations` (mctx allocates num_simulations + 1), so that a search can run
#     a traced number of simulations in a tree of fixed capacity;
#   * `considered_visit` computes one entry of `get_table_of_considered_visits` with traced
#     arguments (the table itself needs a static simulation budget), and
#     `gumbel_muzero_root_action_selection` uses it, so the budget may be traced.
# The guard for mctx upgrades is tests/test_agents.py::test_batched_search_loop_builds_the_same_
# tree_as_mctx (our loop and public `mctx.search` / policies must build the same tree).
"""Private pieces of mctx 0.0.71 (Apache 2.0, DeepMind), copied; see the header for changes."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import mctx

Tree = mctx.Tree


def update(x, vals, *indices):
    """Sets `x[indices] = vals` (vmapped below to work on batches)."""
    return x.at[indices].set(vals)


batch_update = jax.vmap(update)


def update_tree_node(tree: Tree, node_index, prior_logits, value, embedding) -> Tree:
    """Writes a freshly evaluated node at `node_index` [B] (mctx `search.update_tree_node`)."""
    batch_range = jnp.arange(tree.node_values.shape[0])
    # When using max_depth, a leaf can be expanded multiple times.
    new_visit = tree.node_visits[batch_range, node_index] + 1
    updates = dict(
        children_prior_logits=batch_update(tree.children_prior_logits, prior_logits, node_index),
        raw_values=batch_update(tree.raw_values, value, node_index),
        node_values=batch_update(tree.node_values, value, node_index),
        node_visits=batch_update(tree.node_visits, new_visit, node_index),
        embeddings=jax.tree.map(
            lambda t, s: batch_update(t, s, node_index), tree.embeddings, embedding
        ),
    )
    return tree.replace(**updates)


def instantiate_tree_from_root(
    root: mctx.RootFnOutput, num_nodes: int, root_invalid_actions, extra_data
) -> Tree:
    """An empty tree of `num_nodes` nodes with the root filled in (mctx
    `search.instantiate_tree_from_root`, which allocates `num_simulations + 1` nodes)."""
    batch_size, num_actions = root.prior_logits.shape
    data_dtype = root.value.dtype
    batch_node = (batch_size, num_nodes)
    batch_node_action = (batch_size, num_nodes, num_actions)

    def _zeros(x):
        return jnp.zeros(batch_node + x.shape[1:], dtype=x.dtype)

    tree = Tree(
        node_visits=jnp.zeros(batch_node, dtype=jnp.int32),
        raw_values=jnp.zeros(batch_node, dtype=data_dtype),
        node_values=jnp.zeros(batch_node, dtype=data_dtype),
        parents=jnp.full(batch_node, Tree.NO_PARENT, dtype=jnp.int32),
        action_from_parent=jnp.full(batch_node, Tree.NO_PARENT, dtype=jnp.int32),
        children_index=jnp.full(batch_node_action, Tree.UNVISITED, dtype=jnp.int32),
        children_prior_logits=jnp.zeros(batch_node_action, dtype=root.prior_logits.dtype),
        children_values=jnp.zeros(batch_node_action, dtype=data_dtype),
        children_visits=jnp.zeros(batch_node_action, dtype=jnp.int32),
        children_rewards=jnp.zeros(batch_node_action, dtype=data_dtype),
        children_discounts=jnp.zeros(batch_node_action, dtype=data_dtype),
        embeddings=jax.tree.map(_zeros, root.embedding),
        root_invalid_actions=root_invalid_actions,
        extra_data=extra_data,
    )
    root_index = jnp.full([batch_size], Tree.ROOT_INDEX)
    return update_tree_node(tree, root_index, root.prior_logits, root.value, root.embedding)


def expand(params, rng_key, tree: Tree, recurrent_fn, parent_index, action, next_node_index):
    """Evaluates `action` [B] from `parent_index` [B] and stores the result at
    `next_node_index` [B] (mctx `search.expand`)."""
    batch_range = jnp.arange(tree.node_values.shape[0])
    embedding = jax.tree.map(lambda x: x[batch_range, parent_index], tree.embeddings)
    step, embedding = recurrent_fn(params, rng_key, action, embedding)
    tree = update_tree_node(tree, next_node_index, step.prior_logits, step.value, embedding)
    return tree.replace(
        children_index=batch_update(tree.children_index, next_node_index, parent_index, action),
        children_rewards=batch_update(tree.children_rewards, step.reward, parent_index, action),
        children_discounts=batch_update(
            tree.children_discounts, step.discount, parent_index, action
        ),
        parents=batch_update(tree.parents, parent_index, next_node_index),
        action_from_parent=batch_update(tree.action_from_parent, action, next_node_index),
    )


def masked_argmax(to_argmax, invalid_actions):
    """A valid action with the highest `to_argmax` (mctx `action_selection.masked_argmax`)."""
    if invalid_actions is not None:
        # The usage of the -inf inside the argmax does not lead to NaN.
        to_argmax = jnp.where(invalid_actions, -jnp.inf, to_argmax)
    # If all actions are invalid, the argmax returns action 0.
    return jnp.argmax(to_argmax, axis=-1).astype(jnp.int32)


def score_considered(considered_visit, gumbel, logits, normalized_qvalues, visit_counts):
    """A score usable for an argmax (mctx `seq_halving.score_considered`)."""
    # We allow to visit a child, if it is the only considered child.
    low_logit = -1e9
    logits = logits - jnp.max(logits, keepdims=True, axis=-1)
    penalty = jnp.where(visit_counts == considered_visit, 0, -jnp.inf)
    return jnp.maximum(low_logit, gumbel + logits + normalized_qvalues) + penalty


def considered_visit(max_num_considered, num_simulations, simulation_index):
    """`get_table_of_considered_visits(M, num_simulations)[max_num_considered][simulation_index]`
    of mctx's `seq_halving` for traced int32 scalars (M does not enter the entry).

    mctx's sequence: with m ≤ 1 considered actions it is 0, 1, 2, …; otherwise it is built in
    phases of `max(1, n // (⌈log2 m⌉·k))` rounds, each round appending k copies of the round's
    number (k = m, then halved per phase down to 2), until n entries exist. Walks the phases.
    """
    m = jnp.asarray(max_num_considered, jnp.int32)
    n = jnp.asarray(num_simulations, jnp.int32)
    s = jnp.asarray(simulation_index, jnp.int32)
    # ⌈log2 m⌉ for m ≥ 2 = number of bits of m − 1
    log2max = 32 - jax.lax.clz(jnp.maximum(m, 2) - 1)

    def cond(state):
        start, _, _, _ = state
        return start <= s  # the phase holding entry s starts at or before it

    def body(state):
        start, round_, k, _ = state
        rounds = jnp.maximum(1, n // (log2max * k))
        # entry s lies in this phase if s < start + rounds·k
        visit = round_ + (s - start) // k
        return start + rounds * k, round_ + rounds, jnp.maximum(2, k // 2), visit

    zero = jnp.zeros((), jnp.int32)
    visit = jax.lax.while_loop(cond, body, (zero, zero, jnp.maximum(m, 2), zero))[3]
    return jnp.where(m <= 1, s, visit)


def gumbel_muzero_root_action_selection(
    rng_key, tree: Tree, node_index, *, num_simulations, max_num_considered_actions, qtransform
):
    """Sequential Halving with Gumbel at the root (mctx
    `action_selection.gumbel_muzero_root_action_selection`), with `num_simulations` allowed to
    be traced: the table lookup is replaced by `considered_visit`."""
    del rng_key
    visit_counts = tree.children_visits[node_index]
    prior_logits = tree.children_prior_logits[node_index]
    completed_qvalues = qtransform(tree, node_index)
    num_valid_actions = jnp.sum(1 - tree.root_invalid_actions, axis=-1).astype(jnp.int32)
    num_considered = jnp.minimum(max_num_considered_actions, num_valid_actions)
    # At the root, the simulation_index is equal to the sum of visit counts.
    simulation_index = jnp.sum(visit_counts, -1)
    visit = considered_visit(num_considered, num_simulations, simulation_index)
    gumbel = tree.extra_data.root_gumbel
    to_argmax = score_considered(visit, gumbel, prior_logits, completed_qvalues, visit_counts)
    # Masking the invalid actions at the root.
    return masked_argmax(to_argmax, tree.root_invalid_actions)
