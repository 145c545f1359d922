"""One function per search kind behind a table (`POLICIES`, as mctx's `policies.py`), and
`make_search_fn`, which builds the root, mixes in root noise, runs the kind's search and turns
its policy into a move. "Nodes" counts network evaluations per move, root included (Jones 2021):
simulations = nodes − 1."""

from __future__ import annotations

import dataclasses
import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import mctx

import hex_env as he
from agents.network import ILLEGAL_LOGIT
from agents.search import mctx_internals
from agents.search.config import SearchConfig, resolve_loops
from agents.search.keys import draw, split
from agents.search.loop import run_search
from agents.search.model import ApplyFn, make_recurrent_fn, make_root_fn
from agents.search.regularised import node_policy, node_unconverged, regularised_select


class SearchOutput(NamedTuple):
    action: jax.Array  # [B] absolute cell to play
    policy: jax.Array  # [B, S*S] improved policy in the mover's frame (the training target)
    value: jax.Array  # [B] root value estimate for the mover
    # how many of the B roots' π̄ (jones, grill with search.loops=static) the fixed Newton steps
    # left short of the stopping rule: 0 when the static search equals the dynamic one
    newton_unconverged: jax.Array


def _mask_invalid(logits: jax.Array, invalid: jax.Array) -> jax.Array:
    """mctx's `_mask_invalid_actions`: shift the max to 0, invalid actions to the float minimum."""
    logits = logits - jnp.max(logits, axis=-1, keepdims=True)
    return jnp.where(invalid, jnp.finfo(logits.dtype).min, logits)


def gumbel_muzero_policy(
    params,
    rng_key,
    root,
    recurrent_fn,
    num_simulations,
    *,
    invalid_actions,
    max_depth,
    max_num_considered_actions,
    gumbel_scale,
    capacity=None,
    loops="dynamic",
) -> mctx.PolicyOutput:
    """`mctx.gumbel_muzero_policy` (Danihelka et al. 2022) over `_run_search`; same outputs.
    A traced `num_simulations` (with `capacity`) uses the copied root rule that accepts it."""
    qtransform = mctx.qtransform_completed_by_mix_value
    root = root.replace(prior_logits=_mask_invalid(root.prior_logits, invalid_actions))
    rng_key, gumbel_key = split(rng_key, 2)
    gumbel = gumbel_scale * draw(
        lambda key, logits: jax.random.gumbel(key, logits.shape, logits.dtype),
        gumbel_key,
        root.prior_logits,
    )
    tree = run_search(
        params,
        rng_key,
        root=root,
        recurrent_fn=recurrent_fn,
        root_action_selection_fn=functools.partial(
            mctx.gumbel_muzero_root_action_selection
            if isinstance(num_simulations, int)
            else mctx_internals.gumbel_muzero_root_action_selection,
            num_simulations=num_simulations,
            max_num_considered_actions=max_num_considered_actions,
            qtransform=qtransform,
        ),
        interior_action_selection_fn=functools.partial(
            mctx.gumbel_muzero_interior_action_selection, qtransform=qtransform
        ),
        num_simulations=num_simulations,
        max_depth=max_depth,
        invalid_actions=invalid_actions,
        extra_data=mctx.GumbelMuZeroExtraData(root_gumbel=gumbel),
        capacity=capacity,
        loops=loops,
    )
    visits = tree.summary().visit_counts
    completed_q = jax.vmap(qtransform, in_axes=[0, None])(tree, tree.ROOT_INDEX)
    to_argmax = mctx_internals.score_considered(
        jnp.max(visits, axis=-1, keepdims=True), gumbel, root.prior_logits, completed_q, visits
    )
    action = mctx_internals.masked_argmax(to_argmax, invalid_actions)
    weights = jax.nn.softmax(_mask_invalid(root.prior_logits + completed_q, invalid_actions))
    return mctx.PolicyOutput(action=action, action_weights=weights, search_tree=tree)


