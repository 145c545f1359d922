"""Where each agent was trained: the backend, device kind and jax version a training run
records in every snapshot's meta.json, carried into the agents and Elo tables, read as null for
snapshots and tables written before it was recorded, and a warning where a report's networks
were trained on more than one backend."""

import json

import jax
import numpy as np
import pandas as pd
import pytest
from conftest import TINY_TRAIN, compose_config, fake_snapshot, run_module

import hex_env as he
from agents.players import play_games, random_player
from analysis.fits.synthetic import make_elo_table
from analysis.report import figures
from pipeline.evaluate import elo_table
from pipeline.evaluate import run as ev
from pipeline.evaluate.players import load_player
from pipeline.evaluate.pool import anchor_agents, network_agent
from pipeline.infra import tables
from pipeline.infra.config import AnchorConfig
from pipeline.infra.layout import Layout
from pipeline.infra.provenance import DEVICE_KEYS, device_provenance, snapshot_device
from pipeline.infra.snapshot import load_meta

RUN = "b3-w4-d1-test"
GPU = {"backend": "gpu", "device_kind": "NVIDIA H200", "jax_version": "0.11.2"}
NONE = dict.fromkeys(DEVICE_KEYS)
COLUMNS = dict(zip(DEVICE_KEYS, tables.TRAIN_DEVICE_COLUMNS, strict=True))  # meta → table


def _device_of(row) -> dict:
    """The training device of an agents/Elo table row, by meta.json key, <NA> as None."""
    return {key: (None if pd.isna(row[col]) else row[col]) for key, col in COLUMNS.items()}


def test_device_provenance_reads_this_process():
    got = device_provenance()
    assert tuple(got) == DEVICE_KEYS
    assert got == {
        "backend": jax.default_backend(),
        "device_kind": jax.devices()[0].device_kind,
        "jax_version": jax.__version__,
    }
    assert got["backend"] in ("cpu", "gpu", "tpu")


def test_a_gpu_trained_snapshot_loads_and_plays_on_cpu(tmp_path):
    directory = fake_snapshot(tmp_path, 0, run=RUN, device=GPU)
    meta = load_meta(directory)
    assert snapshot_device(meta) == GPU
    with jax.default_device(jax.devices("cpu")[0]):
        player = load_player(directory, nodes=2)
        final = play_games(player, random_player(), 3, 8, jax.random.key(0))
    assert snapshot_device(player.meta) == GPU
    assert set(np.asarray(final.winner).tolist()) <= {he.BLACK, he.WHITE}  # every game ended

    row = network_agent(directory, meta, 4, greedy=False).row()
    assert _device_of(row) == GPU
    assert all(_device_of(a.row()) == NONE for a in anchor_agents(3, AnchorConfig(eps=[0.3])))


def test_an_old_snapshot_without_the_keys_reads_as_null(tmp_path):
    directory = fake_snapshot(tmp_path, 0, run=RUN)  # meta.json as written before the keys
    meta = load_meta(directory)
    assert not set(DEVICE_KEYS) & set(meta)
    assert snapshot_device(meta) == NONE
    assert _device_of(network_agent(directory, meta, 1, greedy=False).row()) == NONE


def test_an_old_agents_file_without_the_columns_is_still_read_and_merged(tmp_path):
    old_columns = [c for c in tables.AGENT_COLUMNS if c not in tables.TRAIN_DEVICE_COLUMNS]
    directory = fake_snapshot(tmp_path, 0, run=RUN)
    old = network_agent(directory, load_meta(directory), 1, greedy=False).row()
    path = Layout(tmp_path).board(3).agents
    path.parent.mkdir(parents=True)
    tables.write_parquet(path, pd.DataFrame([{c: old[c] for c in old_columns}]))
    assert not set(tables.TRAIN_DEVICE_COLUMNS) & set(pd.read_parquet(path).columns)

    read = tables.read_agents(tmp_path, 3)
    assert list(read.columns) == list(tables.AGENT_COLUMNS)
    assert _device_of(read.iloc[0]) == NONE

    gpu_dir = fake_snapshot(tmp_path, 1, run=RUN, device=GPU)
    new = network_agent(gpu_dir, load_meta(gpu_dir), 1, greedy=False).row()
    merged = tables.merge_agents(tmp_path, 3, pd.DataFrame([new])).set_index("agent")
    assert _device_of(merged.loc[old["agent"]]) == NONE
    assert _device_of(merged.loc[new["agent"]]) == GPU
    assert tables.read_agents(tmp_path, 3).equals(merged.reset_index())


