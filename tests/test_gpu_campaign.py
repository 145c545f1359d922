"""scripts/gpu_campaign.py (docs/gpu_campaign.md): its --dry-run writes every stage's JSON line and
brings back at most 8 files, none deeper than two folders, with summary.md among them.

The whole dry run takes about 2 minutes on two idle cores, so it is a slow test; the normal suite
runs S0 and S5 of it (one JAX start) and the campaign's helpers on their own."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "gpu_campaign.py"
MAX_FILES = 8  # what the device brings back from $OUT (/work/.library/device/README.md)
MAX_BYTES = 16 * 2**20


def _campaign():
    spec = importlib.util.spec_from_file_location("gpu_campaign", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["gpu_campaign"] = module  # dataclasses resolve their module
    spec.loader.exec_module(module)
    return module


campaign = _campaign()


def _dry_run(out: Path, *args: str, timeout: float) -> subprocess.CompletedProcess:
    env = dict(os.environ, JAX_PLATFORMS="cpu", OUT=str(out))
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--dry-run", *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def _check_out(out: Path, stages: list[str]) -> list[dict]:
    """The device's limits on what comes back, and one JSON line per stage."""
    files = [p for p in out.rglob("*") if p.is_file()]
    assert len(files) <= MAX_FILES, files
    for p in files:
        rel = p.relative_to(out)
        assert len(rel.parts) <= 3, rel  # $OUT/a/b/file at most
        assert p.stat().st_size <= MAX_BYTES, rel
        assert all(c.isalnum() or c in "._-" for part in rel.parts for c in part), rel
    assert (out / "summary.md").is_file()
    lines = [json.loads(line) for line in (out / "campaign.jsonl").read_text().splitlines()]
    assert [line["stage"] for line in lines] == stages
    for line in lines:
        assert line["dry_run"] is True
        assert {"status", "wall_s", "cap_s", "files"} <= set(line), line
        assert line["wall_s"] <= line["cap_s"] + 12, line  # the cap, plus the kill's grace
    return lines


