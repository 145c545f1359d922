"""Jones's (2021) fully connected ReZero MLP family, and its parameter and FLOP counts.

flatten (2·S²) → Dense(w) intake → `depth` blocks x ← x + α·Dense(ReLU(x)) (α a learnable scalar
initialised to 0, ReZero) → policy head Dense(S²), illegal cells masked, log-softmax, and value
head Dense(1), tanh.
"""

from __future__ import annotations

import math

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

# Finite stand-in for −∞ on illegal cells: keeps softmax/log-softmax free of NaNs (mctx advice).
ILLEGAL_LOGIT = -1e9


class ReZeroBlock(nn.Module):
    width: int

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        kernel_init = nn.initializers.orthogonal(scale=math.sqrt(2.0))
        update = nn.Dense(self.width, kernel_init=kernel_init)(nn.relu(x))
        alpha = self.param("alpha", nn.initializers.zeros, ())
        return x + alpha * update


class HexNet(nn.Module):
    """obs [B, S, S, 2] (own, opponent) → (log-policy [B, S*S] in the mover's frame, value [B])."""

    width: int
    depth: int

    @nn.compact
    def __call__(self, obs: jax.Array) -> tuple[jax.Array, jax.Array]:
        batch, size = obs.shape[0], obs.shape[1]
        legal = (obs.sum(-1) == 0).reshape(batch, size * size)
        x = nn.Dense(self.width, name="intake")(obs.reshape(batch, -1))
        for i in range(self.depth):
            x = ReZeroBlock(self.width, name=f"block_{i}")(x)
        logits = nn.Dense(size * size, name="policy")(x)
        log_policy = jax.nn.log_softmax(jnp.where(legal, logits, ILLEGAL_LOGIT))
        value = jnp.tanh(nn.Dense(1, name="value")(x))[:, 0]
        return log_policy, value


def param_count(size: int, width: int, depth: int) -> int:
    """Weights + biases, ReZero scalars excluded (spec §2; 9×9, 1024×4 → 4,449,362)."""
    cells = size * size
    return (
        2 * cells * width
        + width
        + depth * (width * width + width)
        + width * cells
        + cells
        + width
        + 1
    )


def forward_macs(size: int, width: int, depth: int) -> int:
    """Multiply-accumulates of one forward pass (the dense layers' weights)."""
    cells = size * size
    return 2 * cells * width + depth * width * width + width * cells + width


def forward_flops(size: int, width: int, depth: int, convention: str) -> int:
    """FLOPs of one forward pass: 'jones' = weights + biases (one MAC = one FLOP, Jones 2021);
    'standard' = 2 per multiply-accumulate. Elementwise work (biases, ReLU, softmax) is left out:
    XLA's cost analysis counts it too, ~10% more for widths ≥ 64, ~20% for a 3×3 width-16 net."""
    if convention == "jones":
        return param_count(size, width, depth)
    if convention == "standard":
        return 2 * forward_macs(size, width, depth)
    raise ValueError(f"unknown FLOP convention {convention!r} (use 'jones' or 'standard')")


def init_params(key: jax.Array, size: int, width: int, depth: int):
    return HexNet(width, depth).init(key, jnp.zeros((1, size, size, 2), jnp.float32))


def pad_params(params, size: int, width: int, depth: int):
    """`params` of a narrower or shallower HexNet zero-padded to `width` × `depth`, computing the
    same function: extra units have zero weights and biases (ReLU(0) = 0 feeds nothing on),
    extra blocks have α = 0. Nets of every shape can then share one compiled program."""
    have = dict(jax.tree_util.tree_flatten_with_path(params)[0])
    target = jax.eval_shape(lambda: init_params(jax.random.PRNGKey(0), size, width, depth))

    def fill(path, shape):
        out = np.zeros(shape.shape, shape.dtype)
        leaf = have.pop(path, None)
        if leaf is not None:
            if any(n > m for n, m in zip(np.shape(leaf), shape.shape, strict=True)):
                raise ValueError(f"cannot pad {np.shape(leaf)} down to {shape.shape}")
            out[tuple(slice(0, n) for n in np.shape(leaf))] = leaf
        return out

    padded = jax.tree_util.tree_map_with_path(fill, target)
    if have:
        raise ValueError(f"params deeper than depth {depth}: {sorted(map(str, have))[:2]}")
    return padded


def unpad_params(params, size: int, width: int, depth: int):
    """The `width` × `depth` HexNet's params cut out of zero-padded ones (`pad_params`' inverse:
    the leading slice of every leaf the narrower net has; the extra blocks are dropped)."""
    have = dict(jax.tree_util.tree_flatten_with_path(params)[0])
    target = jax.eval_shape(lambda: init_params(jax.random.PRNGKey(0), size, width, depth))
    return jax.tree_util.tree_map_with_path(
        lambda path, shape: have[path][tuple(slice(0, n) for n in shape.shape)], target
    )
