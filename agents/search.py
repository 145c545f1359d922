"""MCTS over the Hex env, all through mctx: Jones's regularised policy, Grill et al.'s corrected
form, PUCT and Gumbel.

The env is the model: `recurrent_fn` steps the real game, so the tree holds exact positions.
Rewards are for the player who moved, discount −1 flips perspective between moves, and a
finished game has discount 0 and value 0, so nothing past a win is guessed by the network.
"Nodes" counts network evaluations per move, root included (Jones 2021): simulations = nodes − 1.

Search kinds (`SearchConfig.kind`; hex_experiments.md §2):
  * `jones`: Jones's (2021, boardlaw `mcts`) regularised policy π̄(a) = λπ(a)/(α − q̂(a)) of Grill
    et al. (2020), exactly: q̂ = (q + 1)/2 for visited children (his batch-global min–max in
    practice), 0 for unexpanded ones; N = Σ_a max(n_a, 1) over all b² cells; λ = c·N/(N + A)
    (his form, the square root missing), c = 1/16; α by Newton's method to tolerance; the descent
    samples from π̄ at every node; root Dirichlet noise on every call, evaluation included.
  * `grill`: the same with Grill et al.'s λ = c·√N/(N + A). Its c is not Jones's (c = 1/16 was
    tuned for his form): measure it.
  * `puct`, `gumbel`: `mctx.muzero_policy` / `mctx.gumbel_muzero_policy` over the loop below.

The simulation loop is `_run_search`, a drop-in for `mctx.search` that builds the same tree bit
for bit (mctx 0.0.71) but avoids two costs of mctx's per-game `vmap` on a batch: its backward
pass is a vmapped `while_loop` whose carry is the whole tree, so every step rewrote every
[B, nodes, A] array through a select (with it the search took 3–6× as long on CPU), and its
selection ran the root and interior rules both at every depth (`lax.cond` under `vmap`).
Its number of simulations may be traced (a tree allocated for `capacity` nodes, filled up to
`nodes`), so one compiled search serves every node count. The private mctx helpers it needs are
copied in `agents/mctx_internals.py`. Measurements: `docs/benchmarks.md`.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import mctx

import hex_env as he
from agents import mctx_internals
from agents.network import ILLEGAL_LOGIT

SEARCH_KINDS = ("jones", "grill", "puct", "gumbel")
REGULARISED_KINDS = ("jones", "grill")  # Grill et al.'s π̄, with Jones's / the corrected λ
# Root noise at evaluation as each search's paper had it: Jones mixed Dirichlet noise into every
# call; AlphaZero (PUCT) and Gumbel MuZero evaluate without it.
PAPER_TEST_NOISE = {"jones": True, "grill": True, "puct": False, "gumbel": False}
NEWTON_MAX_STEPS = 100  # Jones's cap
NEWTON_TOLERANCE = 1e-6  # stop when Σπ̄ − 1 < this, or when it stops decreasing (float32 floor)


@dataclasses.dataclass
class SearchConfig:
    kind: str = "jones"  # jones | grill | puct | gumbel
    nodes: int = 64  # network evaluations per move, root included
    c: float = 0.0625  # λ coefficient of jones/grill; 1/16 is Jones's, tuned for his λ form only
    noise_fraction: float = 0.25  # root Dirichlet weight ε (jones, grill, puct)
    dirichlet_alpha: float | None = None  # None: 10 / b² (Jones)
    test_noise: bool | None = None  # root noise at evaluation; None: the paper's (PAPER_TEST_NOISE)
    pb_c_init: float = 1.25  # PUCT exploration constant
    max_considered: int = 16  # Gumbel: actions considered at the root
    max_depth: int | None = None  # None: b² (bounds PUCT's deep trees)

    def validate(self) -> None:
        if self.kind not in SEARCH_KINDS:
            raise ValueError(f"search.kind must be one of {SEARCH_KINDS}, got {self.kind!r}")
        if self.nodes < 1:
            raise ValueError(f"search.nodes must be >= 1, got {self.nodes}")
        if self.c <= 0 or not 0 <= self.noise_fraction <= 1:
            raise ValueError("search.c must be > 0 and search.noise_fraction in [0, 1]")
        if self.dirichlet_alpha is not None and self.dirichlet_alpha <= 0:
            raise ValueError(f"search.dirichlet_alpha must be > 0, got {self.dirichlet_alpha}")

    @property
    def evaluation_noise(self) -> bool:
        """Whether evaluation mixes in the search's root noise (`test_noise`, else the paper's)."""
        return PAPER_TEST_NOISE[self.kind] if self.test_noise is None else bool(self.test_noise)


def search_id(cfg: SearchConfig) -> str:
    """Short stable name of the search settings, node count excluded: the kind, then every
    setting that the kind uses and that differs from its default, e.g. "jones", "grill-c0.25",
    "puct-pb2", "gumbel-m8", "jones-evalnoise0"."""
    default = SearchConfig(kind=cfg.kind)
    parts = [cfg.kind]
    if cfg.kind in REGULARISED_KINDS and cfg.c != default.c:
        parts.append(f"c{cfg.c:g}")
    if cfg.kind != "gumbel":
        if cfg.noise_fraction != default.noise_fraction:
            parts.append(f"eps{cfg.noise_fraction:g}")
        if cfg.dirichlet_alpha is not None:
            parts.append(f"dir{cfg.dirichlet_alpha:g}")
    if cfg.kind == "puct" and cfg.pb_c_init != default.pb_c_init:
        parts.append(f"pb{cfg.pb_c_init:g}")
    if cfg.kind == "gumbel" and cfg.max_considered != default.max_considered:
        parts.append(f"m{cfg.max_considered}")
    if cfg.max_depth is not None:
        parts.append(f"depth{cfg.max_depth}")
    if cfg.test_noise is not None and cfg.test_noise != PAPER_TEST_NOISE[cfg.kind]:
        parts.append(f"evalnoise{int(cfg.test_noise)}")
    return "-".join(parts)


class SearchOutput(NamedTuple):
    action: jax.Array  # [B] absolute cell to play
    policy: jax.Array  # [B, S*S] improved policy in the mover's frame (the training target)
    value: jax.Array  # [B] root value estimate for the mover


ApplyFn = Callable[[object, jax.Array], tuple[jax.Array, jax.Array]]  # obs → (log π, v)


class _Descent(NamedTuple):
    """One game's walk down the tree in `_simulate` (mctx's `_SimulationState`)."""

    rng_key: jax.Array  # this game's key
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


def _per_game(key: jax.Array) -> bool:
    """Whether `key` is one typed key per game ([B]) rather than one key for the whole batch."""
    return jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key) and key.ndim == 1


def _split(key: jax.Array, num: int) -> tuple[jax.Array, ...]:
    """`num` keys from one batch key, or `num` per-game key arrays [B] from per-game keys."""
    if _per_game(key):
        return tuple(jax.vmap(lambda k: jax.random.split(k, num), out_axes=1)(key))
    return tuple(jax.random.split(key, num))


def _draw(sample, key: jax.Array, *args) -> jax.Array:
    """`sample(key, *args)` over the batch: one draw for a batch key, one per game (vmapped over
    the leading axis of `args`) for per-game keys."""
    return jax.vmap(sample)(key, *args) if _per_game(key) else sample(key, *args)


def _run_search(
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
) -> mctx.Tree:
    """`mctx.search` (same arguments, same key use, the same tree) with `_simulate`/`_backward`.

    With `capacity`, the tree has `capacity` nodes and `num_simulations` (≤ capacity − 1) may be
    a traced int32 scalar: the first num_simulations + 1 nodes are those of a tree built for it.
    """
    batch_size = root.value.shape[0]
    games = jnp.arange(batch_size)

    def simulation(sim, loop_state):
        rng_key, tree = loop_state
        rng_key, simulate_key, expand_key = _split(rng_key, 3)
        simulate_keys = (
            simulate_key if _per_game(rng_key) else jax.random.split(simulate_key, batch_size)
        )
        parent, action = _simulate(
            simulate_keys, tree, root_action_selection_fn, interior_action_selection_fn, max_depth
        )
        child = tree.children_index[games, parent, action]
        child = jnp.where(child == mctx.Tree.UNVISITED, sim + 1, child)
        tree = mctx_internals.expand(params, expand_key, tree, recurrent_fn, parent, action, child)
        return rng_key, _backward(tree, child)

    num_nodes = num_simulations + 1 if capacity is None else capacity
    tree = mctx_internals.instantiate_tree_from_root(
        root, num_nodes, root_invalid_actions=invalid_actions, extra_data=extra_data
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
    capacity=None,
) -> mctx.PolicyOutput:
    """`mctx.gumbel_muzero_policy` (Danihelka et al. 2022) over `_run_search`; same outputs.
    A traced `num_simulations` (with `capacity`) uses the copied root rule that accepts it."""
    qtransform = mctx.qtransform_completed_by_mix_value
    root = root.replace(prior_logits=_mask_invalid(root.prior_logits, invalid_actions))
    rng_key, gumbel_key = _split(rng_key, 2)
    gumbel = gumbel_scale * _draw(
        lambda key, logits: jax.random.gumbel(key, logits.shape, logits.dtype),
        gumbel_key,
        root.prior_logits,
    )
    tree = _run_search(
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
    )
    visits = tree.summary().visit_counts
    completed_q = jax.vmap(qtransform, in_axes=[0, None])(tree, tree.ROOT_INDEX)
    to_argmax = mctx_internals.score_considered(
        jnp.max(visits, axis=-1, keepdims=True), gumbel, root.prior_logits, completed_q, visits
    )
    action = mctx_internals.masked_argmax(to_argmax, invalid_actions)
    weights = jax.nn.softmax(_mask_invalid(root.prior_logits + completed_q, invalid_actions))
    return mctx.PolicyOutput(action=action, action_weights=weights, search_tree=tree)


def _muzero_policy(
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
) -> mctx.PolicyOutput:
    """`mctx.muzero_policy` with `dirichlet_fraction=0` over `_run_search`: the same tree and
    visit probabilities (the unused noise draw and action sample are skipped)."""
    _, _, search_key = _split(rng_key, 3)
    probs = jax.nn.softmax(root.prior_logits)
    logits = jnp.log(jnp.maximum(probs, jnp.finfo(probs.dtype).tiny))
    root = root.replace(prior_logits=_mask_invalid(logits, invalid_actions))
    interior = functools.partial(
        mctx.muzero_action_selection,
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
        capacity=capacity,
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


def regularised_lambda(visits: jax.Array, *, c: float, kind: str) -> jax.Array:
    """λ_N over the last axis of `visits` [..., A]: N = Σ_a max(n_a, 1) over all A cells
    (unexpanded and illegal cells count 1, so N ≥ A); jones: c·N/(N + A); grill: c·√N/(N + A)."""
    cells = visits.shape[-1]
    n = jnp.sum(jnp.maximum(visits, 1), axis=-1).astype(jnp.float32)
    growth = n if kind == "jones" else jnp.sqrt(n)
    return c * growth / (n + cells)


def _newton_alpha(prior: jax.Array, q: jax.Array, lam: jax.Array) -> jax.Array:
    """α with Σ_a λπ(a)/(α − q̂(a)) = 1, over the last axis (leading axes are a batch); q̂ may be
    shifted by any constant (α shifts with it).

    Newton's method from Jones's α₀ = max_a(q̂(a) + max(λπ(a), 1e-4)), iterated while the excess
    Σπ̄ − 1 is ≥ NEWTON_TOLERANCE and still decreasing, at most NEWTON_MAX_STEPS steps. Jones
    applied Newton to S(α) = Σπ̄ = 1; we apply it to the same equation written 1/S(α) = 1. 1/S
    is concave increasing above max q̂ (a weighted harmonic mean of the gaps), so from the left
    of the root the iterates rise monotonically to it, as Jones's do, but its step is S times
    his, and it is exact in one step where one term dominates or all q̂ are equal (unvisited
    nodes): on 5×5 trees 1.3 steps on average and at most 5, against 5.8 and 8 for Newton on S,
    and the loop runs to the slowest node of the batch. The root, hence π̄, is the same to the
    tolerance. Where Jones's 1e-4 floor puts α₀ right of the root (Σπ̄ < 1: only when
    λπ < 1e-4 everywhere, e.g. the √ form with a flat prior on a big board; Jones then stopped at
    once and sampled from a π̄ summing to < 1), we start from max_{a: π(a)>0}(q̂ + λπ), left of
    the root.
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
    return jax.lax.while_loop(cond, body, start)[1]