def muzero_policy(
    params,
    rng_key,
    root,
    recurrent_fn,
    num_simulations,
    *,
    invalid_actions,
    max_depth,
    pb_c_init,
    capacity=None,
    loops="dynamic",
) -> mctx.PolicyOutput:
    """`mctx.muzero_policy` with `dirichlet_fraction=0` over `_run_search`: the same tree and
    visit probabilities (the unused noise draw and action sample are skipped)."""
    _, _, search_key = split(rng_key, 3)
    probs = jax.nn.softmax(root.prior_logits)
    logits = jnp.log(jnp.maximum(probs, jnp.finfo(probs.dtype).tiny))
    root = root.replace(prior_logits=_mask_invalid(logits, invalid_actions))
    interior = functools.partial(
        mctx.muzero_action_selection,
        pb_c_base=19652,
        pb_c_init=pb_c_init,
        qtransform=mctx.qtransform_by_parent_and_siblings,
    )
    tree = run_search(
        params,
        search_key,
        root=root,
        recurrent_fn=recurrent_fn,
        root_action_selection_fn=functools.partial(interior, depth=0),
        interior_action_selection_fn=interior,
        num_simulations=num_simulations,
        max_depth=max_depth,
        invalid_actions=invalid_actions,
        capacity=capacity,
        loops=loops,
    )
    summary = tree.summary()
    return mctx.PolicyOutput(action=None, action_weights=summary.visit_probs, search_tree=tree)


def _with_root_noise(key, log_prior, legal, cfg: SearchConfig, size: int) -> jax.Array:
    """Mix Dirichlet noise into the root prior over legal cells, in probability space
    (AlphaZero; Jones α = 10/b², ε = 0.25)."""
    alpha = cfg.dirichlet_alpha or 10.0 / size**2
    noise = draw(jax.random.dirichlet, key, jnp.full(log_prior.shape, alpha))
    noise = jnp.where(legal, noise, 0.0)
    noise = noise / jnp.maximum(noise.sum(-1, keepdims=True), 1e-12)
    mixed = (1 - cfg.noise_fraction) * jnp.exp(log_prior) + cfg.noise_fraction * noise
    return jnp.where(legal, jnp.log(jnp.maximum(mixed, 1e-30)), ILLEGAL_LOGIT)


class KindOutput(NamedTuple):
    """What one search kind returns: the improved root policy and value, and its own move choice
    (Gumbel's sequential halving; None: the move is sampled from the policy)."""

    policy: jax.Array  # [B, S*S] in the mover's frame
    value: jax.Array  # [B]
    action: jax.Array | None
    # roots whose π̄ the static search's fixed Newton steps left short of the stopping rule
    newton_unconverged: jax.Array | int = 0


def regularised_search(
    params, key, root, invalid, num_simulations, *, recurrent_fn, cfg, max_depth, capacity,
    explore,
) -> KindOutput:  # fmt: skip
    """jones/grill: sample from π̄ at every node of the descent; the root's π̄ is the policy."""
    del explore  # the root noise is already mixed into `root`
    select = regularised_select(cfg)
    tree = run_search(
        params,
        key,
        root=root,
        recurrent_fn=recurrent_fn,
        root_action_selection_fn=select,
        interior_action_selection_fn=select,
        num_simulations=num_simulations,
        max_depth=max_depth,
        invalid_actions=invalid,
        capacity=capacity,
        loops=cfg.loops,
    )
    root_index = jnp.zeros(root.value.shape, jnp.int32)
    policy = jax.vmap(node_policy, in_axes=(0, 0, None))(tree, root_index, cfg)
    unconverged = jax.vmap(node_unconverged, in_axes=(0, 0, None))(tree, root_index, cfg)
    return KindOutput(policy, tree.node_values[:, 0], None, jnp.sum(unconverged))


def puct_search(
    params, key, root, invalid, num_simulations, *, recurrent_fn, cfg, max_depth, capacity,
    explore,
) -> KindOutput:  # fmt: skip
    """puct: AlphaZero's visit distribution (root noise is already mixed into `root`)."""
    del explore
    out = muzero_policy(
        params,
        key,
        root,
        recurrent_fn,
        num_simulations,
        invalid_actions=invalid,
        max_depth=max_depth,
        pb_c_init=cfg.pb_c_init,
        capacity=capacity,
        loops=cfg.loops,
    )
    return KindOutput(out.action_weights, out.search_tree.node_values[:, 0], None)


def gumbel_search(
    params, key, root, invalid, num_simulations, *, recurrent_fn, cfg, max_depth, capacity,
    explore,
) -> KindOutput:  # fmt: skip
    """gumbel: Gumbel MuZero's completed-Q policy and its sequential-halving move; `explore`
    switches the Gumbel noise."""
    out = gumbel_muzero_policy(
        params,
        key,
        root,
        recurrent_fn,
        num_simulations,
        invalid_actions=invalid,
        max_depth=max_depth,
        max_num_considered_actions=cfg.max_considered,
        gumbel_scale=1.0 if explore else 0.0,
        capacity=capacity,
        loops=cfg.loops,
    )
    return KindOutput(out.action_weights, out.search_tree.node_values[:, 0], out.action)


