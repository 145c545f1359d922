"""Tests of pipeline.evaluate (tournaments), pool, match engine, results files and Elo tables.

Fast tests use randomly initialised 3×3 snapshots: with the env as the search model, even a
random network gets stronger with more nodes (the tree sees exact wins), so node variants must
rise in Elo there too. The slow test trains a small run and checks the same on trained agents.
"""

import fcntl
import os
import shutil
from pathlib import Path

import jax
import numpy as np
import pandas as pd
import pytest
from conftest import compose_config, fake_snapshot, run_module

from agents.network import forward_flops
from agents.players import eps_perfect_player
from pipeline.evaluate import elo_table
from pipeline.evaluate import run as ev
from pipeline.evaluate.match_engine import Batch, MatchEngine, make_batches
from pipeline.evaluate.pool import (
    AgentSpec,
    anchor_agents,
    architecture_capacity,
    build_pool,
    discover_snapshots,
    missing_games,
    network_agent,
)
from pipeline.infra import tables as results
from pipeline.infra.config import AnchorConfig, BatchConfig, Config, validate_eval
from pipeline.infra.layout import Layout
from pipeline.infra.snapshot import load_meta

RUN = "b3-w4-d1-test"
SIZE, WIDTH, DEPTH = 3, 4, 1
KEY = jax.random.PRNGKey(0)
BASE = (
    "board.size=3",
    "eval.games_per_pair=64",
    "eval.reference_nodes=1",  # no search: compiles fast; the variant searches
    "eval.node_variants=[16]",
    "eval.variant_snapshots=last",
    "eval.variant_games_per_pair=512",
    "eval.anchors.eps=[0.3]",
    "eval.progress=false",
    "eval.batch.max_games_per_call=1024",
    "eval.batch.max_pairs_per_call=16",
)


def _snapshot(root: Path, index: int, **kwargs) -> None:
    fake_snapshot(root, index, run=kwargs.pop("run", RUN), **kwargs)


def _config(root: Path, *overrides: str) -> Config:
    return compose_config(*BASE, f"results_dir={root}", *overrides)


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    """Three snapshots + three anchors in a round robin, variants of the last snapshot."""
    root = tmp_path_factory.mktemp("results")
    for index in range(3):
        _snapshot(root, index)
    summary = ev.evaluate(_config(root))
    return root, summary


def _played(root: Path) -> dict:
    return results.games_played(results.read_matches(root, SIZE))


def _ranges(need: dict, played: dict | None = None) -> dict:
    """Each pair's `need` games as one range of game numbers, after its `played` ones."""
    return {pair: [((played or {}).get(pair, 0), n)] for pair, n in need.items()}


def test_eps_perfect_anchors_bracket_the_solver(evaluated):
    """Through the match engine (after the fixture, to reuse its compiled shapes): a perfect
    black never loses; a perfect white beats an ε-perfect black when it strays, more often
    for larger ε."""
    anchors = {a.agent: a for a in anchor_agents(SIZE, AnchorConfig(eps=[0.1, 0.6]))}
    batch = Batch(
        black=[anchors["perfect"], anchors["eps-perfect-0.1"], anchors["eps-perfect-0.6"]],
        white=[anchors["random"], anchors["perfect"], anchors["perfect"]],
        games=[32, 32, 32],
        game_start=[0, 0, 0],
        games_per_pairing=32,
        pairs_on_device=16,  # the shape of the fixture's anchor-vs-anchor games
    )
    black_wins = MatchEngine(SIZE, capacity=16).play(batch, jax.random.PRNGKey(0))
    assert black_wins[0] == 32 and 32 > black_wins[1] > black_wins[2]
    with pytest.raises(ValueError, match="only eps=1"):
        eps_perfect_player(6, 0.5)


def test_plan_is_target_minus_played_and_batches_cover_it():
    targets = {("a", "b"): 10, ("b", "a"): 10, ("a", "c"): 3}
    assert missing_games(targets, {("a", "b"): 10, ("a", "c"): 1}) == {
        ("b", "a"): 10,
        ("a", "c"): 2,
    }
    agents = {
        "a": AgentSpec("a", "random", 3, eps=1.0),
        "b": AgentSpec("b", "perfect", 3, eps=0.0),
        "c": AgentSpec("c", "eps_perfect", 3, eps=0.5),
    }
    batches = make_batches(_ranges(targets), agents, BatchConfig(max_games_per_call=16))
    covered: dict = {}
    for batch in batches:
        assert len(batch.games) * batch.games_per_pairing <= 16
        assert max(batch.games) <= batch.games_per_pairing
        for b, w, n in zip(batch.black, batch.white, batch.games, strict=True):
            covered[(b.agent, w.agent)] = covered.get((b.agent, w.agent), 0) + n
    assert covered == targets


