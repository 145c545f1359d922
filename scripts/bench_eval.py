"""Evaluation speed: games/s and compile seconds on a smoke-sized pool, this engine against the
engine of an earlier commit, on the same pool and host.

    .venv/bin/python scripts/bench_eval.py                    # baseline: 11146d9 (before the house)
    .venv/bin/python scripts/bench_eval.py --baseline HEAD~3 --board 4 --search jones

The pool mimics the smoke preset's evaluation of one board: two runs (the smoke widths, depth 1)
× 11 snapshots with seeded random parameters, the solver anchors, 16 games per pair, node
variants 1…64 of every snapshot, round robin at 16 nodes. Every engine runs in a fresh process
with an empty JAX persistent compilation cache (the `cold` rows); this engine then runs once more
with a cache another process filled (`warm`, what a rerun or resumed job sees). Compile seconds
are JAX's trace + lowering + backend-compile durations (`jax.monitoring`), programs the number of
backend compiles. The baseline is checked out with `git worktree` and run from its own tree. Its
search must exist there: `puct` (the default here) is the same algorithm in both engines.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from pipeline.infra.provenance import host  # noqa: E402  (the checkout, not an installed copy)

EVENTS = (
    "/jax/core/compile/jaxpr_trace_duration",
    "/jax/core/compile/jaxpr_to_mlir_module_duration",
    "/jax/core/compile/backend_compile_duration",
)
SMOKE_WIDTHS = {3: (4, 16), 4: (8, 32)}
COMMON_SEARCH_FIELDS = ("kind", "nodes", "c", "noise_fraction", "dirichlet_alpha", "pb_c_init",
                        "max_considered", "max_depth")  # fmt: skip

# Runs `python -m pipeline.evaluate ARGS` in this process with compile-time listeners attached,
# then prints one JSON line; used for both engines so that they are measured the same way.
WRAPPER = """
import json, runpy, sys, time, collections
import jax.monitoring as m
seconds = collections.Counter(); counts = collections.Counter()
def listen(event, duration, **kwargs):
    seconds[event] += duration; counts[event] += 1
m.register_event_duration_secs_listener(listen)
sys.argv = ["pipeline.evaluate", *sys.argv[1:]]
start = time.perf_counter()
try:
    runpy.run_module("pipeline.evaluate", run_name="__main__", alter_sys=True)
except SystemExit as exit:
    if exit.code not in (None, 0):
        raise
events = %r
print("BENCH " + json.dumps({"compile_s": sum(seconds[e] for e in events),
      "programs": counts[events[-1]], "process_s": time.perf_counter() - start}))
