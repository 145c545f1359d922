"""`python -m pipeline.plan`: a preset's training cost on this host, before anything runs."""

from __future__ import annotations

import re

from conftest import compose_config, run_module

from pipeline.plan import run_samples


def test_a_run_trains_to_its_last_savepoint_or_its_cap_in_whole_calls():
    # 3×3, 4×1: 146 weights + biases × 4 nodes = 584 Jones FLOPs per sample; 64 envs × 8 moves
    # = 512 samples per call
    tiny = ("+experiment=tiny", "model.width=4", "model.depth=1")
    assert run_samples(compose_config(*tiny)) == 34 * 512  # 1e7 / 584 = 17,123.3 → 34 calls
    assert run_samples(compose_config(*tiny, "train.max_samples=5000")) == 10 * 512


def test_the_command_prints_one_row_per_architecture_and_the_total(tmp_path):
    grid = "++sweep.boards={3:{widths:[4,8],depths:[1],seeds:{8:[0,1]}}}"  # width 8: two seeds
    out = run_module("pipeline.plan", "+experiment=tiny", grid, "sweep.plan_calls=1",
                     f"results_dir={tmp_path}")  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    rows = re.findall(r"^\| 3 \| (\d+)×1 \| (\d) \| ([\d,]+) \| \d+ \| ([\d,]+) \| ([\d.e+-]+) \|$",
                      out.stdout, re.M)  # fmt: skip
    assert [r[:2] for r in rows] == [("4", "1"), ("8", "2")], out.stdout
    assert all(float(r[4]) > 0 and int(r[3].replace(",", "")) > 0 for r in rows)
    assert "total: 3 runs" in out.stdout
    assert not any(tmp_path.iterdir())  # nothing written
    bad = run_module("pipeline.plan", "sweep.plan_calls=1")
    assert bad.returncode == 2 and "no sweep.boards" in bad.stderr