def test_a_small_group_is_padded_to_a_power_of_two_of_its_size_not_to_a_full_call():
    agents = {f"e{i}": AgentSpec(f"e{i}", "eps_perfect", 3, eps=i / 10) for i in range(1, 8)}
    config = BatchConfig(max_games_per_call=4096, max_pairs_per_call=32, pad_calls="pow2")

    def shapes(pairs):
        need = {pair: 64 for pair in pairs}
        return [(len(b.games), b.pairs_on_device) for b in make_batches(_ranges(need), agents,
                                                                       config)]  # fmt: skip

    assert shapes([("e1", "e2"), ("e2", "e1"), ("e1", "e3")]) == [(3, 4)]
    assert shapes([("e1", "e2")]) == [(1, 1)]
    every = [(b, w) for b in agents for w in agents if b != w]  # 42 pairings: 32 + 10
    assert shapes(every) == [(32, 32), (10, 32)]
    config = BatchConfig(max_games_per_call=4096, max_pairs_per_call=32, pad_calls="full")
    assert shapes([("e1", "e2")]) == [(1, 32)]  # one shape for every group


def test_games_do_not_depend_on_how_the_plan_is_cut_into_calls():
    """Each ordered pair's games follow from (black, white, games already recorded): cutting
    the same plan into calls of 2 or of 16 pairings plays the very same games."""
    anchors = {a.agent: a for a in anchor_agents(SIZE, AnchorConfig(eps=[0.2, 0.5]))}
    need = {(b, w): 24 for b in anchors for w in anchors if b != w}
    played = {pair: 8 for pair in need}  # the stream continues after recorded games
    engine = MatchEngine(SIZE, capacity=16)

    def play(pairs_per_call):
        config = BatchConfig(max_games_per_call=512, max_pairs_per_call=pairs_per_call)
        wins = {}
        for batch in make_batches(_ranges(need, played), anchors, config):
            result = engine.play(batch, jax.random.PRNGKey(3))
            for b, w, n in zip(batch.black, batch.white, result, strict=True):
                wins[(b.agent, w.agent)] = wins.get((b.agent, w.agent), 0) + int(n)
        return wins

    small, large = play(2), play(16)
    assert small == large and set(small) == set(need)
    assert 0 < sum(small.values()) < sum(need.values())  # real games, not a constant


def test_network_games_do_not_depend_on_the_pairings_they_share_a_call_with(tmp_path):
    """One search runs over every game of a call, each game with its pairing's net and its own
    random stream: one pairing per call or all of them in one call plays the very same games."""
    agents = {}
    for index in range(3):
        directory = fake_snapshot(tmp_path, index, run="b3-w4-d1-t", width=4, depth=1)
        spec = network_agent(directory, load_meta(directory), 4, greedy=False)
        agents[spec.agent] = spec
    need = {(b, w): 16 for b in agents for w in agents if b != w}
    engine = MatchEngine(SIZE)

    def play(pairs_per_call):
        config = BatchConfig(max_pairs_per_call=pairs_per_call)
        wins = {}
        for batch in make_batches(_ranges(need), agents, config):
            for x, y, n in zip(batch.black, batch.white, engine.play(batch, KEY), strict=True):
                wins[(x.agent, y.agent)] = int(n)
        return wins

    alone, together = play(1), play(8)
    assert alone == together and set(alone) == set(need)
    assert len(set(alone.values())) > 1  # the nets differ, and each pairing plays its own


