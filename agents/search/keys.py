"""Random keys of a search: one key for the whole batch (the same draws as mctx), or typed keys
[B], one per game, so that each game's play depends on its own key only."""

from __future__ import annotations

import jax


def per_game(key: jax.Array) -> bool:
    """Whether `key` is one typed key per game ([B]) rather than one key for the whole batch."""
    return jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key) and key.ndim == 1


def split(key: jax.Array, num: int) -> tuple[jax.Array, ...]:
    """`num` keys from one batch key, or `num` per-game key arrays [B] from per-game keys."""
    if per_game(key):
        return tuple(jax.vmap(lambda k: jax.random.split(k, num), out_axes=1)(key))
    return tuple(jax.random.split(key, num))


def draw(sample, key: jax.Array, *args) -> jax.Array:
    """`sample(key, *args)` over the batch: one draw for a batch key, one per game (vmapped over
    the leading axis of `args`) for per-game keys."""
    return jax.vmap(sample)(key, *args) if per_game(key) else sample(key, *args)
