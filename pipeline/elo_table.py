"""Elo tables from evaluation results: agents' metadata joined with Bradley–Terry ratings.

``python -m analysis.elo_table results_dir=DIR [board_size=S] [suggest=K suggest_nodes=64]
[quiet=true]`` reads ``DIR/eval/b<S>/{matches,agents}.parquet`` (written by
``pipeline.evaluate``), fits `pipeline.ratings.fit_elo` per board and writes

- ``DIR/eval/b<S>/elo.parquet``: every agent of the pool (networks, node variants, anchors);
- ``DIR/elo.parquet``: the network agents of every evaluated board, the table
  `analysis.figures` reads (columns `ELO_TABLE_COLUMNS`, then elo_model, kind, greedy, games);
- with ``suggest=K``, ``DIR/eval/b<S>/suggest.json``: the largest rating standard error among the
  round-robin pool (anchors and networks at ``suggest_nodes``) and Jones's K most informative
  pairs of that pool to play next (`pipeline.ratings.suggest_pairs`), for active pairing.

Anchor: where the pool holds the exact solver ("perfect"), ratings are relative to it
("perfect=0", hex_experiments.md §5, with ε-perfect players as the informative anchors of §8);
otherwise the top agent is 0 ("top=0", Jones 2021). Elo model: Jones's colour-symmetrised
Bradley–Terry fit by default, the shared first-move-advantage model on request (`build`,
`board_table`, `suggest` take ``model=``; the table records it in ``elo_model``). Files are
replaced atomically; this module reads result files only and imports nothing from `pipeline`.
"""

from __future__ import annotations

import dataclasses
import io
import json
import sys
from pathlib import Path

import pandas as pd

from hex_env.files import atomic_write_bytes
from pipeline.ratings import EloFit, fit_elo, suggest_pairs

__all__ = ["ELO_TABLE_COLUMNS", "board_table", "build", "main", "suggest"]

ELO_TABLE_COLUMNS = (
    "agent",
    "run",
    "snapshot",
    "board_size",
    "width",
    "depth",
    "search",
    "test_nodes",
    "params",
    "train_flops_jones",
    "train_flops_standard",
    "test_flops_jones",
    "test_flops_standard",
    "elo",
    "elo_se",
    "anchor",
)
EXTRA_COLUMNS = ("kind", "greedy", "eps", "games")
PERFECT = "perfect"


def _write_parquet(path: Path, df: pd.DataFrame) -> None:
    buffer = io.BytesIO()
    df.to_parquet(buffer, index=False)
    atomic_write_bytes(path, buffer.getvalue())


def _board_dirs(results_dir: Path, board_size: int | None) -> list[tuple[int, Path]]:
    if board_size is not None:
        return [(board_size, results_dir / "eval" / f"b{board_size}")]
    out = []
    for d in sorted((results_dir / "eval").glob("b*")):
        if d.name[1:].isdigit() and (d / "matches.parquet").exists():
            out.append((int(d.name[1:]), d))
    return out


def board_table(
    matches: pd.DataFrame, agents: pd.DataFrame, *, model: str = "jones"
) -> tuple[pd.DataFrame, EloFit]:
    """(Elo table of one board's pool, the `EloFit`) from its match and agent tables.

    Every agent with at least one game gets a row; the anchor is the exact solver when it has
    played, else the top agent. `model` is the Elo model of `pipeline.ratings.fit_elo`
    (default Jones's colour-symmetrised fit), recorded in the column ``elo_model``.
    """
    played = set(matches["black"].astype(str)) | set(matches["white"].astype(str))
    anchor = PERFECT if PERFECT in played else None
    fit = fit_elo(matches, anchor=anchor, model=model)
    games = (
        pd.concat(
            [
                matches.groupby("black")["games"].sum(),
                matches.groupby("white")["games"].sum(),
            ]
        )
        .groupby(level=0)
        .sum()
    )
    ratings = fit.table()
    ratings["games"] = ratings["agent"].map(games).astype("int64")
    ratings["anchor"] = f"{PERFECT}=0" if anchor else "top=0"
    ratings["elo_model"] = fit.model
    meta = agents.drop_duplicates("agent", keep="last").copy()
    meta["agent"] = meta["agent"].astype(str)
    table = ratings.merge(meta, on="agent", how="left")
    unknown = table.loc[table["kind"].isna(), "agent"].tolist()
    if unknown:
        raise ValueError(f"agents with games but no row in agents.parquet: {unknown[:5]}")
    columns = list(ELO_TABLE_COLUMNS) + ["elo_model"]
    columns += [c for c in EXTRA_COLUMNS if c in table.columns]
    return table.loc[:, columns].reset_index(drop=True), fit


def _network_only(table: pd.DataFrame) -> pd.DataFrame:
    """Network rows with plain integer dtypes (no missing values left once anchors are gone)."""
    out = table[table["kind"] == "network"].copy()
    for column in ("snapshot", "board_size", "width", "depth", "test_nodes", "params"):
        out[column] = out[column].astype("int64")
    for column in ("agent", "run", "search", "kind", "anchor"):
        out[column] = out[column].astype(str)
    out["greedy"] = out["greedy"].astype(bool)
    return out.reset_index(drop=True)