def grill_policy(
    prior_logits: jax.Array, qvalues: jax.Array, visits: jax.Array, *, c: float, kind: str
) -> jax.Array:
    """π̄ = λπ/(α − q̂) of Grill et al. (2020) as Jones (2021) used it, over the last axis.

    q: the children's mean values for the player to move, in [−1, 1]; q̂ = (q + 1)/2 for visited
    children (Jones min–max normalised q over the whole batched tree tensor, which in practice
    spans [−1, 1]), 0 for unexpanded ones. λ: `regularised_lambda` (kind jones or grill). α: the
    normaliser, by Newton's method (`_newton_alpha`). With no visits at all, π̄ = π up to rounding.
    """
    prior = jax.nn.softmax(prior_logits, axis=-1)
    q = jnp.where(visits > 0, (qvalues + 1.0) / 2.0, 0.0)
    lam = regularised_lambda(visits, c=c, kind=kind)
    # q̂ and α shifted by max q̂ (π̄ is unchanged): the best child's gap α − q̂ is then α itself,
    # kept to full float32 precision when it is far below the resolution of q̂ ≈ 1
    q = q - jnp.max(q, axis=-1, keepdims=True)
    alpha = _newton_alpha(prior, q, lam)
    top = lam[..., None] * prior
    gap = alpha[..., None] - q
    pi_bar = jnp.where(top > 0, top / jnp.where(top > 0, gap, 1.0), 0.0)
    return pi_bar / jnp.sum(pi_bar, axis=-1, keepdims=True)


