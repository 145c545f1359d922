"""Search internals against values computed here from the formulas (numpy, hex_experiments.md §2),
the traced node count against static searches, and a stored golden tree."""

import json
import os
import re
from pathlib import Path

import jax
import jax.numpy as jnp
import mctx
import numpy as np
import pytest
from scipy.optimize import brentq

import agents.search as search_lib
import hex_env as he
from agents import network, players
from agents.search import SearchConfig, loop, make_search_fn, mctx_internals, regularised
from agents.search.config import resolve_loops

ROOT = Path(__file__).resolve().parents[1]


def _games(size=3, batch=4, plies=2, seed=0):
    """A batch of unfinished games a few random plies in."""
    states = jax.vmap(lambda _: he.init(size))(jnp.arange(batch))
    rng = np.random.default_rng(seed)
    for _ in range(plies):
        cells = [rng.choice(np.flatnonzero(np.asarray(b) == 0)) for b in states.board]
        states = jax.vmap(he.step)(states, jnp.array(cells))
    return states


def _net(size=3, width=8, depth=1, seed=0, scale=0.0):
    """A small net; `scale` > 0 perturbs every weight, so values and priors are far from flat."""
    net = network.HexNet(width, depth)
    params = network.init_params(jax.random.key(seed), size, width, depth)
    if scale:
        leaves, treedef = jax.tree.flatten(params)
        keys = jax.random.split(jax.random.key(seed + 1), len(leaves))
        noise = [jax.random.normal(k, x.shape) for x, k in zip(leaves, keys, strict=True)]
        leaves = [x + scale * z for x, z in zip(leaves, noise, strict=True)]
        params = jax.tree.unflatten(treedef, leaves)
    return net, params


def test_nothing_outside_mctx_internals_imports_mctx_private_modules():
    offenders = []
    for path in ROOT.glob("**/*.py"):
        if ".venv" in path.parts or path.name == "mctx_internals.py" or path == Path(__file__):
            continue
        if re.search(r"mctx\._src|from mctx import _src", path.read_text()):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == [], offenders


# ---------------------------------------------------------------- traced node count (capacity)


@pytest.mark.parametrize("kind", ["jones", "grill", "puct", "gumbel"])
def test_traced_node_count_gives_the_static_search(kind):
    """One search compiled for capacity 16 with `nodes` traced = a search built for `nodes`."""
    size, capacity = 3, 16
    net, params = _net(size, scale=0.3)
    states = _games(size)
    cfg = SearchConfig(kind=kind, c=0.5)
    flexible = jax.jit(
        make_search_fn(net.apply, cfg, size, capacity=capacity),
        static_argnames=("explore", "greedy"),
    )
    for nodes in (1, 5, 16):  # no tree; part of the capacity; all of it
        static = jax.jit(
            make_search_fn(net.apply, SearchConfig(kind=kind, c=0.5, nodes=nodes), size),
            static_argnames=("explore", "greedy"),
        )
        key = jax.random.key(nodes)
        want = static(params, key, states, explore=True)
        got = flexible(params, key, states, explore=True, nodes=jnp.int32(nodes))
        for name in ("action", "policy", "value"):
            np.testing.assert_array_equal(
                getattr(got, name), getattr(want, name), err_msg=f"{kind} {nodes} {name}"
            )


@pytest.mark.parametrize("kind", ["jones", "puct", "gumbel"])  # grill draws as jones does
def test_per_game_keys_make_each_game_independent_of_its_batch(kind):
    """With a key per game, a game's search (root noise, descent, move) is the same in a batch
    of six as on its own; with one key for the batch, it is not."""
    size = 3
    net, params = _net(size, scale=0.3)
    states = _games(size, batch=6, plies=1)
    search = jax.jit(
        make_search_fn(net.apply, SearchConfig(kind=kind, nodes=8, c=0.5), size),
        static_argnames=("explore", "greedy"),
    )
    keys = jax.random.split(jax.random.key(5), 6)
    one = lambda game: jax.tree.map(lambda x: x[game : game + 1], states)  # noqa: E731
    together = search(params, keys, states, explore=True)
    for game in range(6):
        alone = search(params, keys[game : game + 1], one(game), explore=True)
        np.testing.assert_array_equal(alone.action, together.action[game : game + 1])
        np.testing.assert_allclose(alone.policy, together.policy[game : game + 1], atol=1e-6)
    shared = [search(params, keys[0], one(game), explore=True).policy for game in range(6)]
    batched = search(params, keys[0], states, explore=True).policy
    assert not np.allclose(np.concatenate(shared), batched, atol=1e-3)


