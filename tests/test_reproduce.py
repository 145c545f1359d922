"""The one-command reproduction, end to end (CI-sized preset; the smoke preset is slow)."""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
FIGURES = ("fig3_elo_vs_compute", "fig4_contours", "fig5_spans", "fig13_span_crosses",
           "fig14_pareto_vs_contour", "jones_frontier")  # fmt: skip


def _reproduce(preset: str, output_dir: Path, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline.reproduce", f"+experiment={preset}",
         f"results_dir={output_dir}", "train.progress=false"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True, **kwargs,
    )  # fmt: skip


def _check_outputs(output_dir: Path) -> None:
    for name in FIGURES:
        for suffix in (".png", ".pdf"):
            path = output_dir / "figures" / f"{name}{suffix}"
            assert path.stat().st_size > 1000, path
    assert (output_dir / "figures" / "summary.md").read_text().startswith("# hexscale")
    runs = pd.read_parquet(output_dir / "catalog" / "runs.parquet")
    assert (runs["status"] == "done").all()
    elo = pd.read_parquet(output_dir / "catalog" / "elo.parquet")
    assert elo["elo"].notna().all() and (elo["anchor"] == "perfect=0").all()


def _done_stamps(output_dir: Path) -> dict[str, float]:
    return {p.parent.name: p.stat().st_mtime for p in output_dir.glob("runs/*/done.json")}


def test_tiny_reproduction_draws_every_figure_and_reruns_idempotently(tmp_path):
    first = _reproduce("tiny", tmp_path)
    out = first.communicate(timeout=900)[0]
    assert first.returncode == 0, out[-3000:]
    assert "reproduction finished" in out
    _check_outputs(tmp_path)
    stamps = _done_stamps(tmp_path)
    matches = pd.read_parquet(tmp_path / "catalog" / "matches.parquet")["games"].sum()

    second = _reproduce("tiny", tmp_path)
    out = second.communicate(timeout=900)[0]
    assert second.returncode == 0, out[-3000:]
    assert "already finished" in out
    assert _done_stamps(tmp_path) == stamps  # no run was redone
    assert pd.read_parquet(tmp_path / "catalog" / "matches.parquet")["games"].sum() == matches
    record = json.loads((tmp_path / "reproduction.json").read_text())
    first, rerun = record["invocations"]  # wall time adds up over both, stage by stage
    assert first["finished"] and rerun["finished"] and first["host"]["cores"] >= 1
    assert set(first["stages"]) == {"train", "evaluate 3x3", "catalog", "fit and draw"}
    total = sum(first["stages"].values()) + sum(rerun["stages"].values())
    assert record["wall_s"] == pytest.approx(total) and first["stages"]["train"] > 0


def test_unknown_preset_is_refused():
    result = subprocess.run(
        ["bash", "scripts/reproduce.sh", "huge"], cwd=REPO, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 2 and "usage" in result.stderr and "smoke" in result.stderr


@pytest.mark.slow
def test_smoke_reproduction_survives_an_interruption(tmp_path):
    """The README's main command: interrupted at a random moment, then rerun to completion."""
    proc = _reproduce("smoke", tmp_path)
    time.sleep(random.uniform(30, 240))
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    finished_before = _done_stamps(tmp_path)
    start = time.monotonic()
    rerun = _reproduce("smoke", tmp_path)
    out = rerun.communicate(timeout=1800)[0]
    assert rerun.returncode == 0, out[-3000:]
    print(f"rerun took {time.monotonic() - start:.0f} s; {len(finished_before)} runs were done")
    _check_outputs(tmp_path)
    after = _done_stamps(tmp_path)
    assert all(after[name] == stamp for name, stamp in finished_before.items())
