"""MCTS over the Hex env, all through mctx: Grill et al.'s regularised policy, PUCT and Gumbel.

The env is the model: `recurrent_fn` steps the real game, so the tree holds exact positions.
Rewards are for the player who moved, discount −1 flips perspective between moves, and a
finished game has discount 0 and value 0, so nothing past a win is guessed by the network.
"Nodes" counts network evaluations per move, root included (Jones 2021): simulations = nodes − 1.

The simulation loop is `_run_search`, a drop-in for `mctx.search` that builds the same tree bit
for bit (mctx 0.0.71) but avoids two costs of mctx's per-game `vmap` on a batch: its backward
pass is a vmapped `while_loop` whose carry is the whole tree, so every step rewrote every
[B, nodes, A] array through a select (with it the search took 3–6× as long on CPU), and its
selection ran the root and interior rules both at every depth (`lax.cond` under `vmap`).
Gumbel and PUCT reuse mctx's selection rules and policy arithmetic around it. Measurements:
`docs/benchmarks.md`.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import mctx
from mctx._src import action_selection as mctx_selection
from mctx._src import search as mctx_search
from mctx._src import seq_halving

import hex_env as he
from agents.network import ILLEGAL_LOGIT

SEARCH_KINDS = ("grill", "puct", "gumbel")
LAMBDA_FORMS = ("sqrt", "jones")


@dataclasses.dataclass
class SearchConfig:
    kind: str = "grill"  # grill | puct | gumbel
    nodes: int = 64  # network evaluations per move, root included
    c: float = 0.0625  # Grill λ coefficient (Jones 2021)
    lambda_form: str = "sqrt"  # sqrt: λ = c·√N/(N+A) (Grill et al.); jones: c·N/(N+A) (his bug)
    noise_fraction: float = 0.25  # root Dirichlet weight ε in self-play
    dirichlet_alpha: float | None = None  # None: 10 / S² (Jones)
    pb_c_init: float = 1.25  # PUCT exploration constant
    max_considered: int = 16  # Gumbel: actions considered at the root
    max_depth: int | None = None  # None: S² (bounds PUCT's deep trees)

    def validate(self) -> None:
        if self.kind not in SEARCH_KINDS:
            raise ValueError(f"search.kind must be one of {SEARCH_KINDS}, got {self.kind!r}")
        if self.lambda_form not in LAMBDA_FORMS:
            raise ValueError(f"search.lambda_form must be one of {LAMBDA_FORMS}")
        if self.nodes < 1:
            raise ValueError(f"search.nodes must be >= 1, got {self.nodes}")
        if self.c <= 0 or not 0 <= self.noise_fraction <= 1:
            raise ValueError("search.c must be > 0 and search.noise_fraction in [0, 1]")


class SearchOutput(NamedTuple):
    action: jax.Array  # [B] absolute cell to play
    policy: jax.Array  # [B, S*S] improved policy in the mover's frame (the training target)
    value: jax.Array  # [B] root value estimate for the mover


ApplyFn = Callable[[object, jax.Array], tuple[jax.Array, jax.Array]]  # obs → (log π, v)


class _Descent(NamedTuple):
    """One game's walk down the tree in `_simulate` (mctx's `_SimulationState`)."""

    rng_key: jax.Array  # [2] uint32
    node: jax.Array  # [] int32: node the action was chosen at
    action: jax.Array  # [] int32
    child: jax.Array  # [] int32: where the action leads (UNVISITED if not expanded)
    depth: jax.Array  # [] float: edges walked so far
    continuing: jax.Array  # [] bool


def _simulate(keys, tree: mctx.Tree, root_select, interior_select, max_depth: int):
    """mctx's `simulate` for a batch: every game starts at the root, so the root rule runs once,
    outside the loop, and only the interior rule inside it. Same key use as mctx."""

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
        last = jax.lax.while_loop(lambda s: s.continuing, descend, first)
        return last.node, last.action

    return jax.vmap(one_game)(keys, tree)


class _Ascent(NamedTuple):
    """The batch's walk back up the tree in `_backward`."""

    tree: mctx.Tree
    value: jax.Array  # [B] return backed up so far, for the player at `index`
    index: jax.Array  # [B] int32 node reached (ROOT_INDEX: done)


def _backward(tree: mctx.Tree, leaf_index: jax.Array) -> mctx.Tree:
    """mctx's `backward` for the whole batch at once: each step up the tree writes one entry per
    game (games already at the root write back what is there), not the whole tree."""
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
    end = jax.lax.while_loop(lambda s: jnp.any(s.index != mctx.Tree.ROOT_INDEX), up, start)
    return end.tree