def test_nets_of_two_shapes_share_one_program_and_play_the_same_games(tmp_path):
    """Zero-padding both nets to the pool's widest and deepest (4 × 2) compiles one network
    program instead of two, and the padded nets play the games they play unpadded."""
    agents = {}
    for index, (width, depth) in enumerate([(4, 1), (2, 2)]):
        directory = fake_snapshot(tmp_path, index, run=f"b3-w{width}-d{depth}-t", width=width,
                                  depth=depth)  # fmt: skip
        spec = network_agent(directory, load_meta(directory), 1, greedy=False)
        agents[spec.agent] = spec
    a, b = agents
    need = {(a, b): 64, (b, a): 64}
    assert architecture_capacity(agents.values()) == (4, 2)

    def play(arch):
        engine = MatchEngine(SIZE, capacity=1, arch=arch)
        wins = {}
        for batch in make_batches(_ranges(need), agents, BatchConfig(), arch=arch):
            for x, y, n in zip(batch.black, batch.white, engine.play(batch, KEY), strict=True):
                wins[(x.agent, y.agent)] = int(n)
        return wins, engine.compiled_move_fns

    (own, own_programs), (shared, shared_programs) = play(None), play((4, 2))
    assert (own_programs, shared_programs) == (2, 1)
    assert own == shared and 0 < sum(own.values()) < 128


def test_tree_capacity_does_not_change_the_games(tmp_path):
    """A 4-node search plays the same games in its own tight tree (the default: capacity 4)
    as in a 64-node tree, so sizing trees per call changes speed only."""
    directory = fake_snapshot(tmp_path, 0, run="b3-w4-d1-t", width=4, depth=1)
    specs = [network_agent(directory, load_meta(directory), n, greedy=False) for n in (4, 2)]
    agents = {s.agent: s for s in specs}
    need = {(specs[0].agent, specs[1].agent): 32, (specs[1].agent, specs[0].agent): 32}

    def play(capacity):
        engine = MatchEngine(SIZE, capacity=capacity)
        batches = make_batches(_ranges(need), agents, BatchConfig())
        return [engine.play(batch, KEY).tolist() for batch in batches]

    tight, roomy = play(None), play(64)
    assert tight == roomy and 0 < sum(map(sum, tight)) < 64


def test_round_robin_writes_matches_agents_and_elo(evaluated):
    root, summary = evaluated
    matches = pd.read_parquet(Layout(root).board(SIZE).matches)
    assert tuple(matches.columns) == results.MATCH_COLUMNS
    assert (matches["games"] == matches["black_wins"] + matches["white_wins"]).all()
    played = _played(root)
    pool = [f"{RUN}/{i:02d}@1" for i in range(3)] + ["perfect", "eps-perfect-0.3", "random"]
    family = [f"{RUN}/02@{n}" for n in (1, 16)]
    expected = {(a, b): 32 for a in pool for b in pool if a != b}
    expected |= {(a, b): 256 for a in family for b in family if a != b}
    assert played == expected
    assert summary["games"] == sum(expected.values())
    perfect_black = matches[matches["black"] == "perfect"]
    assert (perfect_black["white_wins"] == 0).all()  # no swap: a perfect black never loses

    agents = pd.read_parquet(Layout(root).board(SIZE).agents)
    assert set(agents["agent"]) == set(pool) | set(family)
    net = agents.set_index("agent").loc[f"{RUN}/02@16"]
    assert net["kind"] == "network" and net["test_nodes"] == 16 and net["snapshot"] == 2
    assert net["test_flops_jones"] == 16 * forward_flops(SIZE, WIDTH, DEPTH, "jones")
    assert net["test_flops_standard"] == 16 * forward_flops(SIZE, WIDTH, DEPTH, "standard")
    assert set(agents["kind"]) == {"network", "perfect", "eps_perfect", "random"}

    table = elo_table.build(root, SIZE)
    board = pd.read_parquet(Layout(root).board(SIZE).elo)
    assert list(board.columns[: len(results.ELO_TABLE_COLUMNS)]) == list(results.ELO_TABLE_COLUMNS)
    assert len(board) == len(table) == len(pool) + 1
    ratings = board.set_index("agent")
    assert (board["anchor"] == "perfect=0").all() and ratings.loc["perfect", "elo"] == 0.0
    assert ratings.loc["random", "elo"] < ratings.loc["eps-perfect-0.3", "elo"] < 0
    combined = pd.read_parquet(root / "elo.parquet")  # what analysis.report.figures reads
    assert set(combined["kind"]) == {"network"} and len(combined) == 4
    assert combined["test_nodes"].dtype == np.int64 and combined["elo_se"].gt(0).all()
    cov = results.read_covariances(root)[SIZE]  # the same fit's covariance, every agent
    assert list(cov.index) == list(cov.columns) and set(cov.index) == set(board["agent"])
    se = np.sqrt(np.diag(cov.loc[board["agent"], board["agent"]].to_numpy()))
    np.testing.assert_allclose(se, board["elo_se"], rtol=1e-9, atol=1e-9)