def build(
    results_dir: str | Path, board_size: int | None = None, *, model: str = "jones"
) -> pd.DataFrame:
    """Fit and write the Elo table of `board_size` (default: every evaluated board) with Elo
    `model` (`pipeline.ratings.ELO_MODELS`), then refresh the combined
    ``results_dir/elo.parquet``. Returns the fitted boards' full tables."""
    results_dir = Path(results_dir)
    tables = []
    for _, directory in _board_dirs(results_dir, board_size):
        matches = pd.read_parquet(directory / "matches.parquet")
        agents = pd.read_parquet(directory / "agents.parquet")
        table, _ = board_table(matches, agents, model=model)
        _write_parquet(directory / "elo.parquet", table)
        tables.append(table)
    if not tables:
        raise ValueError(f"no evaluated boards under {results_dir / 'eval'}")
    combined = [
        _network_only(pd.read_parquet(d / "elo.parquet"))
        for _, d in _board_dirs(results_dir, None)
        if (d / "elo.parquet").exists()
    ]
    combined = [t for t in combined if not t.empty]
    if combined:
        _write_parquet(results_dir / "elo.parquet", pd.concat(combined, ignore_index=True))
    return pd.concat(tables, ignore_index=True)


def suggest(
    results_dir: str | Path, board_size: int, k: int, nodes: int, *, model: str = "jones"
) -> dict:
    """Active pairing step: fit with Elo `model`, then write and return ``{"max_se", "pairs",
    "agents", "elo_model"}`` for the pool of anchors and networks at `nodes` (Jones's rule,
    `pipeline.ratings.suggest_pairs`)."""
    directory = Path(results_dir) / "eval" / f"b{board_size}"
    matches = pd.read_parquet(directory / "matches.parquet")
    agents = pd.read_parquet(directory / "agents.parquet")
    table, fit = board_table(matches, agents, model=model)
    pool = table[(table["kind"] != "network") | (table["test_nodes"] == nodes)]
    ids = pool["agent"].tolist()
    sub = dataclasses.replace(
        fit, ratings=fit.ratings[fit.ratings.index.isin(ids)], se=fit.se[fit.se.index.isin(ids)]
    )
    pairs = suggest_pairs(sub, matches, k) if len(ids) >= 2 else []
    out = {
        "max_se": float(sub.se.max()) if len(ids) else float("nan"),
        "pairs": [list(p) for p in pairs],
        "agents": len(ids),
        "elo_model": fit.model,
    }
    atomic_write_bytes(directory / "suggest.json", (json.dumps(out, indent=2) + "\n").encode())
    return out


def _format(table: pd.DataFrame) -> str:
    columns = ["agent", "kind", "test_nodes", "train_flops_jones", "elo", "elo_se", "games"]
    view = table.loc[:, columns]
    with pd.option_context("display.max_rows", 400, "display.width", 120):
        return view.to_string(
            index=False,
            formatters={
                "elo": "{:8.1f}".format,
                "elo_se": "{:6.1f}".format,
                "train_flops_jones": lambda x: "" if pd.isna(x) else f"{x:.3g}",
            },
        )


def print_tables(table: pd.DataFrame) -> None:
    """Print each board's Elo table, best first."""
    for size, part in table.groupby("board_size"):
        anchor = ", ".join(part["anchor"].unique())
        print(f"\nElo table, board {size}x{size} ({anchor}; {len(part)} agents):")
        print(_format(part.sort_values("elo", ascending=False)))


def main(argv: list[str] | None = None) -> int:
    """CLI, see the module docstring."""
    argv = sys.argv[1:] if argv is None else argv
    args: dict[str, str] = {}
    for token in argv:
        if "=" not in token:
            print(f"unrecognised argument {token!r}; use key=value", file=sys.stderr)
            return 2
        key, value = token.lstrip("-").split("=", 1)
        args[key] = value
    if "results_dir" not in args:
        print("usage: python -m analysis.elo_table results_dir=DIR [board_size=S]", file=sys.stderr)
        return 2
    board = int(args["board_size"]) if "board_size" in args else None
    quiet = args.get("quiet", "false").lower() in ("1", "true", "yes")
    if "suggest" in args:
        if board is None:
            print("suggest=K needs board_size=S", file=sys.stderr)
            return 2
        out = suggest(
            args["results_dir"], board, int(args["suggest"]), int(args.get("suggest_nodes", 64))
        )
        if not quiet:
            print(f"max SE {out['max_se']:.1f} Elo, {out['agents']} agents; next {out['pairs']}")
        return 0
    table = build(args["results_dir"], board)
    if not quiet:
        print_tables(table)
        print(f"\nwrote {Path(args['results_dir']) / 'elo.parquet'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
