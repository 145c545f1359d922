"""Grill et al.'s (2020) regularised policy π̄ = λπ/(α − q̂) as Jones (2021) used it, for the
`jones` and `grill` kinds: λ, α by Newton's method, and the descent's one-uniform draw."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import mctx

from agents.search.config import SearchConfig

NEWTON_MAX_STEPS = 100  # Jones's cap
# Fixed Newton steps of the static search (no loop of unknown trip count): the dynamic loop
# needs at most 5 on 5×5 trees (docs/benchmarks.md); `newton_unconverged` checks a batch.
NEWTON_STATIC_STEPS = 8
NEWTON_TOLERANCE = 1e-6  # stop when Σπ̄ − 1 < this, or when it stops decreasing (float32 floor)


def regularised_lambda(visits: jax.Array, *, c: float, kind: str) -> jax.Array:
    """λ_N over the last axis of `visits` [..., A]: N = Σ_a max(n_a, 1) over all A cells
    (unexpanded and illegal cells count 1, so N ≥ A); jones: c·N/(N + A); grill: c·√N/(N + A)."""
    cells = visits.shape[-1]
    n = jnp.sum(jnp.maximum(visits, 1), axis=-1).astype(jnp.float32)
    growth = n if kind == "jones" else jnp.sqrt(n)
    return c * growth / (n + cells)


def _newton_alpha(prior: jax.Array, q: jax.Array, lam: jax.Array, steps: int | None = None,
                  *, unconverged: bool = False):  # fmt: skip
    """α with Σ_a λπ(a)/(α − q̂(a)) = 1, over the last axis (leading axes are a batch); q̂ may be
    shifted by any constant (α shifts with it).

    Newton's method from Jones's α₀ = max_a(q̂(a) + max(λπ(a), 1e-4)), iterated while the excess
    Σπ̄ − 1 is ≥ NEWTON_TOLERANCE and still decreasing, at most NEWTON_MAX_STEPS steps. Jones
    applied Newton to S(α) = Σπ̄ = 1; we apply it to the same equation written 1/S(α) = 1. 1/S
    is concave increasing above max q̂ (a weighted harmonic mean of the gaps), so from the left
    of the root the iterates rise monotonically to it, as Jones's do, but its step is S times
    his, and it is exact in one step where one term dominates or all q̂ are equal (unvisited
    nodes); the loop runs to the slowest node of the batch, so fewer steps pay (step counts:
    docs/benchmarks.md). The root, hence π̄, is the same to the tolerance. Where Jones's 1e-4
    floor puts α₀ right of the root (Σπ̄ < 1: only when λπ < 1e-4 everywhere, e.g. the √ form
    with a flat prior on a big board; Jones then stopped at once and sampled from a π̄ summing
    to < 1), we start from max_{a: π(a)>0}(q̂ + λπ), left of the root.
    """
    top = lam[..., None] * prior

    def excess(alpha):
        gap = alpha[..., None] - q
        terms = jnp.where(top > 0, top / jnp.where(top > 0, gap, 1.0), 0.0)
        slope = jnp.where(top > 0, terms / jnp.where(top > 0, gap, 1.0), 0.0)
        return jnp.sum(terms, -1) - 1.0, -jnp.sum(slope, -1)

    alpha = jnp.max(q + jnp.maximum(top, 1e-4), axis=-1)
    err, slope = excess(alpha)
    alpha = jnp.where(err < 0, jnp.max(jnp.where(top > 0, q + top, -jnp.inf), axis=-1), alpha)
    err, slope = excess(alpha)

    def active(state):
        step, _, err, previous, _ = state
        return (step < NEWTON_MAX_STEPS) & (err >= NEWTON_TOLERANCE) & (err < previous)

    def cond(state):
        return jnp.any(active(state))

    def body(state):
        step, alpha, err, _, slope = state
        go = active(state)
        # Newton on 1/S − 1: α − (1/S − 1)/(−S'/S²) = α − S(S − 1)/S', S = err + 1
        new_alpha = jnp.where(go, alpha - err * (err + 1.0) / jnp.minimum(slope, -1e-30), alpha)
        new_err, new_slope = excess(new_alpha)
        return (
            step + 1,
            new_alpha,
            jnp.where(go, new_err, err),
            jnp.where(go, err, -jnp.inf),  # a finished node stays finished
            jnp.where(go, new_slope, slope),
        )

    start = (jnp.zeros((), jnp.int32), alpha, err, jnp.full_like(err, jnp.inf), slope)
    if steps is None:
        end = jax.lax.while_loop(cond, body, start)
    else:
        end = jax.lax.fori_loop(0, steps, lambda _, state: body(state), start)
    return active(end) if unconverged else end[1]


def newton_unconverged(prior: jax.Array, q: jax.Array, lam: jax.Array,
                       steps: int = NEWTON_STATIC_STEPS) -> jax.Array:  # fmt: skip
    """How many lanes (nodes) `steps` fixed Newton steps leave short of the stopping rule: the
    static search's π̄ equals the dynamic one's exactly when this is 0."""
    return jnp.sum(_newton_alpha(prior, q, lam, steps, unconverged=True))


def _policy_inputs(prior_logits: jax.Array, qvalues: jax.Array, visits: jax.Array, *, c: float,
                   kind: str) -> tuple[jax.Array, jax.Array, jax.Array]:  # fmt: skip
    """(π, q̂, λ) of `grill_policy`, q̂ shifted so that its max is 0."""
    prior = jax.nn.softmax(prior_logits, axis=-1)
    q = jnp.where(visits > 0, (qvalues + 1.0) / 2.0, 0.0)
    lam = regularised_lambda(visits, c=c, kind=kind)
    # q̂ and α shifted by max q̂ (π̄ is unchanged): the best child's gap α − q̂ is then α itself,
    # kept to full float32 precision when it is far below the resolution of q̂ ≈ 1
    return prior, q - jnp.max(q, axis=-1, keepdims=True), lam


def grill_policy(
    prior_logits: jax.Array, qvalues: jax.Array, visits: jax.Array, *, c: float, kind: str,
    newton_steps: int | None = None,
) -> jax.Array:  # fmt: skip
    """π̄ = λπ/(α − q̂) of Grill et al. (2020) as Jones (2021) used it, over the last axis.

    q: the children's mean values for the player to move, in [−1, 1]; q̂ = (q + 1)/2 for visited
    children (Jones min–max normalised q over the whole batched tree tensor, which in practice
    spans [−1, 1]), 0 for unexpanded ones. λ: `regularised_lambda` (kind jones or grill). α: the
    normaliser, by Newton's method (`_newton_alpha`; `newton_steps`: a fixed number of steps
    instead of a loop until done). With no visits at all, π̄ = π up to rounding.
    """
    prior, q, lam = _policy_inputs(prior_logits, qvalues, visits, c=c, kind=kind)
    alpha = _newton_alpha(prior, q, lam, newton_steps)
    top = lam[..., None] * prior
    gap = alpha[..., None] - q
    pi_bar = jnp.where(top > 0, top / jnp.where(top > 0, gap, 1.0), 0.0)
    return pi_bar / jnp.sum(pi_bar, axis=-1, keepdims=True)


def _node_inputs(tree: mctx.Tree, node_index) -> tuple[jax.Array, jax.Array, jax.Array]:
    """(prior logits, q, visits) of the children of `node_index` of an unbatched tree."""
    return (tree.children_prior_logits[node_index], tree.qvalues(node_index),
            tree.children_visits[node_index])  # fmt: skip


def _newton_steps(cfg: SearchConfig) -> int | None:
    """Fixed Newton steps of the static search; None: the loop until done."""
    return NEWTON_STATIC_STEPS if cfg.loops == "static" else None


def node_policy(tree: mctx.Tree, node_index, cfg: SearchConfig) -> jax.Array:
    """π̄ at `node_index` of an unbatched tree."""
    return grill_policy(*_node_inputs(tree, node_index), c=cfg.c, kind=cfg.kind,
                        newton_steps=_newton_steps(cfg))  # fmt: skip


def node_unconverged(tree: mctx.Tree, node_index, cfg: SearchConfig) -> jax.Array:
    """Whether the static search's fixed Newton steps leave π̄ at `node_index` short of the
    stopping rule (so that it differs from the dynamic search's); always False with dynamic
    loops, which run until it."""
    steps = _newton_steps(cfg)
    if steps is None:
        return jnp.zeros((), bool)
    prior, q, lam = _policy_inputs(*_node_inputs(tree, node_index), c=cfg.c, kind=cfg.kind)
    return _newton_alpha(prior, q, lam, steps, unconverged=True)


def regularised_select(cfg: SearchConfig):
    """The jones/grill action selection, at the root and inside the tree: one action sampled from
    π̄ at the node (`(key, tree, node, depth=None) -> action`, unbatched tree)."""

    def select(key, tree, node, depth=None):
        return _sample(key, node_policy(tree, node, cfg))

    return select


def _sample(key: jax.Array, probs: jax.Array) -> jax.Array:
    """One action from `probs` [A] with one uniform, as Jones's descent draws it: the first cell
    whose cumulative mass reaches u·Σprobs, u ∈ (0, 1]. A cell without mass is never chosen (the
    last cell with mass absorbs rounding). A Gumbel-argmax categorical needs A draws instead of
    one; at a descent step of a batched search that was half of Jones's search time."""
    u = 1.0 - jax.random.uniform(key, (), probs.dtype)
    cdf = jnp.cumsum(probs)
    index = jnp.sum(cdf < u * cdf[-1])
    last = probs.shape[-1] - 1 - jnp.argmax((probs > 0)[::-1])
    return jnp.minimum(index, last).astype(jnp.int32)