POLICIES = {
    "jones": regularised_search,
    "grill": regularised_search,
    "puct": puct_search,
    "gumbel": gumbel_search,
}


def make_search_fn(apply_fn: ApplyFn, cfg: SearchConfig, size: int, *, capacity: int | None = None):
    """Returns `search(params, key, states, *, explore, greedy=False, nodes=None) -> SearchOutput`.

    `explore`: the search's root noise (Dirichlet for jones/grill/puct, Gumbel for gumbel): on in
    self-play; at evaluation `cfg.evaluation_noise` says (`agents.players.network_act_fn`).
    `greedy`: play the policy's argmax instead of sampling from it (evaluation switch).
    `key` is consumed: one key for the batch (the same draws as mctx), or typed keys [B], one per
    game, so that each game's play depends on its own key only, not on the batch it is in.
    `states` is a batch of unfinished games (finished ones give junk actions).

    `capacity`: None builds a search of `cfg.nodes` nodes (static). An int builds one whose tree
    holds `capacity` nodes and whose `nodes` argument, an int32 scalar that may be traced
    (1 ≤ nodes ≤ capacity, clipped into that range; None: capacity; `cfg.nodes` is ignored), sets
    the network evaluations of the call: it runs nodes − 1 simulations and returns exactly what a
    search built with `SearchConfig(nodes=nodes)` returns for the same key. Under `vmap` over a
    batched `nodes`, every member runs to the largest and keeps its own result.
    """
    cfg.validate()
    cfg = dataclasses.replace(cfg, loops=resolve_loops(cfg.loops))
    if capacity is not None and capacity < 1:
        raise ValueError(f"capacity must be >= 1, got {capacity}")
    root_fn = make_root_fn(apply_fn)
    tree_search = functools.partial(
        POLICIES[cfg.kind],
        recurrent_fn=make_recurrent_fn(apply_fn),
        cfg=cfg,
        max_depth=cfg.max_depth or size * size,
        capacity=capacity,
    )

    def search(params, key, states: he.HexState, *, explore: bool, greedy: bool = False,
               nodes=None):  # fmt: skip
        if capacity is None:
            if nodes is not None:
                raise ValueError("search(nodes=...) needs make_search_fn(..., capacity=...)")
            num_simulations = cfg.nodes - 1
        else:
            nodes = capacity if nodes is None else nodes
            num_simulations = jnp.clip(jnp.asarray(nodes, jnp.int32), 1, capacity) - 1
        static_zero = isinstance(num_simulations, int) and num_simulations == 0

        noise_key, search_key, action_key = split(key, 3)
        root, legal = root_fn(params, states)
        if explore and cfg.kind != "gumbel" and cfg.noise_fraction > 0:
            noisy = _with_root_noise(noise_key, root.prior_logits, legal, cfg, size)
            root = root.replace(prior_logits=noisy)
        prior = jnp.exp(root.prior_logits)

        if static_zero or capacity == 1:
            out = KindOutput(prior, root.value, None)
        else:
            out = tree_search(params, search_key, root, ~legal, num_simulations, explore=explore)
        policy, value = out.policy, out.value
        if not isinstance(num_simulations, int) and capacity > 1:
            # traced node count: nodes = 1 is the prior, as in the static search
            searched = num_simulations > 0
            policy = jnp.where(searched, policy, prior)
            value = jnp.where(searched, value, root.value)

        policy = jnp.where(legal, policy, 0.0)
        policy = policy / jnp.maximum(policy.sum(-1, keepdims=True), 1e-12)
        if greedy:
            relative = jnp.argmax(policy, axis=-1)
        else:
            relative = draw(jax.random.categorical, action_key, jnp.log(policy + 1e-30))
            if out.action is not None:
                relative = jnp.where(num_simulations > 0, out.action, relative)
        action = jax.vmap(he.to_absolute_action)(states, relative)
        unconverged = jnp.asarray(out.newton_unconverged, jnp.int32)
        return SearchOutput(action, policy, value, unconverged)

    return search