"""


def make_pool(root: Path, size: int, search: str, snapshots: int = 11) -> None:
    import jax

    from agents.network import forward_flops, init_params, param_count
    from agents.search import SearchConfig
    from pipeline.infra.snapshot import save_snapshot

    settings = dataclasses.asdict(SearchConfig(kind=search, nodes=16))
    settings = {k: settings[k] for k in COMMON_SEARCH_FIELDS}  # loadable by both engines
    for width in SMOKE_WIDTHS[size]:
        run = f"b{size}-w{width}-d1-{search}16-seed0"
        for index in range(snapshots):
            key = jax.random.PRNGKey(1000 * width + index)
            params = init_params(key, size, width, 1)
            flops = 1e7 * 2**index
            meta = {
                "run_name": run, "board_size": size, "width": width, "depth": 1,
                "params": param_count(size, width, 1),
                "forward_flops_jones": forward_flops(size, width, 1, "jones"),
                "forward_flops_standard": forward_flops(size, width, 1, "standard"),
                "search": settings, "index": index, "samples": 1000 * index,
                "train_flops_jones": flops, "train_flops_standard": 2 * flops, "wall_s": 1.0,
                "seed": 0, "code_version": "bench", "capped": False,
            }  # fmt: skip
            save_snapshot(root / "runs" / run / "snapshots" / f"{index:02d}", params, meta)


def run_engine(cwd: Path, args: list[str], cache: Path | None) -> dict:
    env = dict(os.environ, JAX_PLATFORMS="cpu", PYTHONPATH=str(cwd))
    if cache is not None:
        env["HEXSCALE_CACHE"] = str(cache)
    out = subprocess.run(
        [sys.executable, "-c", WRAPPER % (EVENTS,), *args],
        cwd=cwd, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if out.returncode != 0:
        raise RuntimeError(f"evaluation in {cwd} failed:\n{out.stderr[-3000:]}")
    played = re.search(r"played ([\d,]+) games in ([\d.]+) s", out.stdout)
    bench = json.loads(out.stdout.split("BENCH ", 1)[1].splitlines()[0])
    games, wall_s = int(played.group(1).replace(",", "")), float(played.group(2))
    return dict(bench, games=games, play_s=wall_s, games_per_s=games / wall_s)


def elo_agreement(a: Path, b: Path, size: int) -> tuple[float, float]:
    """Two independent tournaments of the same pool (different random streams): the fraction
    of agents whose Elo agree within two combined standard errors, and the largest |z|."""
    import numpy as np
    import pandas as pd

    from pipeline.evaluate.elo_table import board_table

    def ratings(root: Path) -> pd.DataFrame:
        board = root / "eval" / f"b{size}"
        table, _ = board_table(
            pd.read_parquet(board / "matches.parquet"), pd.read_parquet(board / "agents.parquet")
        )
        return table.set_index("agent")[["elo", "elo_se"]]

    ra, rb = ratings(a), ratings(b).reindex(ratings(a).index)
    z = (ra["elo"] - rb["elo"]) / np.hypot(ra["elo_se"], rb["elo_se"]).clip(lower=1e-9)
    z = z[ra["elo_se"] > 0]  # the anchor is 0 in both
    return float((z.abs() < 2).mean()), float(z.abs().max())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="11146d9", help="git ref of the engine to beat")
    parser.add_argument("--board", type=int, default=3, choices=sorted(SMOKE_WIDTHS))
    parser.add_argument("--search", default="puct", help="search kind of the pool's snapshots")
    parser.add_argument("--snapshots", type=int, default=11, help="snapshots per run (smoke: 11)")
    args = parser.parse_args()

    machine = host()
    print(
        f"host: {machine['cpu']}, {machine['cores']} cores, load {os.getloadavg()[0]:.1f}; "
        f"board {args.board}, search {args.search}, {args.snapshots} snapshots per run"
    )
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        rows = {}
        # (engine, tree, command line, persistent cache dir or None)
        new_args = [f"results_dir={tmp / 'new'}", f"board.size={args.board}", "+experiment=smoke",
                    "eval.elo=false", "eval.progress=false"]  # fmt: skip
        old_args = [f"results_dir={tmp / 'old'}", f"board.size={args.board}", "+eval_preset=smoke",
                    "elo=false", "progress=false"]  # fmt: skip
        make_pool(tmp / "new", args.board, args.search, args.snapshots)
        for copy in ("old", "fill", "warm"):
            shutil.copytree(tmp / "new", tmp / copy)
        tree = tmp / "baseline"
        subprocess.run(["git", "worktree", "add", "--detach", str(tree), args.baseline],
                       cwd=REPO, check=True, capture_output=True)  # fmt: skip
        try:
            rows[f"baseline {args.baseline}, cold"] = run_engine(tree, old_args, None)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=REPO)
        rows["this engine, cold"] = run_engine(REPO, [*new_args, "compile_cache=false"], None)
        cache = tmp / "cache"
        run_engine(REPO, [f"results_dir={tmp / 'fill'}", *new_args[1:]], cache)  # fills it
        warm_args = [f"results_dir={tmp / 'warm'}", *new_args[1:]]
        rows["this engine, warm cache"] = run_engine(REPO, warm_args, cache)
        agree = elo_agreement(tmp / "old", tmp / "new", args.board)

    base = rows[f"baseline {args.baseline}, cold"]
    print(f"{'engine':32} {'games':>7} {'play s':>8} {'games/s':>8} {'compile s':>10} "
          f"{'programs':>8} {'speed-up':>8}")  # fmt: skip
    for name, r in rows.items():
        print(f"{name:32} {r['games']:7d} {r['play_s']:8.1f} {r['games_per_s']:8.1f} "
              f"{r['compile_s']:10.1f} {r['programs']:8d} "
              f"{r['games_per_s'] / base['games_per_s']:7.2f}x")  # fmt: skip
    print(
        f"Elo (Jones's model) of the two engines' tournaments agree within 2 SE for "
        f"{agree[0]:.0%} of agents (largest |z| {agree[1]:.2f}); their random streams differ"
    )


if __name__ == "__main__":
    main()