def _run_search(
    params,
    rng_key: jax.Array,
    *,
    root: mctx.RootFnOutput,
    recurrent_fn: mctx.RecurrentFn,
    root_action_selection_fn,
    interior_action_selection_fn,
    num_simulations: int,
    max_depth: int,
    invalid_actions: jax.Array,
    extra_data=None,
) -> mctx.Tree:
    """`mctx.search` (same arguments, same key use, the same tree) with `_simulate`/`_backward`."""
    batch_size = root.value.shape[0]
    games = jnp.arange(batch_size)

    def simulation(sim, loop_state):
        rng_key, tree = loop_state
        rng_key, simulate_key, expand_key = jax.random.split(rng_key, 3)
        simulate_keys = jax.random.split(simulate_key, batch_size)
        parent, action = _simulate(
            simulate_keys, tree, root_action_selection_fn, interior_action_selection_fn, max_depth
        )
        child = tree.children_index[games, parent, action]
        child = jnp.where(child == mctx.Tree.UNVISITED, sim + 1, child)
        tree = mctx_search.expand(params, expand_key, tree, recurrent_fn, parent, action, child)
        return rng_key, _backward(tree, child)

    tree = mctx_search.instantiate_tree_from_root(
        root, num_simulations, root_invalid_actions=invalid_actions, extra_data=extra_data
    )
    return jax.lax.fori_loop(0, num_simulations, simulation, (rng_key, tree))[1]


def _mask_invalid(logits: jax.Array, invalid: jax.Array) -> jax.Array:
    """mctx's `_mask_invalid_actions`: shift the max to 0, invalid actions to the float minimum."""
    logits = logits - jnp.max(logits, axis=-1, keepdims=True)
    return jnp.where(invalid, jnp.finfo(logits.dtype).min, logits)


def _gumbel_muzero_policy(
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
) -> mctx.PolicyOutput:
    """`mctx.gumbel_muzero_policy` (Danihelka et al. 2022) over `_run_search`; same outputs."""
    qtransform = mctx.qtransform_completed_by_mix_value
    root = root.replace(prior_logits=_mask_invalid(root.prior_logits, invalid_actions))
    rng_key, gumbel_key = jax.random.split(rng_key)
    gumbel = gumbel_scale * jax.random.gumbel(
        gumbel_key, shape=root.prior_logits.shape, dtype=root.prior_logits.dtype
    )
    tree = _run_search(
        params,
        rng_key,
        root=root,
        recurrent_fn=recurrent_fn,
        root_action_selection_fn=functools.partial(
            mctx_selection.gumbel_muzero_root_action_selection,
            num_simulations=num_simulations,
            max_num_considered_actions=max_num_considered_actions,
            qtransform=qtransform,
        ),
        interior_action_selection_fn=functools.partial(
            mctx_selection.gumbel_muzero_interior_action_selection, qtransform=qtransform
        ),
        num_simulations=num_simulations,
        max_depth=max_depth,
        invalid_actions=invalid_actions,
        extra_data=mctx_selection.GumbelMuZeroExtraData(root_gumbel=gumbel),
    )
    visits = tree.summary().visit_counts
    completed_q = jax.vmap(qtransform, in_axes=[0, None])(tree, tree.ROOT_INDEX)
    to_argmax = seq_halving.score_considered(
        jnp.max(visits, axis=-1, keepdims=True), gumbel, root.prior_logits, completed_q, visits
    )
    action = mctx_selection.masked_argmax(to_argmax, invalid_actions)
    weights = jax.nn.softmax(_mask_invalid(root.prior_logits + completed_q, invalid_actions))
    return mctx.PolicyOutput(action=action, action_weights=weights, search_tree=tree)


def _muzero_policy(
    params, rng_key, root, recurrent_fn, num_simulations, *, invalid_actions, max_depth, pb_c_init
) -> mctx.PolicyOutput:
    """`mctx.muzero_policy` with `dirichlet_fraction=0` over `_run_search`: the same tree and
    visit probabilities (the unused noise draw and action sample are skipped)."""
    _, _, search_key = jax.random.split(rng_key, 3)
    probs = jax.nn.softmax(root.prior_logits)
    logits = jnp.log(jnp.maximum(probs, jnp.finfo(probs.dtype).tiny))
    root = root.replace(prior_logits=_mask_invalid(logits, invalid_actions))
    interior = functools.partial(
        mctx_selection.muzero_action_selection,
        pb_c_base=19652,
        pb_c_init=pb_c_init,
        qtransform=mctx.qtransform_by_parent_and_siblings,
    )
    tree = _run_search(
        params,
        search_key,
        root=root,
        recurrent_fn=recurrent_fn,
        root_action_selection_fn=functools.partial(interior, depth=0),
        interior_action_selection_fn=interior,
        num_simulations=num_simulations,
        max_depth=max_depth,
        invalid_actions=invalid_actions,
    )
    summary = tree.summary()
    return mctx.PolicyOutput(action=None, action_weights=summary.visit_probs, search_tree=tree)