def test_node_variants_rise_with_node_count(evaluated):
    """Random-param snapshot: search over exact game states makes 16 nodes beat 1 node (the
    slow test checks 1 < 8 < 64 on a trained run)."""
    root, _ = evaluated
    elo_table.build(root, SIZE)
    ratings = pd.read_parquet(Layout(root).board(SIZE).elo).set_index("agent")
    low, high = (ratings.loc[f"{RUN}/02@{n}"] for n in (1, 16))
    assert high["elo"] - low["elo"] > 2 * np.hypot(low["elo_se"], high["elo_se"])
    assert high["elo"] > ratings.loc[f"{RUN}/01@1", "elo"]


def test_rerun_plays_only_missing_games(evaluated, tmp_path):
    root = tmp_path / "results"
    shutil.copytree(evaluated[0], root)
    before = _played(root)
    again = ev.evaluate(_config(root))
    assert again["games"] == 0 and _played(root) == before

    _snapshot(root, 3)  # the pool grows by one snapshot (and "last" moves to it)
    rows_before = len(results.read_matches(root, SIZE))
    grown = ev.evaluate(_config(root))
    after = _played(root)
    assert {p: n for p, n in after.items() if p in before} == before  # old pairs untouched
    new_pairs = set(after) - set(before)
    assert all(f"{RUN}/03@" in b or f"{RUN}/03@" in w for b, w in new_pairs)
    assert len(new_pairs) == 2 * 6 + 2  # new snapshot vs the six others, both colours; variants
    assert grown["games"] == 32 * 12 + 256 * 2
    new_rows = results.read_matches(root, SIZE).iloc[rows_before:]
    assert set(map(tuple, new_rows[["black", "white"]].to_numpy())) == new_pairs


