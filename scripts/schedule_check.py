"""Learner schedules head to head: samples and wall time to near-perfect 4×4 play.

Trains one agent per `--schedule` (`train.schedule=rollout|jones`, same settings otherwise) to a
Jones-FLOP budget (`train.max_flops`; savepoints log-spaced below it as in any run), then plays
each snapshot as black against the exact solver (`agents.players.perfect_player`): argmax moves
of the training search, no root noise, `--games` games per snapshot
(`pipeline.evaluate.players.black_wins_vs_solver`). Prints, per schedule, every
evaluated snapshot and the first one that wins ≥ `--target` of its games: its samples, Jones
FLOPs and training wall time (the run's own clock; evaluation excluded), also without the
first jitted call, which compiles (a resumed run compiles again: measure uninterrupted runs).

Runs go to `<results-dir>/<schedule>/runs/<run_name>/`; rerunning resumes or skips finished
training, and reuses win rates already measured (`schedule_check.json` in the run directory).
Snapshots are evaluated in order and, unless `--all`, not beyond the first that reaches the
target. Extra Hydra overrides after the flags go to both runs (e.g. `train.n_envs=512`).

usage: .venv/bin/python scripts/schedule_check.py --schedule rollout jones --flops 4e11
       .venv/bin/python scripts/schedule_check.py --schedule jones --flops 4e11 search=grill
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from hydra import compose, initialize_config_dir

from pipeline.evaluate.players import black_wins_vs_solver
from pipeline.infra.config import check_results_dir, load, register_configs, validate
from pipeline.infra.files import atomic_write_json
from pipeline.infra.layout import Layout
from pipeline.infra.runtime import configure_jax
from pipeline.infra.snapshot import load_meta
from pipeline.train.loop import run

CONF_DIR = Path(__file__).resolve().parents[1] / "conf"


def train(schedule: str, args: argparse.Namespace) -> Path:
    """Train (or resume, or skip) the run of one schedule; returns its run directory."""
    overrides = [
        f"board.size={args.board}",
        f"model.width={args.width}",
        f"model.depth={args.depth}",
        f"train.schedule={schedule}",
        f"train.max_flops={args.flops:g}",
        f"train.seed={args.seed}",
        f"results_dir={Path(args.results_dir) / schedule}",
        *([f"search.nodes={args.nodes}"] if args.nodes else []),
        *([f"train.min_flops={args.min_flops:g}"] if args.min_flops else []),
        *args.overrides,
    ]
    register_configs()
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        cfg = load(compose("config", overrides=overrides), validate, check_results_dir)
        configure_jax(cfg.compile_cache)
    print(f"== {schedule}: {' '.join(overrides)}", flush=True)
    run(cfg)
    return Layout(cfg.results_dir).run(cfg.run_name).dir


def evaluate(run_dir: Path, args: argparse.Namespace) -> list[dict]:
    """One row per evaluated snapshot, in order; stops after the first at the target unless
    `--all`. Win rates are cached in `<run_dir>/schedule_check.json`."""
    cache_path = run_dir / "schedule_check.json"
    cache = json.loads(cache_path.read_text()) if cache_path.exists() else {}
    first = json.loads((run_dir / "metrics.jsonl").read_text().splitlines()[0])  # compiles
    rows = []
    snapshots = sorted((run_dir / "snapshots").glob("[0-9]*"))  # temporaries start with "."
    for snapshot in snapshots:
        meta = load_meta(snapshot)
        key = f"{snapshot.name}/{args.games}"
        if key not in cache:
            cache[key] = black_wins_vs_solver(snapshot, args.games)
            atomic_write_json(cache_path, cache)
        rows.append(
            {
                "snapshot": snapshot.name,
                "samples": meta["samples"],
                "flops_jones": meta["train_flops_jones"],
                "wall_s": meta["wall_s"],
                "warm_wall_s": meta["wall_s"] - first["wall_s"],
                "warm_samples": meta["samples"] - first["samples"],
                "win_rate": cache[key],
            }
        )
        print(
            f"   {run_dir.parent.parent.name} {snapshot.name}: {meta['samples']:>11,} samples "
            f"{meta['train_flops_jones']:.3g} FLOPs {meta['wall_s']:8.1f} s  "
            f"win {cache[key]:.3f}",
            flush=True,
        )
        if cache[key] >= args.target and not args.all:
            break
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--schedule", nargs="+", default=["rollout", "jones"],
                    choices=["rollout", "jones"])  # fmt: skip
    ap.add_argument("--flops", type=float, required=True, help="Jones-FLOP budget (last savepoint)")
    ap.add_argument(
        "--min-flops", type=float, default=None, help="first savepoint (default: preset)"
    )
    ap.add_argument("--board", type=int, default=4)
    ap.add_argument("--width", type=int, default=32)
    ap.add_argument("--depth", type=int, default=2)
    ap.add_argument("--nodes", type=int, default=None, help="train nodes (default: search preset)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--games", type=int, default=256)
    ap.add_argument("--target", type=float, default=0.95)
    ap.add_argument("--all", action="store_true", help="evaluate every snapshot")
    ap.add_argument("--results-dir", default="outputs/schedule_check")
    ap.add_argument("overrides", nargs="*", help="Hydra overrides for both runs")
    args = ap.parse_args()

    summary = []
    for schedule in args.schedule:
        rows = evaluate(train(schedule, args), args)
        last = rows[-1] if rows else None
        hit = next((r for r in rows if r["win_rate"] >= args.target), None)
        summary.append((schedule, hit, last))

    print(f"\nfirst snapshot with >= {args.target:.0%} wins as black vs the exact solver "
          f"({args.board}x{args.board}, {args.games} games, argmax, no root noise)")  # fmt: skip
    print(f"{'schedule':<9} {'snap':>4} {'samples':>12} {'Jones FLOPs':>12} {'wall s':>9} "
          f"{'warm s':>9} {'samples/s':>10} {'win':>6}")  # fmt: skip
    for schedule, hit, last in summary:
        row = hit or last
        if row is None:
            print(f"{schedule:<9} no snapshots")
            continue
        warm = row["warm_wall_s"]
        rate = row["warm_samples"] / warm if warm > 0 else float("nan")
        label = row["snapshot"] if hit else "miss"
        print(
            f"{schedule:<9} {label:>4} {row['samples']:>12,} {row['flops_jones']:>12.3g} "
            f"{row['wall_s']:>9.1f} {warm:>9.1f} {rate:>10.0f} {row['win_rate']:>6.3f}"
        )
    print(
        "wall s: training wall time of the run up to the snapshot (evaluation excluded); warm s:"
        " the same without the first jitted call (compilation); samples/s: warm.\n"
        "miss: target not reached within the budget; the row is the last evaluated snapshot."
    )


if __name__ == "__main__":
    sys.exit(main())
