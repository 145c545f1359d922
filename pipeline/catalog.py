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
from omegaconf import DictConfig

from pipeline.infra import tables
from pipeline.infra.config import hydra_main, load, register_configs
from pipeline.infra.layout import Layout
from pipeline.infra.snapshot import load_meta


def _flatten(meta: dict) -> dict:
    """meta.json → one flat row; nested settings become `search.kind`, `train.lr`, ..."""
    return pd.json_normalize(meta, sep=".").iloc[0].to_dict()


def snapshot_table(layout: Layout) -> pd.DataFrame:
    rows = []
    for directory in layout.snapshot_dirs():
        row = _flatten(load_meta(directory))
        row["snapshot_dir"] = str(directory)
        rows.append(row)
    return pd.DataFrame(rows)


def run_table(layout: Layout, snapshots: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for run in layout.run_dirs():
        row = {"run_name": run.name, "status": "done" if run.done.exists() else "partial"}
        if run.done.exists():
            row.update(json.loads(run.done.read_text()))
        if not snapshots.empty:
            mine = snapshots[snapshots["run_name"] == run.name]
            row["snapshots"] = len(mine)
            if not mine.empty:
                last = mine.sort_values("index").iloc[-1]
                for key in ("board_size", "width", "depth", "params", "search.kind", "seed"):
                    row[key] = last[key]
        rows.append(row)
    return pd.DataFrame(rows)


def _concat_boards(paths: list[Path]) -> pd.DataFrame:
    frames = [pd.read_parquet(p) for p in paths if p.exists()]
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def build_catalog(results_dir: str | Path) -> dict[str, pd.DataFrame]:
    """Rebuild the catalog from the per-job files; returns the tables it wrote."""
    layout = Layout(results_dir)
    if not layout.root.is_dir():
        raise ValueError(f"results_dir {layout.root} does not exist")
    snapshots = snapshot_table(layout)
    boards = [layout.board(size) for size in layout.evaluated_boards()]
    catalog = {
        "runs": run_table(layout, snapshots),
        "snapshots": snapshots,
        "matches": _concat_boards([b.matches for b in boards]),
        "elo": _concat_boards([b.elo for b in boards]),
    }
    for name, table in catalog.items():
        tables.write_parquet(layout.catalog / f"{name}.parquet", table)
    return catalog


@hydra_main
def main(cfg: DictConfig) -> None:
    job = load(cfg)
    try:
        catalog = build_catalog(job.results_dir)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    print(", ".join(f"{len(t)} {name}" for name, t in catalog.items()))


if __name__ == "__main__":
    register_configs()
    main()