def test_writes_are_atomic_locked_and_parquet(tmp_path, monkeypatch):
    path = tmp_path / "eval" / "b3" / "matches.parquet"
    rows = pd.DataFrame(
        {"board_size": [3], "black": ["x"], "white": ["y"], "games": [2], "black_wins": [1],
         "white_wins": [1], "black_nodes": [4], "white_nodes": [None]}
    )  # fmt: skip
    results.append_matches(tmp_path, 3, rows)
    assert path.read_bytes()[:4] == b"PAR1"  # parquet, not a pickle

    def crash(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        results.append_matches(tmp_path, 3, rows)
    monkeypatch.undo()
    assert len(results.read_matches(tmp_path, 3)) == 1  # the old file survived intact
    assert sorted(p.name for p in path.parent.iterdir()) == [".lock", "matches.parquet"]

    with results.locked(path.parent):
        with open(path.parent / ".lock", "a+b") as other:  # a second open file description
            with pytest.raises(BlockingIOError):
                fcntl.flock(other.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)


def test_validate_rejects_bad_values_before_compute(tmp_path):
    with pytest.raises(ValueError, match="games_per_pair must be even"):
        validate_eval(_config(tmp_path, "eval.games_per_pair=3"))
    with pytest.raises(ValueError, match="variant_snapshots"):
        validate_eval(_config(tmp_path, "eval.variant_snapshots=first"))
    with pytest.raises(ValueError, match="eval.se_scope must be one of"):
        validate_eval(_config(tmp_path, "eval.se_scope=variants"))
    with pytest.raises(ValueError, match="eval.elo_pseudo_games must be > 0"):
        validate_eval(_config(tmp_path, "eval.elo_pseudo_games=0"))
    with pytest.raises(ValueError, match="no board-3 snapshots"):
        ev.evaluate(_config(tmp_path))


def _cli(*args: str):
    return run_module("pipeline.evaluate", *args)


def test_hydra_entry_point(evaluated, tmp_path):
    bad = _cli(f"results_dir={tmp_path}", "board.size=3", "eval.games_per_pair=3")
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == [
        "config error: eval.games_per_pair must be even and >= 2 (half per colour), got 3"
    ]
    root = tmp_path / "results"
    shutil.copytree(evaluated[0], root)
    # everything is played already: the CLI plans nothing, then fits and prints the Elo table
    ok = _cli(*BASE, f"results_dir={root}")
    assert ok.returncode == 0, ok.stderr
    assert "played 0 games" in ok.stdout
    assert "Elo table, board 3x3 (perfect=0; 7 agents)" in ok.stdout
    assert (root / "elo.parquet").exists()


def test_active_pairing_plays_suggested_pairs(tmp_path):
    for index in range(4):
        _snapshot(tmp_path, index)
    cfg = _config(
        tmp_path,
        "eval.active=true",
        "eval.variant_snapshots=none",
        "eval.anchors.eps=[]",
        "eval.anchors.random=false",
        "eval.se_target=1.0",  # unreachable: stops after max_rounds
        "eval.active_cfg.initial_neighbours=1",
        "eval.active_cfg.pairs_per_round=3",
        "eval.active_cfg.games_per_round=64",  # 32 games per colour, the fixture's shapes
        "eval.active_cfg.max_rounds=1",
    )
    summary = ev.evaluate(cfg)
    played = _played(tmp_path)
    ring = 5 * 2 * 32  # five agents on a ring, both colours, games_per_round / 2 each
    assert summary["active_rounds"] == 1 and summary["max_se"] > 1.0
    assert sum(played.values()) == ring + 3 * 2 * 32
    suggestion = (Layout(tmp_path).board(SIZE).suggest).read_text()
    assert '"pairs"' in suggestion


def test_se_scope_all_keeps_pairing_while_a_variant_is_short(evaluated, tmp_path):
    root = tmp_path / "results"
    shutil.copytree(evaluated[0], root)
    pool_only = elo_table.suggest(root, SIZE, 50, 1)
    # A variant's SE relative to the anchor includes its snapshot's: above the pool's largest.
    assert pool_only.max_se_all > pool_only.max_se
    target = pool_only.max_se + 1e-6  # every pool rating is within it; the variant is not
    assert elo_table.suggest(root, SIZE, 50, 1, se_target=target).pairs == pool_only.pairs
    scoped = elo_table.suggest(root, SIZE, 3, 1, se_target=target, scope="all")
    assert len(scoped.pairs) == 3
    done = elo_table.suggest(root, SIZE, 3, 1, se_target=scoped.max_se_all + 1, scope="all")
    assert done.pairs == []


def test_suggest_among_keeps_to_one_evaluations_agents(evaluated, tmp_path):
    """Agents of another evaluation sharing the results directory (another test-time search)
    are neither paired nor waited for: here the node variant and one snapshot are left out."""
    root = tmp_path / "results"
    shutil.copytree(evaluated[0], root)
    variant, left_out = f"{RUN}/02@16", f"{RUN}/00@1"
    ids = set(results.read_agents(root, SIZE)["agent"])
    assert {variant, left_out} <= ids
    target = elo_table.suggest(root, SIZE, 50, 1).max_se + 1e-6  # only the variant is short
    assert elo_table.suggest(root, SIZE, 3, 1, se_target=target, scope="all").pairs
    own = ids - {variant, left_out}
    kept = elo_table.suggest(root, SIZE, 50, 1, se_target=target, scope="all", among=own)
    assert kept.pairs == [] and kept.max_se_all == kept.max_se < target
    jones = elo_table.suggest(root, SIZE, 50, 1, among=own)
    assert jones.pairs and all(a in own and b in own for a, b in jones.pairs)


@pytest.mark.slow
def test_trained_agent_node_variants_rise(tmp_path):
    """A small trained 3×3 run (about a minute on CPU): its last snapshot gains Elo with
    node count (1 < 8 < 64), as on Jones's curves."""
    from pipeline.train.loop import run

    cfg = compose_config(
        f"results_dir={tmp_path}", "model.width=16", "model.depth=2", "search.nodes=64",
        "train.min_flops=1e8", "train.max_flops=3e9", "train.n_snapshots=2", "train.progress=false",
    )  # fmt: skip
    run(cfg)
    job = _config(
        tmp_path,
        "eval.reference_nodes=64",
        "eval.node_variants=[1,8]",
        "eval.variant_games_per_pair=256",
        "eval.batch.max_games_per_call=4096",
        "eval.batch.max_pairs_per_call=256",
    )
    ev.evaluate(job)
    elo_table.build(tmp_path, SIZE)
    ratings = pd.read_parquet(Layout(tmp_path).board(SIZE).elo).set_index("agent")
    last = max(int(a.split("/")[1][:2]) for a in ratings.index if a.startswith(cfg.run_name))
    elo = [ratings.loc[f"{cfg.run_name}/{last:02d}@{n}", "elo"] for n in (1, 8, 64)]
    assert elo[0] < elo[1] < elo[2]


def test_pool_ids_variants_and_argmax_switch(tmp_path):
    for index in (4, 7):
        _snapshot(tmp_path, index)
    snapshots = discover_snapshots(tmp_path, SIZE)
    cfg = _config(
        tmp_path, "eval.greedy=true", "eval.variant_snapshots='7'", "eval.node_variants=[1,2]"
    )
    pool = build_pool(cfg, snapshots)
    assert pool.reference[:2] == [f"{RUN}/04@1/argmax", f"{RUN}/07@1/argmax"]
    assert {a for a in pool.agents if a.startswith(f"{RUN}/07@2")} == {f"{RUN}/07@2/argmax"}
    assert not any(a.startswith(f"{RUN}/04@2") for a in pool.agents)
    sampled = build_pool(_config(tmp_path), snapshots).agents[f"{RUN}/04@1"]
    assert sampled.compile_key() != pool.agents[f"{RUN}/04@1/argmax"].compile_key()
    assert discover_snapshots(tmp_path, 4) == []


def test_spread_variant_snapshots_pick_early_middle_and_last_of_each_run(tmp_path):
    short = "b3-w4-d1-short"
    for index in range(12):  # 0…11: spread:3 → round(11/3), round(22/3), 11
        _snapshot(tmp_path, index)
    for index in range(6):  # a run stopped early (its sample cap): 0…5 → 2, 3, 5
        _snapshot(tmp_path, index, run=short)
    cfg = _config(tmp_path, "eval.variant_snapshots=spread:3", "eval.node_variants=[2]")
    pool = build_pool(cfg, discover_snapshots(tmp_path, SIZE))
    varied = {tuple(a.split("@")[0].split("/")) for a in pool.agents if "@2" in a}
    want = {(RUN, f"{i:02d}") for i in (4, 7, 11)} | {(short, f"{i:02d}") for i in (2, 3, 5)}
    assert varied == want
    with pytest.raises(ValueError, match="spread:N"):
        validate_eval(_config(tmp_path, "eval.variant_snapshots=spread:0"))


def test_calls_are_sized_by_backend_unless_set(monkeypatch):
    from pipeline.evaluate import match_engine

    assert match_engine.games_per_call(BatchConfig()) == 4096  # this CPU
    assert match_engine.games_per_call(BatchConfig(max_games_per_call=64)) == 64
    monkeypatch.setattr(match_engine.jax, "default_backend", lambda: "gpu")
    assert match_engine.games_per_call(BatchConfig()) == 32768


def test_playing_every_ply_without_looking_gives_the_same_games(tmp_path):
    """Off CPU the engine dispatches every ply without waiting to see whether the games are
    over: finished games stay as they are, so the results equal the early-stopping ones."""
    directory = fake_snapshot(tmp_path, 0, run="b3-w4-d1-t", width=4, depth=1)
    specs = [network_agent(directory, load_meta(directory), n, greedy=False) for n in (4, 2)]
    agents = {s.agent: s for s in specs}
    need = {(specs[0].agent, specs[1].agent): 16, (specs[1].agent, specs[0].agent): 16}

    def play(stop_early):
        engine = MatchEngine(SIZE)
        engine.stop_early = stop_early
        batches = make_batches(_ranges(need), agents, BatchConfig())
        return [engine.play(batch, KEY).tolist() for batch in batches]

    early, every_ply = play(True), play(False)
    assert early == every_ply and 0 < sum(map(sum, early)) < 32


def test_the_solver_check_plays_the_resisting_anchor_as_white(tmp_path):
    """The fixed check's white is the evaluation's perfect anchor, which once lost leaves black
    the fewest winning replies: a weak black wins fewer games against it than against the
    solver that moves at random once lost (the check as first published)."""
    from pipeline.evaluate.players import black_wins_vs_solver

    snap = fake_snapshot(tmp_path, 0, size=3, width=4, depth=1)
    resisting = black_wins_vs_solver(snap, games=512, nodes=4)
    uniform = black_wins_vs_solver(snap, games=512, nodes=4, resisting=False)
    assert 0.0 <= resisting < uniform, (resisting, uniform)