def _grill_node_policy(tree: mctx.Tree, node_index, cfg: SearchConfig) -> jax.Array:
    """π̄ at `node_index` of an unbatched tree."""
    return grill_policy(
        tree.children_prior_logits[node_index],
        tree.qvalues(node_index),
        tree.children_visits[node_index],
        c=cfg.c,
        kind=cfg.kind,
    )


def regularised_select(cfg: SearchConfig):
    """The jones/grill action selection, at the root and inside the tree: one action sampled from
    π̄ at the node (`(key, tree, node, depth=None) -> action`, unbatched tree)."""

    def select(key, tree, node, depth=None):
        return _sample(key, _grill_node_policy(tree, node, cfg))

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


def _with_root_noise(key, log_prior, legal, cfg: SearchConfig, size: int) -> jax.Array:
    """Mix Dirichlet noise into the root prior over legal cells, in probability space
    (AlphaZero; Jones α = 10/b², ε = 0.25)."""
    alpha = cfg.dirichlet_alpha or 10.0 / size**2
    noise = _draw(jax.random.dirichlet, key, jnp.full(log_prior.shape, alpha))
    noise = jnp.where(legal, noise, 0.0)
    noise = noise / jnp.maximum(noise.sum(-1, keepdims=True), 1e-12)
    mixed = (1 - cfg.noise_fraction) * jnp.exp(log_prior) + cfg.noise_fraction * noise
    return jnp.where(legal, jnp.log(jnp.maximum(mixed, 1e-30)), ILLEGAL_LOGIT)


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
    if capacity is not None and capacity < 1:
        raise ValueError(f"capacity must be >= 1, got {capacity}")
    root_fn = make_root_fn(apply_fn)
    recurrent_fn = make_recurrent_fn(apply_fn)
    max_depth = cfg.max_depth or size * size

    def search(params, key, states: he.HexState, *, explore: bool, greedy: bool = False,
               nodes=None):  # fmt: skip
        if capacity is None:
            if nodes is not None:
                raise ValueError("search(nodes=...) needs make_search_fn(..., capacity=...)")
            num_simulations = cfg.nodes - 1
            tree_nodes = None
        else:
            nodes = capacity if nodes is None else nodes
            num_simulations = jnp.clip(jnp.asarray(nodes, jnp.int32), 1, capacity) - 1
            tree_nodes = capacity
        static_zero = isinstance(num_simulations, int) and num_simulations == 0

        noise_key, search_key, action_key = _split(key, 3)
        root, legal = root_fn(params, states)
        invalid = ~legal
        if explore and cfg.kind != "gumbel" and cfg.noise_fraction > 0:
            noisy = _with_root_noise(noise_key, root.prior_logits, legal, cfg, size)
            root = root.replace(prior_logits=noisy)
        prior = jnp.exp(root.prior_logits)
        value = root.value
        chosen = None  # Gumbel's own action choice

        if static_zero or tree_nodes == 1:
            policy = prior
        elif cfg.kind in REGULARISED_KINDS:
            select = regularised_select(cfg)
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
                capacity=tree_nodes,
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
                capacity=tree_nodes,
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
                capacity=tree_nodes,
            )
            policy, value = out.action_weights, out.search_tree.node_values[:, 0]
            chosen = out.action  # Gumbel's sequential-halving choice
        if not isinstance(num_simulations, int) and tree_nodes > 1:
            # traced node count: nodes = 1 is the prior, as in the static search
            searched = num_simulations > 0
            policy = jnp.where(searched, policy, prior)
            value = jnp.where(searched, value, root.value)

        policy = jnp.where(legal, policy, 0.0)
        policy = policy / jnp.maximum(policy.sum(-1, keepdims=True), 1e-12)
        if greedy:
            relative = jnp.argmax(policy, axis=-1)
        else:
            relative = _draw(jax.random.categorical, action_key, jnp.log(policy + 1e-30))
            if chosen is not None:
                relative = jnp.where(num_simulations > 0, chosen, relative)
        action = jax.vmap(he.to_absolute_action)(states, relative)
        return SearchOutput(action=action, policy=policy, value=value)

    return search