def make_root_fn(apply_fn: ApplyFn):
    def root_fn(params, states: he.HexState) -> tuple[mctx.RootFnOutput, jax.Array]:
        log_policy, value = apply_fn(params, jax.vmap(he.observe)(states))
        legal = jax.vmap(he.relative_legal_mask)(states)
        # a finished game has no legal move; keep it searchable (its result is discarded)
        legal = legal | ~jnp.any(legal, axis=-1, keepdims=True)
        root = mctx.RootFnOutput(prior_logits=log_policy, value=value, embedding=states)
        return root, legal

    return root_fn


def make_recurrent_fn(apply_fn: ApplyFn) -> mctx.RecurrentFn:
    def recurrent_fn(params, rng_key, action, states: he.HexState):
        del rng_key
        absolute = jax.vmap(he.to_absolute_action)(states, action)
        next_states = jax.vmap(he.step)(states, absolute)
        log_policy, value = apply_fn(params, jax.vmap(he.observe)(next_states))
        done = next_states.terminated
        output = mctx.RecurrentFnOutput(
            reward=next_states.reward,
            discount=jnp.where(done, 0.0, -1.0),
            prior_logits=log_policy,
            value=jnp.where(done, 0.0, value),
        )
        return output, next_states

    return recurrent_fn


def grill_policy(
    prior_logits: jax.Array,
    qvalues: jax.Array,
    visits: jax.Array,
    *,
    c: float,
    lambda_form: str,
    newton_steps: int = 10,
) -> jax.Array:
    """π̄ = λπ/(α − q) of Grill et al. (2020), as Jones (2021) used it, for one node.

    q is min–max normalised over visited children (unvisited → 0), λ = c·√N/(N + A) (or c·N/(N+A)
    in Jones's form), and α solves Σπ̄ = 1 by Newton's method from α_min = max(q + λπ), where the
    sum is ≥ 1 and convex decreasing, so the iterates rise monotonically to the root (8 steps
    reach float32 precision on random 9- and 81-action nodes; 10 are taken).
    With no visits yet, π̄ = π.
    """
    prior = jax.nn.softmax(prior_logits)
    n = jnp.sum(visits).astype(jnp.float32)
    visited = visits > 0
    q_min = jnp.min(jnp.where(visited, qvalues, jnp.inf))
    q_max = jnp.max(jnp.where(visited, qvalues, -jnp.inf))
    q = jnp.where(visited, (qvalues - q_min) / jnp.maximum(q_max - q_min, 1e-6), 0.0)
    growth = jnp.sqrt(n) if lambda_form == "sqrt" else n
    lam = c * growth / (n + prior.shape[-1])

    def newton(alpha, _):
        gap = jnp.maximum(alpha - q, 1e-9)
        total = jnp.sum(lam * prior / gap) - 1.0
        slope = -jnp.sum(lam * prior / gap**2)
        return alpha - total / jnp.minimum(slope, -1e-12), None

    alpha_min = jnp.max(q + lam * prior)
    alpha = jax.lax.scan(newton, alpha_min, None, length=newton_steps, unroll=True)[0]
    alpha = jnp.clip(alpha, alpha_min, jnp.max(q) + lam)
    pi_bar = lam * prior / jnp.maximum(alpha - q, 1e-9)
    pi_bar = pi_bar / jnp.sum(pi_bar)
    return jnp.where(n > 0, pi_bar, prior)


def _grill_node_policy(tree: mctx.Tree, node_index, cfg: SearchConfig) -> jax.Array:
    return grill_policy(
        tree.children_prior_logits[node_index],
        tree.qvalues(node_index),
        tree.children_visits[node_index],
        c=cfg.c,
        lambda_form=cfg.lambda_form,
    )


