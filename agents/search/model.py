"""The env as the search's model: `recurrent_fn` steps the real game, so the tree holds exact
positions. Rewards are for the player who moved, discount −1 flips perspective between moves,
and a finished game has discount 0 and value 0, so nothing past a win is guessed by the network."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import mctx

import hex_env as he

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