def test_traced_simulation_count_fills_the_first_slots_of_the_same_tree():
    size, capacity = 3, 16
    net, params = _net(size, scale=0.3)
    states = _games(size)
    root, legal = search_lib.make_root_fn(net.apply)(params, states)
    cfg = SearchConfig(kind="jones", c=0.5)
    select = search_lib.regularised_select(cfg)
    kwargs = dict(
        root=root,
        recurrent_fn=search_lib.make_recurrent_fn(net.apply),
        root_action_selection_fn=select,
        interior_action_selection_fn=select,
        max_depth=size * size,
        invalid_actions=~legal,
    )
    key = jax.random.key(5)
    traced = jax.jit(
        lambda p, k, n: loop.run_search(p, k, num_simulations=n, capacity=capacity, **kwargs)
    )
    for nodes in (1, 2, 5, 16):
        want = loop.run_search(params, key, num_simulations=nodes - 1, **kwargs)
        got = traced(params, key, jnp.int32(nodes - 1))
        for name in ("node_visits", "node_values", "children_visits", "children_values",
                     "children_index", "parents", "action_from_parent", "raw_values"):  # fmt: skip
            np.testing.assert_array_equal(
                getattr(got, name)[:, :nodes], getattr(want, name), err_msg=f"{nodes} {name}"
            )
        assert (np.asarray(got.node_visits)[:, nodes:] == 0).all()


def test_search_refuses_a_node_count_without_capacity():
    net, params = _net()
    search = make_search_fn(net.apply, SearchConfig(nodes=4), 3)
    with pytest.raises(ValueError, match="capacity"):
        search(params, jax.random.key(0), _games(), explore=False, nodes=2)


