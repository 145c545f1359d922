"""One catalog over a results directory: every run, snapshot, match and Elo row as parquet.

    python -m pipeline.catalog results_dir=outputs/smoke

Writes `catalog/runs.parquet` (one row per run: settings, status, samples, FLOPs, wall time),
`catalog/snapshots.parquet` (one row per snapshot with its meta.json: config, seed, code version,
both FLOP conventions), `catalog/matches.parquet` and `catalog/elo.parquet` (every board's
evaluation files, concatenated). It is rebuilt from the per-job files each time, so running it
twice gives the same catalog and a crash mid-way loses nothing (each file is written atomically).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd

from agents.snapshot import META_FILE
from pipeline import results

CATALOG_DIR = "catalog"


def _flatten(meta: dict) -> dict:
    """meta.json → one flat row; nested settings become `search.kind`, `train.lr`, ..."""
    return pd.json_normalize(meta, sep=".").iloc[0].to_dict()


def snapshot_table(results_dir: Path) -> pd.DataFrame:
    rows = []
    for meta_path in sorted(results_dir.glob(f"runs/*/snapshots/*/{META_FILE}")):
        row = _flatten(json.loads(meta_path.read_text()))
        row["snapshot_dir"] = str(meta_path.parent)
        rows.append(row)
    return pd.DataFrame(rows)


def run_table(results_dir: Path, snapshots: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for run_dir in sorted(p.parent for p in results_dir.glob("runs/*/config.yaml")):
        done = run_dir / "done.json"
        row = {"run_name": run_dir.name, "status": "done" if done.exists() else "partial"}
        if done.exists():
            row.update(json.loads(done.read_text()))
        if not snapshots.empty:
            mine = snapshots[snapshots["run_name"] == run_dir.name]
            row["snapshots"] = len(mine)
            if not mine.empty:
                last = mine.sort_values("index").iloc[-1]
                for key in ("board_size", "width", "depth", "params", "search.kind", "seed"):
                    row[key] = last[key]
        rows.append(row)
    return pd.DataFrame(rows)


def _concat_boards(results_dir: Path, name: str) -> pd.DataFrame:
    frames = [pd.read_parquet(p) for p in sorted(results_dir.glob(f"eval/b*/{name}"))]
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def build_catalog(results_dir: str | Path) -> dict[str, pd.DataFrame]:
    """Rebuild the catalog from the per-job files; returns the tables it wrote."""
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        raise ValueError(f"results_dir {results_dir} does not exist")
    snapshots = snapshot_table(results_dir)
    tables = {
        "runs": run_table(results_dir, snapshots),
        "snapshots": snapshots,
        "matches": _concat_boards(results_dir, "matches.parquet"),
        "elo": _concat_boards(results_dir, "elo.parquet"),
    }
    for name, table in tables.items():
        results.write_parquet(results_dir / CATALOG_DIR / f"{name}.parquet", table)
    return tables


def main(argv: list[str]) -> None:
    args = dict(a.split("=", 1) for a in argv if "=" in a)
    try:
        tables = build_catalog(args.get("results_dir", "outputs"))
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    print(", ".join(f"{len(t)} {name}" for name, t in tables.items()))


if __name__ == "__main__":
    main(sys.argv[1:])