def test_dry_run_of_s0_and_s5(tmp_path):
    result = _dry_run(tmp_path, "--only", "S0", "S5", timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    s0, s5 = _check_out(tmp_path, ["S0", "S5"])
    assert s0["status"] == "ok" and s0["backend"] == "cpu", s0
    assert {"jax", "flax", "optax", "mctx", "hydra-core"} <= set(s0["versions"])
    assert s0["matmul"]["f32_default"]["flops_per_s"] > 0
    assert s5["status"] == "ok"
    summary = (tmp_path / "summary.md").read_text()
    assert "| S0 |" in summary and "Dry run" in summary


def test_without_a_gpu_the_campaign_stops_after_s0(tmp_path):
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(tmp_path)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2, result.stdout + result.stderr
    lines = [json.loads(line) for line in (tmp_path / "campaign.jsonl").read_text().splitlines()]
    assert [(line["stage"], line["status"]) for line in lines] == [("S0", "no_gpu"), ("S5", "ok")]
    assert "matmul" not in lines[0]  # no GPU-sized matmuls on a CPU
    assert (tmp_path / "summary.md").is_file()


@pytest.mark.slow
def test_dry_run_of_every_stage(tmp_path):
    start = time.monotonic()
    result = _dry_run(tmp_path, timeout=300)
    wall = time.monotonic() - start
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert wall < 230, wall  # caps total 210 s
    lines = {line["stage"]: line for line in _check_out(tmp_path, list(campaign.STAGES))}
    assert lines["S0"]["status"] == "ok" and lines["S5"]["status"] == "ok"
    assert all(lines[s]["status"] in ("ok", "partial") for s in ("S1", "S2", "S3", "S4")), {
        s: (line["status"], line.get("error")) for s, line in lines.items()
    }
    assert {r["variant"] for r in lines["S1"]["rows"]} >= {"static"}
    static = next(r for r in lines["S1"]["rows"] if r["variant"] == "static")
    assert static["samples_per_s"] > 0 and static["while_loops"] > 0
    assert lines["S2"]["snapshots"] and lines["S2"]["last_black_wins"] is not None
    assert lines["S3"]["runs_in_population"] == len(campaign.DRY_PLAN.s3_grid)
    assert lines["S4"]["games_per_s"] > 0
    for stage in ("S1", "S2", "S3", "S4"):
        assert lines[stage]["files"] == [f"{stage}.tar.gz"]
    with tarfile.open(tmp_path / "S3.tar.gz") as tar:
        names = tar.getnames()
    assert any(n.endswith("snapshots/01/params.msgpack") for n in names), names
    assert not any("checkpoint" in n for n in names), names


def test_stages_and_caps():
    assert campaign.STAGES == ("S0", "S1", "S2", "S3", "S4", "S5")
    gpu = sum(c[0] for c in campaign.CAPS.values())
    dry = sum(c[1] for c in campaign.CAPS.values())
    assert 420 <= gpu <= 510, gpu  # about 8 minutes; the device runs a command 10 at most
    assert dry <= 210, dry  # --dry-run in at most 3.5 minutes
    shares = sum(v[3] for v in campaign.GPU_PLAN.s1_variants)
    assert abs(shares - 1) < 1e-9
    names = [v[0] for v in campaign.GPU_PLAN.s1_variants]
    assert names == ["static", "dynamic", "dynamic_cmdbuf"]
    assert "WHILE" in campaign.CMDBUF_FLAG and "CONDITIONAL" in campaign.CMDBUF_FLAG
    assert campaign.GPU_PLAN.s1_shapes[0] == (9, 512, 4, 4096, 64)
    assert campaign.GPU_PLAN.s1_shapes[-1] == (9, 1024, 4, 32768, 64)


@pytest.mark.parametrize("plan", ["GPU_PLAN", "DRY_PLAN"])
def test_every_config_of_the_plan_composes_and_validates(plan, tmp_path):
    """The GPU run cannot be tried here: at least every config it will start is a valid one."""
    import dataclasses

    from pipeline.infra.config import ModelConfig, compose, validate, validate_eval
    from pipeline.infra.jones import TRAIN_NODES

    plan = getattr(campaign, plan)
    cfg = compose(*campaign.s2_train_overrides(plan, tmp_path, 95))
    validate(cfg)
    assert (cfg.board.size, cfg.model.width, cfg.model.depth) == (3, 2, 8)
    assert cfg.train.schedule == "jones"
    if not plan.dry_run:  # Jones's settings
        assert (cfg.train.n_envs, cfg.train.batch_size, cfg.train.rollout_steps) == (
            32768, 32768, 64,
        )  # fmt: skip
        assert cfg.search.kind == "jones" and cfg.search.nodes == TRAIN_NODES
    cfg = compose(*campaign.s3_population_overrides(plan, tmp_path, 40))
    grid = cfg.sweep.boards[plan.s3_board]
    assert sorted(plan.s3_grid) == sorted((w, d) for w in grid.widths for d in grid.depths)
    assert cfg.train.schedule == "jones" and cfg.board.size == plan.s3_board
    for width, depth in plan.s3_grid:
        validate(dataclasses.replace(cfg, model=ModelConfig(width=width, depth=depth)))
    for size, width, depth, envs, nodes in plan.s1_shapes:
        for _, loops, _, _ in plan.s1_variants:
            validate(compose(f"board.size={size}", f"model.width={width}",
                             f"model.depth={depth}", f"search.nodes={nodes}",
                             f"search.loops={loops}", "train=gpu", f"train.n_envs={envs}",
                             f"train.batch_size={envs}",
                             f"train.rollout_steps={plan.s1_rollout_steps}"))  # fmt: skip
    validate_eval(compose(*campaign.s4_eval_overrides(5, tmp_path, plan.s4_games[1], ["a", "b"])))


def test_jones_3x3_wall_clock_is_read_from_the_constants():
    from pipeline.infra.jones import MAX_WIDTH, PERFECT_PLAY_WALL_S

    assert campaign.jones_3x3_wall_s() == PERFECT_PLAY_WALL_S[3]
    assert MAX_WIDTH[3] == 2  # S2 trains 2x8: the widest and deepest net of his 3x3 grid


def test_a_process_past_its_time_is_ended_with_its_group(tmp_path):
    cmd = [sys.executable, "-c", "import subprocess, sys, time; "
           "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
           "print('started', flush=True); time.sleep(60)"]  # fmt: skip
    start = time.monotonic()
    proc = campaign.spawn(cmd, tmp_path / "log", dict(os.environ))
    (res,) = campaign.wait_all([proc], timeout=2)
    assert res["outcome"] == "timeout" and time.monotonic() - start < 15
    assert "started" in (tmp_path / "log").read_text()
    fast = campaign.spawn([sys.executable, "-c", "pass"], tmp_path / "log2", dict(os.environ))
    assert campaign.wait_all([fast], timeout=30)[0] == {
        "outcome": "exit", "rc": 0, "wall_s": pytest.approx(0, abs=10),
    }  # fmt: skip


def test_packing_leaves_out_checkpoints_and_trims_to_the_size_limit(tmp_path, monkeypatch):
    work, out = tmp_path / "work", tmp_path / "out"
    run = work / "S3" / "results" / "runs" / "b5-w1-d1"
    for i in range(4):
        snap = run / "snapshots" / f"{i:02d}"
        snap.mkdir(parents=True)
        (snap / "params.msgpack").write_bytes(os.urandom(3000))
        (snap / "meta.json").write_text("{}")
    (run / "checkpoint.msgpack").write_bytes(os.urandom(5000))
    (run / "metrics.jsonl").write_text("{}\n")
    (work / "S3" / "train.log").write_text("log\n")
    camp = campaign.Campaign(out, work, campaign.DRY_PLAN, sys.executable)
    assert camp.pack("S3", [work / "S3" / "train.log", run]) == ["S3.tar.gz"]
    with tarfile.open(out / "S3.tar.gz") as tar:
        names = tar.getnames()
    assert "S3/train.log" in names and not any("checkpoint" in n for n in names)
    assert sum("params.msgpack" in n for n in names) == 4
    monkeypatch.setattr(campaign, "MAX_PACK_BYTES", 9000)  # four snapshots do not fit, two do
    camp.pack("S3", [run])
    with tarfile.open(out / "S3.tar.gz") as tar:
        names = tar.getnames()
    assert sorted(n.split("/")[-2] for n in names if "params" in n) == ["00", "03"]


def test_solver_check_bisects_to_the_first_perfect_snapshot(tmp_path, monkeypatch):
    import pipeline.evaluate.players as players

    snaps = []
    for i in range(21):
        snap = tmp_path / f"{i:02d}"
        snap.mkdir()
        (snap / "meta.json").write_text(json.dumps({"index": i, "board_size": 3, "width": 2,
                                                    "depth": 8}))  # fmt: skip
        snaps.append(str(snap))
    checked = []

    def fake_check(directory, games):
        checked.append(int(Path(directory).name))
        return 1.0 if int(Path(directory).name) >= 13 else 0.5

    monkeypatch.setattr(players, "black_wins_vs_solver", fake_check)
    rows = tmp_path / "rows.jsonl"
    spec = {"snapshots": snaps, "games": 8, "deadline_unix": time.time() + 60}
    campaign.worker_solver_check(spec, rows)
    got = campaign.read_rows(rows)
    assert checked[0] == 20 and len(checked) <= 7
    assert min(r["index"] for r in got if r["black_wins"] == 1.0) == 13
    assert any(r["index"] == 12 and r["black_wins"] < 1.0 for r in got)


def test_summary_survives_missing_and_failed_stages():
    lines = [
        {"stage": "S0", "status": "no_gpu", "backend": "cpu", "wall_s": 3.0, "cap_s": 30,
         "files": []},
        {"stage": "S1", "status": "partial", "wall_s": 90.0, "cap_s": 190, "files": ["S1.tar.gz"],
         "rows": [{"variant": "static", "width": 512, "depth": 4, "envs": 4096, "nodes": 64,
                   "error": "RESOURCE_EXHAUSTED: out of memory"}]},
        {"stage": "S2", "status": "error", "error": "KeyError: 'x'", "wall_s": 1.0, "cap_s": 150,
         "files": []},
    ]  # fmt: skip
    text = campaign.summarize(lines, total_s=94)
    assert "| S0 |" in text and "no_gpu" in text and "out of memory" in text
    assert "S2 error: `KeyError: 'x'`" in text


def test_played_line_and_metrics_are_parsed(tmp_path):
    log = tmp_path / "eval.log"
    log.write_text("…\nplayed 1,234 games in 2.5 s (493.6 games/s), 9 agents\n")
    assert campaign.parse_played(log) == {
        "games": 1234, "play_wall_s": 2.5, "games_per_s": 493.6, "agents": 9,
    }  # fmt: skip
    run = tmp_path / "runs" / "r"
    run.mkdir(parents=True)
    rows = [
        {"samples": 100, "samples_per_s": 10.0, "node_evals_per_s": 40.0, "train_flops_jones": 1},
        {"samples": 200, "samples_per_s": 50.0, "node_evals_per_s": 200.0, "train_flops_jones": 2},
        {"samples": 300, "samples_per_s": 100.0, "node_evals_per_s": 400.0, "train_flops_jones": 3},
    ]
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    got = campaign.metrics_summary(tmp_path)
    assert got["iterations"] == 3 and got["first_iteration_s"] == 10.0
    assert got["steady_samples_per_s"] == pytest.approx(200 / (2 + 1), rel=1e-3)