@pytest.mark.parametrize("considered", [0, 1, 2, 3, 4, 5, 7, 8, 9, 16])
def test_considered_visit_matches_the_sequential_halving_table(considered):
    """The traced entry of mctx's sequential-halving table, against the table for every budget."""

    def table(m, n):  # mctx 0.0.71 seq_halving.get_sequence_of_considered_visits, re-derived
        if m <= 1:
            return list(range(n))
        log2max = int(np.ceil(np.log2(m)))
        sequence, visits, k = [], [0] * m, m
        while len(sequence) < n:
            for _ in range(max(1, int(n / (log2max * k)))):
                sequence.extend(visits[:k])
                visits[:k] = [v + 1 for v in visits[:k]]
            k = max(2, k // 2)
        return sequence[:n]

    budgets, indices, expected = [], [], []
    for n in range(1, 80):
        for s, v in enumerate(table(considered, n)):
            budgets.append(n), indices.append(s), expected.append(v)
    got = jax.jit(jax.vmap(mctx_internals.considered_visit, in_axes=(None, 0, 0)))(
        considered, jnp.array(budgets), jnp.array(indices)
    )
    np.testing.assert_array_equal(got, expected)


# ------------------------------------------------------- π̄ and λ against hand-worked values

C = 1 / 16  # Jones's c
ILLEGAL = float(network.ILLEGAL_LOGIT)


def _lam(total, cells, kind, c=C):
    """λ from N = Σ max(n, 1) (already summed into `total`)."""
    return c * (total if kind == "jones" else np.sqrt(total)) / (total + cells)


def _two_term_alpha(lam, p, q):
    """The larger root of λp₁/(α − q₁) + λp₂/(α − q₂) = 1 (a quadratic in α)."""
    b = q[0] + q[1] + lam * (p[0] + p[1])
    c = q[0] * q[1] + lam * (p[0] * q[1] + p[1] * q[0])
    return (b + np.sqrt(b * b - 4 * c)) / 2


def _pi_bar(prior_logits, qvalues, visits, kind, c=C):
    out = search_lib.grill_policy(
        jnp.asarray(prior_logits, jnp.float32),
        jnp.asarray(qvalues, jnp.float32),
        jnp.asarray(visits, jnp.int32),
        c=c,
        kind=kind,
    )
    return np.asarray(out, np.float64)


@pytest.mark.parametrize("kind", ["jones", "grill"])
def test_pi_bar_with_an_unexpanded_and_an_illegal_cell(kind):
    # cells: visited 3× with q = 0.2 | legal, never expanded | illegal (prior 0)
    p = np.array([0.6, 0.4])
    pi_bar = _pi_bar([np.log(0.6), np.log(0.4), ILLEGAL], [0.2, 0.0, 0.0], [3, 0, 0], kind)
    q = np.array([0.6, 0.0])  # (0.2 + 1)/2, and 0 for the unexpanded cell
    lam = _lam(3 + 1 + 1, 3, kind)  # the unexpanded and the illegal cell count 1 each
    alpha = _two_term_alpha(lam, p, q)
    want = np.append(lam * p / (alpha - q), 0.0)
    np.testing.assert_allclose(want.sum(), 1.0, atol=1e-12)
    np.testing.assert_allclose(pi_bar, want, atol=1e-6)
    assert pi_bar[2] == 0.0


@pytest.mark.parametrize("kind", ["jones", "grill"])
def test_pi_bar_with_one_visited_child(kind):
    # four equal-prior cells, one visited once with q = −0.5: q̂ = 0.25 against 0 for the others
    pi_bar = _pi_bar(np.zeros(4), [-0.5, 0.3, 0.3, 0.3], [1, 0, 0, 0], kind)
    lam = _lam(4, 4, kind)  # N = 1 + 1 + 1 + 1
    # by symmetry the three unvisited cells share x = λ/4 / α, the visited one gets λ/4/(α − 1/4):
    # 3λ/(4α) + λ/(4(α − 1/4)) = 1  ⇔  α² − (1/4 + λ)α + 3λ/16 = 0
    b, c = 0.25 + lam, 3 * lam / 16
    alpha = (b + np.sqrt(b * b - 4 * c)) / 2
    want = np.array([lam / 4 / (alpha - 0.25)] + [lam / 4 / alpha] * 3)
    np.testing.assert_allclose(want.sum(), 1.0, atol=1e-12)
    np.testing.assert_allclose(pi_bar, want, atol=1e-6)
    assert pi_bar[0] > 0.9  # a visited child, even a losing one, beats the unexpanded (q̂ = 0)


@pytest.mark.parametrize("kind", ["jones", "grill"])
def test_pi_bar_on_near_equal_children(kind):
    # q 0.50 vs 0.51 (q̂ 0.75 vs 0.755), prior 0.7 / 0.3 on the worse / better child, 20 visits each
    p = np.array([0.7, 0.3])
    pi_bar = _pi_bar(np.log(p), [0.50, 0.51], [20, 20], kind)
    lam = _lam(40, 2, kind)
    q = np.array([0.75, 0.755])
    alpha = _two_term_alpha(lam, p, q)
    want = lam * p / (alpha - q)
    np.testing.assert_allclose(pi_bar, want, atol=1e-5)
    assert pi_bar[1] > p[1]  # the 0.005 edge moves mass from the prior's favourite


def test_lambda_at_zero_one_and_ten_visits():
    cells = 9  # a 3×3 node: N = Σ max(n, 1) ≥ 9
    cases = {  # visits → N by hand
        (0,) * 9: 9,
        (1,) + (0,) * 8: 9,  # one visit to one cell: that cell still counts 1
        (10,) + (0,) * 8: 18,
        (5, 5) + (0,) * 7: 17,
    }
    for visits, total in cases.items():
        for kind, growth in (("jones", total), ("grill", np.sqrt(total))):
            got = float(search_lib.regularised_lambda(jnp.array(visits), c=C, kind=kind))
            np.testing.assert_allclose(got, C * growth / (total + cells), rtol=1e-6)
    # by hand: N = 9 → jones c/2, grill c/6; N = 18 → jones 2c/3
    lam = lambda v, kind: float(search_lib.regularised_lambda(jnp.array(v), c=C, kind=kind))
    np.testing.assert_allclose(lam([0] * 9, "jones"), C / 2, rtol=1e-6)
    np.testing.assert_allclose(lam([0] * 9, "grill"), C / 6, rtol=1e-6)
    np.testing.assert_allclose(lam([10] + [0] * 8, "jones"), 2 * C / 3, rtol=1e-6)


@pytest.mark.parametrize("kind", ["jones", "grill"])
def test_pi_bar_when_the_best_child_has_a_tiny_prior(kind):
    """λπ far below the float32 resolution of q̂ ≈ 1: π̄ is still exact, and on the winner."""
    logits = np.array([np.log(1e-7), 0.0, 0.0, 0.0, 0.0])
    pi_bar = _pi_bar(logits, [1.0, 0.0, 0.0, 0.0, 0.0], [1, 5, 5, 5, 5], kind)
    # exact, in float64: λπ₀/α' + Σ λπ/(α' + 1/2) = 1 with α' = α − 1
    p = np.exp(logits) / np.exp(logits).sum()
    lam = _lam(21, 5, kind)
    q = np.array([0.0, -0.5, -0.5, -0.5, -0.5])
    alpha = brentq(lambda a: np.sum(lam * p / (a - q)) - 1, 1e-30, 10.0, xtol=1e-24)
    np.testing.assert_allclose(pi_bar, lam * p / (alpha - q), atol=1e-5)
    assert pi_bar[0] > 0.5


# -------------------------------------------------------------- a bandit through the real loop


def test_root_mass_on_the_best_arm_grows_with_simulations():
    """Four arms with fixed returns (terminal after one move): Jones's search concentrates π̄ on
    the best arm as the budget grows (root + 3, 15, 63 simulations; 64 independent roots)."""
    arms, batch = 4, 64
    rewards = jnp.array([0.0, 0.2, 0.5, -0.3])

    def recurrent_fn(params, key, action, embedding):
        out = mctx.RecurrentFnOutput(
            reward=rewards[action],
            discount=jnp.zeros_like(rewards[action]),
            prior_logits=jnp.zeros((action.shape[0], arms)),
            value=jnp.zeros(action.shape[0]),
        )
        return out, embedding

    root = mctx.RootFnOutput(
        prior_logits=jnp.zeros((batch, arms)), value=jnp.zeros(batch), embedding=jnp.zeros(batch)
    )
    cfg = SearchConfig(kind="jones")
    select = search_lib.regularised_select(cfg)
    mass = []
    for nodes in (4, 16, 64):
        tree = loop.run_search(
            None,
            jax.random.key(0),
            root=root,
            recurrent_fn=recurrent_fn,
            root_action_selection_fn=select,
            interior_action_selection_fn=select,
            num_simulations=nodes - 1,
            max_depth=4,
            invalid_actions=jnp.zeros((batch, arms), bool),
        )
        roots = jnp.zeros(batch, jnp.int32)
        policy = jax.vmap(regularised.node_policy, in_axes=(0, 0, None))(tree, roots, cfg)
        mass.append(float(jnp.mean(policy[:, 2])))
    print("root mass on the best arm at 4, 16, 64 nodes:", mass)
    assert mass[0] < mass[1] < mass[2], mass
    assert mass[2] > 0.6, mass


# ----------------------------------------------- q̂ = (q + 1)/2 against Jones's batch min–max


def _reference_pi_bar(prior_logits, q_hat, visits, lam):
    """π̄ = λπ/(α − q̂) with α from brentq (float64), for one node."""
    p = np.exp(prior_logits - prior_logits.max())
    p /= p.sum()
    f = lambda a: np.sum(lam * p / (a - q_hat)) - 1
    lo = np.max(np.where(p > 0, q_hat + lam * p, -np.inf))
    hi = lo + 10.0  # f decreases from f(lo) ≥ 0 to f(hi) < 0: bisect in float64
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if f(mid) > 0 else (lo, mid)
    alpha = (lo + hi) / 2
    return lam * p / (alpha - q_hat)


def _children_q(tree):
    """q of every child [B, nodes, A] for the player to move at the node (mctx `Tree.qvalues`)."""
    rewards, discounts = np.asarray(tree.children_rewards), np.asarray(tree.children_discounts)
    return rewards + discounts * np.asarray(tree.children_values)


def _minmax_vs_affine(tree, cfg, min_max):
    """Largest |π̄(q̂ = (q + 1)/2) − π̄(q̂ = Jones's batch min–max)| over the expanded nodes."""
    q_all = _children_q(tree)
    visits = np.asarray(tree.children_visits)
    logits = np.asarray(tree.children_prior_logits, np.float64)
    ours = np.asarray(
        jax.vmap(
            jax.vmap(regularised.node_policy, in_axes=(None, 0, None)),
            in_axes=(0, None, None),
        )(tree, jnp.arange(visits.shape[1]), cfg)  # fmt: skip
    )
    low, high = min_max
    worst = 0.0
    for b, node in zip(*np.nonzero(np.asarray(tree.node_visits) > 0), strict=True):
        if visits[b, node].sum() == 0:
            continue
        n = visits[b, node]
        q_hat = np.where(n > 0, (q_all[b, node] - low) / (high - low + 1e-4), 0.0)
        lam = _lam(np.maximum(n, 1).sum(), n.size, cfg.kind, cfg.c)
        ref = _reference_pi_bar(logits[b, node], q_hat, n, lam)
        worst = max(worst, float(np.max(np.abs(ref - ours[b, node]))))
    return worst


def _regularised_tree(net, params, states, cfg, size, nodes):
    root, legal = search_lib.make_root_fn(net.apply)(params, states)
    return loop.run_search(
        params,
        jax.random.key(1),
        root=root,
        recurrent_fn=search_lib.make_recurrent_fn(net.apply),
        root_action_selection_fn=search_lib.regularised_select(cfg),
        interior_action_selection_fn=search_lib.regularised_select(cfg),
        num_simulations=nodes - 1,
        max_depth=size * size,
        invalid_actions=~legal,
        loops=resolve_loops(cfg.loops),
    )


def _batch_q_range(tree):
    """M = max |q| over the batch tree: Jones's min–max range, both seats, is [−M, M]."""
    q = _children_q(tree)[np.asarray(tree.children_visits) > 0]
    values = np.asarray(tree.node_values)[np.asarray(tree.node_visits) > 0]
    return float(max(np.abs(q).max(), np.abs(values).max()))


def test_affine_q_hat_agrees_with_jones_batch_min_max_when_q_spans_minus_one_to_one():
    """Jones normalised q by the min and max of the whole batched tree tensor (all games, all
    nodes, both seats: zero-sum, so [−M, M] with M = max |q|): q̂ = (q + M)/(2M + 1e-4). With
    decided positions in the batch M = 1 and that is (q + 1)/2 up to 5e-5; π̄ then agrees."""
    size = 3
    net, params = _net(size, width=8, seed=3, scale=0.5)
    states = _games(size, batch=16, plies=4, seed=3)  # many games one move from the end
    for kind in ("jones", "grill"):
        cfg = SearchConfig(kind=kind)
        tree = _regularised_tree(net, params, states, cfg, size, nodes=32)
        m = _batch_q_range(tree)
        assert m > 0.999, m  # a decided position somewhere in the batch
        worst = _minmax_vs_affine(tree, cfg, (-m, m))
        print(f"{kind}: M = {m:.4f}, max |Δπ̄| (affine vs batch min-max) = {worst:.2e}")
        assert worst < 1e-3, (kind, worst)


def test_batch_min_max_departs_from_the_affine_q_hat_when_nothing_is_decided():
    """The other regime, reported rather than asserted: an untrained net from the empty 5×5
    board with 8 nodes, too shallow for any game to end (≥ 9 plies), so M < 1 and Jones's
    normalisation stretches q̂ over [0, 1]. (Jones's trees are deep and narrow, unexpanded cells
    counting as losses: from the empty 4×4 board 32 nodes already reach decided positions.)"""
    size = 5
    net, params = _net(size, width=8, seed=4)
    states = _games(size, batch=16, plies=0)
    cfg = SearchConfig(kind="jones")
    tree = _regularised_tree(net, params, states, cfg, size, nodes=8)
    m = _batch_q_range(tree)
    worst = _minmax_vs_affine(tree, cfg, (-m, m))
    print(f"jones, untrained 5x5 from the empty board: M = {m:.3f}, max |Δπ̄| = {worst:.2e}")
    assert m < 1.0


# ------------------------------------------------------------------------------- golden tree

GOLDEN = ROOT / "tests" / "data" / "golden_tree_jones_b3.json"
GOLDEN_INT = ("node_visits", "children_visits", "children_index", "parents", "action_from_parent")
GOLDEN_FLOAT = ("node_values", "children_values")


def _golden_case(loops: str = "dynamic"):
    """Jones's search, 8 nodes, on two 3×3 games two plies in, tiny fixed params, fixed key."""
    size = 3
    net, params = _net(size, width=4, depth=1, seed=7, scale=0.5)
    states = _games(size, batch=2, plies=2, seed=7)
    cfg = SearchConfig(kind="jones", nodes=8, loops=loops)
    tree = _regularised_tree(net, params, states, cfg, size, nodes=8)
    out = make_search_fn(net.apply, cfg, size)(params, jax.random.key(2), states, explore=True)
    arrays = {name: np.asarray(getattr(tree, name)) for name in GOLDEN_INT + GOLDEN_FLOAT}
    arrays.update(action=np.asarray(out.action), policy=np.asarray(out.policy))
    arrays.update(value=np.asarray(out.value))
    return arrays


@pytest.mark.parametrize("loops", ["dynamic", "static"])
def test_golden_tree(loops):
    """A stored tree (tests/data, JSON): any change to the search's arithmetic, key use or tree
    layout shows here, with either loop form. Regenerate on purpose with
    HEXSCALE_REGEN_GOLDEN=1."""
    got = _golden_case(loops)
    if os.environ.get("HEXSCALE_REGEN_GOLDEN") and loops == "dynamic":
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(json.dumps({k: v.tolist() for k, v in got.items()}) + "\n")
    want = json.loads(GOLDEN.read_text())
    assert set(want) == set(got)
    for name in (*GOLDEN_INT, "action"):
        np.testing.assert_array_equal(got[name], np.array(want[name]), err_msg=name)
    for name in (*GOLDEN_FLOAT, "policy", "value"):
        np.testing.assert_allclose(got[name], np.array(want[name]), atol=1e-5, err_msg=name)


# ----------------------------------------------------------- evaluation noise and search ids


def test_search_id_names_the_settings_but_not_the_node_count():
    assert search_lib.search_id(SearchConfig()) == "jones"
    assert search_lib.search_id(SearchConfig(nodes=512)) == "jones"
    assert search_lib.search_id(SearchConfig(kind="grill")) == "grill"
    assert search_lib.search_id(SearchConfig(kind="grill", c=0.25)) == "grill-c0.25"
    assert search_lib.search_id(SearchConfig(kind="puct", nodes=8)) == "puct"
    assert search_lib.search_id(SearchConfig(kind="gumbel")) == "gumbel"
    assert search_lib.search_id(SearchConfig(kind="jones", test_noise=True)) == "jones"
    assert search_lib.search_id(SearchConfig(kind="jones", test_noise=False)) == "jones-evalnoise0"
    assert search_lib.search_id(SearchConfig(kind="puct", test_noise=True)) == "puct-evalnoise1"
    assert search_lib.search_id(SearchConfig(kind="gumbel", c=3.0)) == "gumbel"  # c unused


def test_evaluation_noise_follows_each_search_s_paper_unless_told():
    assert SearchConfig(kind="jones").evaluation_noise
    assert SearchConfig(kind="grill").evaluation_noise
    assert not SearchConfig(kind="puct").evaluation_noise
    assert not SearchConfig(kind="gumbel").evaluation_noise
    assert not SearchConfig(kind="jones", test_noise=False).evaluation_noise
    assert SearchConfig(kind="puct", test_noise=True).evaluation_noise


def test_network_player_mixes_root_noise_into_evaluation_as_configured():
    """Greedy one-node players on 16 identical empty boards: with Jones's evaluation noise the
    games get independent Dirichlet draws and move differently; with noise off they all agree."""
    size, width, depth = 4, 8, 1
    params = network.init_params(jax.random.key(0), size, width, depth)
    states = _games(size, batch=16, plies=0)
    distinct = {}
    for kind, noise in (("jones", None), ("jones", False), ("puct", None), ("puct", True)):
        cfg = SearchConfig(kind=kind, nodes=1)
        act = players.network_act_fn(size, width, depth, cfg, greedy=True, noise=noise)
        distinct[kind, noise] = len(set(np.asarray(act(params, jax.random.key(1), states))))
    assert distinct == {
        ("jones", None): distinct["jones", None],
        ("jones", False): 1,
        ("puct", None): 1,
        ("puct", True): distinct["puct", True],
    }
    assert distinct["jones", None] > 1 and distinct["puct", True] > 1