def test_an_evaluation_records_each_agents_training_device(tmp_path):
    """A GPU-trained snapshot and an old one play the anchors on this machine; the agents
    table and both Elo tables carry the GPU one's device, nulls for the old one and anchors."""
    fake_snapshot(tmp_path, 0, run=RUN, device=GPU)
    fake_snapshot(tmp_path, 1, run=RUN)
    cfg = compose_config(
        "board.size=3",
        "eval.games_per_pair=16",
        "eval.reference_nodes=1",
        "eval.node_variants=[]",
        "eval.variant_snapshots=none",
        "eval.anchors.eps=[]",
        "eval.progress=false",
        f"results_dir={tmp_path}",
    )
    with jax.default_device(jax.devices("cpu")[0]):
        summary = ev.evaluate(cfg)
    assert summary["games"] > 0
    gpu_agent, old_agent = (f"{RUN}/{i:02d}@1" for i in range(2))
    agents = tables.read_agents(tmp_path, 3).set_index("agent")
    assert _device_of(agents.loc[gpu_agent]) == GPU
    assert _device_of(agents.loc[old_agent]) == NONE
    anchors = agents[agents["kind"] != "network"]
    assert len(anchors) and all(_device_of(row) == NONE for _, row in anchors.iterrows())

    elo_table.build(tmp_path, 3)
    board = pd.read_parquet(Layout(tmp_path).board(3).elo).set_index("agent")
    combined = pd.read_parquet(Layout(tmp_path).elo).set_index("agent")
    for table in (board, combined):
        assert _device_of(table.loc[gpu_agent]) == GPU
        assert _device_of(table.loc[old_agent]) == NONE
    assert list(combined.columns[-len(COLUMNS) :]) == list(tables.TRAIN_DEVICE_COLUMNS)


def test_a_training_run_records_its_backend_and_jax_version(tmp_path):
    train = (*TINY_TRAIN, "board.size=3", "model.width=4", "train.max_flops=1e5")
    result = run_module("pipeline.train", *train, "run_name=tiny", f"results_dir={tmp_path}")
    assert result.returncode == 0, result.stderr[-2000:]
    snapshots = sorted(Layout(tmp_path).run("tiny").snapshots.iterdir())
    assert snapshots
    for directory in snapshots:  # run_module trains with JAX_PLATFORMS=cpu
        meta = json.loads((directory / "meta.json").read_text())
        assert snapshot_device(meta) == {
            "backend": "cpu",
            "device_kind": jax.devices("cpu")[0].device_kind,
            "jax_version": jax.__version__,
        }


def _report_table(backends: list | None) -> pd.DataFrame:
    table = make_elo_table(1, board_sizes=(5,), widths=(4, 16), depths=(1,), n_snapshots=5,
                           test_nodes=(1, 16))  # fmt: skip
    if backends is not None:
        table["train_backend"] = pd.array([backends[i % len(backends)] for i in range(len(table))],
                                          dtype="string")  # fmt: skip
    return table


@pytest.mark.parametrize(
    "backends, warned",
    [(None, False), (["cpu"], False), (["gpu", None], False), (["gpu", "cpu", None], True)],
)
def test_a_report_warns_once_when_its_networks_were_trained_on_several_backends(
    backends, warned, capsys
):
    table = _report_table(backends)
    figures._warn_mixed_backends(table)
    lines = capsys.readouterr().err.splitlines()
    if not warned:
        assert lines == []
        return
    counts = table["train_backend"].value_counts()
    assert lines == [
        "warning: the Elo table's networks were trained on more than one backend "
        f"(agents per backend: cpu {counts['cpu']}, gpu {counts['gpu']}); the fits mix them"
    ]


def test_the_backend_warning_leaves_the_report_unchanged(tmp_path, capsys):
    for name, backends in (("plain", None), ("mixed", ["gpu", "cpu"])):
        figures.write_all(
            _report_table(backends), tmp_path / name, nodes=16, n_resamples=0, n_levels=4
        )
    warnings = [line for line in capsys.readouterr().err.splitlines() if "backend" in line]
    assert len(warnings) == 1 and "cpu" in warnings[0] and "gpu" in warnings[0]
    for file in ("summary.json", "summary.md"):
        assert (tmp_path / "plain" / file).read_text() == (tmp_path / "mixed" / file).read_text()