def _categorical(key: jax.Array, logits: jax.Array) -> jax.Array:
    """`jax.random.categorical(key, logits)` (argmax of Gumbel noise + logits), with the noisy
    scores computed before the argmax: fused into XLA CPU's argmax reduction, the logs ran one
    element at a time, the largest single cost of a Grill search (`docs/benchmarks.md`)."""
    scores = jax.lax.optimization_barrier(
        jax.random.gumbel(key, logits.shape, logits.dtype) + logits
    )
    # jnp.argmax (first maximum, or first NaN) as two plain reductions, which XLA CPU vectorises
    best = jnp.max(scores, axis=-1, keepdims=True)
    hit = (scores == best) | jnp.isnan(scores)
    return jnp.min(jnp.where(hit, jnp.arange(scores.shape[-1]), scores.shape[-1]), axis=-1)


def _with_root_noise(key, log_prior, legal, cfg: SearchConfig, size: int) -> jax.Array:
    """Mix Dirichlet noise into the root prior over legal cells (AlphaZero; Jones α = 10/S²)."""
    alpha = cfg.dirichlet_alpha or 10.0 / size**2
    noise = jax.random.dirichlet(key, jnp.full(log_prior.shape, alpha))
    noise = jnp.where(legal, noise, 0.0)
    noise = noise / jnp.maximum(noise.sum(-1, keepdims=True), 1e-12)
    mixed = (1 - cfg.noise_fraction) * jnp.exp(log_prior) + cfg.noise_fraction * noise
    return jnp.where(legal, jnp.log(jnp.maximum(mixed, 1e-30)), ILLEGAL_LOGIT)


def make_search_fn(apply_fn: ApplyFn, cfg: SearchConfig, size: int):
    """Returns `search(params, key, states, *, explore, greedy) -> SearchOutput`.

    `explore`: root noise (Dirichlet for Grill/PUCT, Gumbel for Gumbel) as in self-play.
    `greedy`: play the policy's argmax instead of sampling from it (evaluation switch).
    `key` is consumed; `states` is a batch of unfinished games (finished ones give junk actions).
    """
    cfg.validate()
    root_fn = make_root_fn(apply_fn)
    recurrent_fn = make_recurrent_fn(apply_fn)
    num_simulations = cfg.nodes - 1
    max_depth = cfg.max_depth or size * size

    def search(params, key, states: he.HexState, *, explore: bool, greedy: bool = False):
        noise_key, search_key, action_key = jax.random.split(key, 3)
        root, legal = root_fn(params, states)
        invalid = ~legal
        if explore and cfg.kind != "gumbel" and cfg.noise_fraction > 0:
            noisy = _with_root_noise(noise_key, root.prior_logits, legal, cfg, size)
            root = root.replace(prior_logits=noisy)
        value = root.value

        if num_simulations == 0:
            policy = jnp.exp(root.prior_logits)
        elif cfg.kind == "grill":
            select = lambda k, tree, node, depth=None: _categorical(
                k, jnp.log(_grill_node_policy(tree, node, cfg) + 1e-30)
            )
            tree = _run_search(
                params,
                search_key,
                root=root,
                recurrent_fn=recurrent_fn,
                root_action_selection_fn=select,
                interior_action_selection_fn=select,
                num_simulations=num_simulations,
                max_depth=max_depth,
                invalid_actions=invalid,
            )
            root_index = jnp.zeros(states.ply.shape, jnp.int32)
            policy = jax.vmap(_grill_node_policy, in_axes=(0, 0, None))(tree, root_index, cfg)
            value = tree.node_values[:, 0]
        elif cfg.kind == "puct":
            out = _muzero_policy(  # root noise is already mixed in above when exploring
                params,
                search_key,
                root,
                recurrent_fn,
                num_simulations,
                invalid_actions=invalid,
                max_depth=max_depth,
                pb_c_init=cfg.pb_c_init,
            )
            policy, value = out.action_weights, out.search_tree.node_values[:, 0]
        else:
            out = _gumbel_muzero_policy(
                params,
                search_key,
                root,
                recurrent_fn,
                num_simulations,
                invalid_actions=invalid,
                max_depth=max_depth,
                max_num_considered_actions=cfg.max_considered,
                gumbel_scale=1.0 if explore else 0.0,
            )
            policy, value = out.action_weights, out.search_tree.node_values[:, 0]

        policy = jnp.where(legal, policy, 0.0)
        policy = policy / jnp.maximum(policy.sum(-1, keepdims=True), 1e-12)
        if greedy:
            relative = jnp.argmax(policy, axis=-1)
        elif cfg.kind == "gumbel" and num_simulations > 0:
            relative = out.action  # Gumbel's sequential-halving choice
        else:
            relative = jax.random.categorical(action_key, jnp.log(policy + 1e-30))
        action = jax.vmap(he.to_absolute_action)(states, relative)
        return SearchOutput(action=action, policy=policy, value=value)

    return search
