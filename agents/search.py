"""MCTS over the Hex env, all through mctx: Grill et al.'s regularised policy, PUCT and Gumbel.

The env is the model: `recurrent_fn` steps the real game, so the tree holds exact positions.
Rewards are for the player who moved, discount −1 flips perspective between moves, and a
finished game has discount 0 and value 0, so nothing past a win is guessed by the network.
"Nodes" counts network evaluations per move, root included (Jones 2021): simulations = nodes − 1.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import mctx

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
            select = lambda k, tree, node, depth=None: jax.random.categorical(
                k, jnp.log(_grill_node_policy(tree, node, cfg) + 1e-30)
            )
            tree = mctx.search(
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
            out = mctx.muzero_policy(
                params,
                search_key,
                root,
                recurrent_fn,
                num_simulations,
                invalid_actions=invalid,
                max_depth=max_depth,
                dirichlet_fraction=0.0,  # noise already mixed in above when exploring
                pb_c_init=cfg.pb_c_init,
            )
            policy, value = out.action_weights, out.search_tree.node_values[:, 0]
        else:
            out = mctx.gumbel_muzero_policy(
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
