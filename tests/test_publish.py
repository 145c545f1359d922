"""pipeline.publish: what a finished reproduction puts in the repository."""

import json
from pathlib import Path

import pandas as pd
import pytest
from conftest import compose_config, fake_snapshot

from pipeline.evaluate.players import black_wins_vs_solver, load_player
from pipeline.infra.layout import Layout
from pipeline.infra.snapshot import load_snapshot
from pipeline.publish import check_publishable, publish, top_agents


def _elo_row(run, snapshot, nodes, elo, suffix="", size=3):
    return {
        "agent": f"{run}/{snapshot:02d}@{nodes}{suffix}", "run": run, "snapshot": snapshot,
        "board_size": size, "test_nodes": nodes, "elo": elo, "elo_se": 20.0, "kind": "network",
        "anchor": "perfect=0", "train_flops_jones": 1e8 * 2**snapshot,
    }  # fmt: skip


def _results(root):
    """Two runs' snapshots, an Elo table whose best plain 4-node agent is b3-w4-d1-b/01, beaten
    only by agents the published agent must not be (another node count, a test-search change,
    an argmax variant, an anchor), and a figures directory."""
    for run in ("b3-w4-d1-a", "b3-w4-d1-b"):
        for index in (0, 1):
            fake_snapshot(root, index, run=run)
    rows = [
        _elo_row("b3-w4-d1-a", 0, 4, -300.0),
        _elo_row("b3-w4-d1-a", 1, 4, -250.0),
        _elo_row("b3-w4-d1-b", 1, 4, -120.0),
        _elo_row("b3-w4-d1-b", 0, 16, -50.0),
        _elo_row("b3-w4-d1-a", 1, 4, -40.0, suffix="/puct"),
        _elo_row("b3-w4-d1-a", 1, 4, -30.0, suffix="/argmax"),
        dict(_elo_row("x", 0, 4, 0.0), agent="perfect", kind="perfect"),
    ]
    layout = Layout(root)
    pd.DataFrame(rows).to_parquet(layout.elo)
    layout.figures.mkdir(parents=True)
    (layout.figures / "fig3.png").write_bytes(b"png")
    (layout.figures / "summary.json").write_text("{}")
    (layout.figures / "summary.md").write_text("# summary\n")
    (layout.root / "reproduction.json").write_text('{"wall_s": 12.0}')


def test_publishes_figures_provenance_and_the_top_plain_agent_with_its_solver_check(tmp_path):
    results, out = tmp_path / "results", tmp_path / "docs"
    _results(results)
    job = compose_config(f"results_dir={results}", f"figures.publish_dir={out}", "search.nodes=4")
    best = top_agents(pd.read_parquet(Layout(results).elo), 4)
    assert best["agent"].tolist() == ["b3-w4-d1-b/01@4"]

    agents = publish(job, "config: here\n")
    for name in ("fig3.png", "summary.json", "summary.md", "reproduction.json", "config.yaml"):
        assert (out / name).exists(), name
    assert json.loads((out / "agents.json").read_text()) == agents
    b3 = agents["b3"]
    assert b3["agent"] == "b3-w4-d1-b/01@4" and b3["elo"] == -120.0
    assert 0.0 <= b3["black_wins_vs_solver"] <= 1.0  # a random net: any rate, but measured
    player = load_player(out / "agents" / "b3")  # the shipped snapshot loads and plays
    assert player.meta["run_name"] == "b3-w4-d1-b" and player.meta["index"] == 1


def test_refused_without_a_destination_or_a_finished_reproduction(tmp_path):
    with pytest.raises(ValueError, match="publish_dir"):
        check_publishable(compose_config(f"results_dir={tmp_path}"))
    job = compose_config(f"results_dir={tmp_path}", f"figures.publish_dir={tmp_path / 'd'}")
    with pytest.raises(ValueError, match="reproduce first"):
        publish(job, "")
    assert not (tmp_path / "d").exists()


@pytest.mark.parametrize("nodes", [4, 16])
def test_top_agent_follows_the_reference_node_count(tmp_path, nodes):
    _results(tmp_path)
    best = top_agents(pd.read_parquet(Layout(tmp_path).elo), nodes)
    assert best["agent"].tolist() == [{4: "b3-w4-d1-b/01@4", 16: "b3-w4-d1-b/00@16"}[nodes]]


SHIPPED = Path(__file__).resolve().parents[1] / "docs" / "results" / "cpu"


def test_shipped_agents_load_and_repeat_their_solver_check():
    """The top agents the cpu reproduction ships (docs/results/cpu/agents) load as players and
    score, as black against the exact solver, what agents.json recorded for them (256 games
    there; the same seed and protocol here: the same games, up to float rounding on another
    CPU flipping a near-tied argmax now and then)."""
    recorded = json.loads((SHIPPED / "agents.json").read_text())
    for board, row in recorded.items():
        directory = SHIPPED / "agents" / board
        assert load_player(directory, nodes=row["nodes"]).meta["board_size"] == int(board[1:])
        rate = black_wins_vs_solver(directory, 256, row["nodes"])
        assert rate == pytest.approx(row["black_wins_vs_solver"], abs=0.05), (board, rate)


def test_the_committed_5x5_node_scaling_snapshots_are_those_its_rows_were_measured_on():
    """docs/results/node_scaling_b5_solver.json's rows and the three snapshots committed beside
    it: the same run, snapshot indices and training FLOPs, and each snapshot loads."""
    results = Path(__file__).resolve().parents[1] / "docs" / "results"
    rows = json.loads((results / "node_scaling_b5_solver.json").read_text())["rows"]
    flops = {r["snapshot"]: r["train_flops_jones"] for r in rows if r["board"] == 5}
    run = results / "node_scaling_snapshots" / "b5-w16-d1-jones64-seed0"
    for index, recorded in sorted(flops.items()):
        params, meta = load_snapshot(run / f"{index:02d}")
        assert (meta["run_name"], meta["index"]) == (run.name, index)
        assert meta["train_flops_jones"] == recorded and params
    assert sorted(flops) == [1, 4, 7]
