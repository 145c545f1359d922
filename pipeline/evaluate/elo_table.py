"""Elo tables of the evaluation stage: agents' metadata joined with Bradley–Terry ratings.

`build` fits `pipeline.evaluate.ratings.fit_elo` per board from the match and agent files and writes
(paths: `pipeline.infra.layout`)

- ``eval/b<S>/elo.parquet``: every agent of the pool (networks, node variants, anchors);
- ``elo.parquet``: the network agents of every evaluated board, the table `analysis.report.figures`
  reads (columns `pipeline.infra.tables.ELO_TABLE_COLUMNS`, then elo_model, kind, greedy,
  games, and where each snapshot was trained: train_backend, train_device_kind,
  train_jax_version, <NA> for snapshots that predate recording it);

and `suggest` returns a `Suggestion` for active pairing, written to ``eval/b<S>/suggest.json``:
the largest rating standard error among the round-robin pool (anchors and networks at the
reference node count), Jones's K most informative pairs of that pool to play next
(`pipeline.evaluate.ratings.suggest_pairs`), and the largest SE of a node variant relative to its
own snapshot.
``python -m pipeline.evaluate.elo_table results_dir=DIR`` refits every board with
``eval.elo_model``.

Anchor: where the pool holds the exact solver ("perfect"), ratings are relative to it
("perfect=0", hex_experiments.md §5, with ε-perfect players as the informative anchors of §8);
otherwise the top agent is 0 ("top=0", Jones 2021). Elo model: Jones's colour-symmetrised
Bradley–Terry fit by default, the shared first-move-advantage model on request (the table
records it in ``elo_model``). Files are replaced atomically.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Collection
from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import DictConfig

from pipeline.evaluate.ratings import (
    EloFit,
    difference_variance,
    fit_elo,
    suggest_pairs,
    suggest_pairs_for,
)
from pipeline.infra import jones, tables
from pipeline.infra.config import hydra_main, load, register_configs
from pipeline.infra.files import atomic_write_json
from pipeline.infra.layout import Layout

__all__ = ["Suggestion", "board_table", "build", "main", "print_tables", "suggest"]


def board_table(
    matches: pd.DataFrame,
    agents: pd.DataFrame,
    *,
    model: str = "jones",
    pseudo_games: float = jones.PSEUDO_GAMES,
) -> tuple[pd.DataFrame, EloFit]:
    """(Elo table of one board's pool, the `EloFit`) from its match and agent tables.

    Every agent with at least one game gets a row; the anchor is the exact solver when it has
    played, else the top agent. `model` is the Elo model of `pipeline.evaluate.ratings.fit_elo`
    (default Jones's colour-symmetrised fit) and `pseudo_games` its pseudo-games per side of a
    pair, half of them won (Jones: 2); both are recorded in the column ``elo_model``.
    """
    played = set(matches["black"].astype(str)) | set(matches["white"].astype(str))
    anchor = tables.PERFECT if tables.PERFECT in played else None
    fit = fit_elo(
        matches, anchor=anchor, model=model, pseudo_wins=pseudo_games / 2, pseudo_games=pseudo_games
    )
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
    ratings["anchor"] = tables.PERFECT_ANCHOR if anchor else "top=0"
    ratings["elo_model"] = (
        fit.model if pseudo_games == jones.PSEUDO_GAMES else f"{fit.model}, pseudo {pseudo_games:g}"
    )
    meta = agents.drop_duplicates("agent", keep="last").copy()
    meta["agent"] = meta["agent"].astype(str)
    table = ratings.merge(meta, on="agent", how="left")
    unknown = table.loc[table["kind"].isna(), "agent"].tolist()
    if unknown:
        raise ValueError(f"agents with games but no row in agents.parquet: {unknown[:5]}")
    columns = list(tables.ELO_TABLE_COLUMNS) + ["elo_model"]
    columns += [c for c in tables.EXTRA_COLUMNS if c in table.columns]
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
    results_dir: str | Path,
    board_size: int | None = None,
    *,
    model: str = "jones",
    pseudo_games: float = jones.PSEUDO_GAMES,
) -> pd.DataFrame:
    """Fit and write the Elo table of `board_size` (default: every evaluated board) with Elo
    `model` (`pipeline.evaluate.ratings.ELO_MODELS`) and its covariance (``elo_cov.parquet``), then
    refresh the combined ``results_dir/elo.parquet``. Returns the fitted boards' full tables."""
    layout = Layout(results_dir)
    evaluated = layout.evaluated_boards()
    boards = []
    for size in evaluated if board_size is None else [board_size]:
        table, fit = board_table(
            tables.read_matches(results_dir, size), tables.read_agents(results_dir, size),
            model=model, pseudo_games=pseudo_games,
        )  # fmt: skip
        tables.write_parquet(layout.board(size).elo, table)
        if fit.cov is not None:
            tables.write_parquet(layout.board(size).elo_cov, fit.cov.reset_index(names="agent"))
        else:
            layout.board(size).elo_cov.unlink(missing_ok=True)  # never a stale fit's
        boards.append(table)
    if not boards:
        raise ValueError(f"no evaluated boards under {layout.eval}")
    combined = [
        _network_only(pd.read_parquet(layout.board(size).elo))
        for size in layout.evaluated_boards()
        if layout.board(size).elo.exists()
    ]
    combined = [t for t in combined if not t.empty]
    if combined:
        tables.write_parquet(layout.elo, pd.concat(combined, ignore_index=True))
    return pd.concat(boards, ignore_index=True)


@dataclasses.dataclass(frozen=True)
class Suggestion:
    """One active-pairing step of `suggest` (its fields are ``suggest.json``'s keys)."""

    max_se: float  # largest SE of the pool (relative to the anchor); nan for an empty pool
    max_se_all: float  # largest SE relative to the anchor over pool and node variants
    pairs: list[tuple[str, str]]  # unordered pairs to play next, both colours
    agents: int  # agents in the pool
    max_se_variants: float | None  # largest variant SE relative to its own snapshot (None: none)
    elo_model: str  # `EloFit.model` of the fit

    def max_se_for(self, scope: str) -> float:
        """The SE that active pairing with `eval.se_scope` = `scope` stops on: ``max_se`` for
        "pool", ``max_se_all`` for "all" (`pipeline.evaluate.ratings.SE_SCOPES`)."""
        return self.max_se if scope == "pool" else self.max_se_all


def suggest(
    results_dir: str | Path,
    board_size: int,
    k: int,
    nodes: int,
    *,
    model: str = "jones",
    se_target: float | None = None,
    scope: str = "pool",
    games: int = 16,
    among: Collection[str] | None = None,
    pseudo_games: float = jones.PSEUDO_GAMES,
) -> Suggestion:
    """Active pairing step: fit with Elo `model`, then write (``eval/b<S>/suggest.json``) and
    return the `Suggestion`.

    The pool is the anchors and the networks at the reference count `nodes`; its `k` pairs
    come from `pipeline.evaluate.ratings.suggest_pairs` and ``max_se`` is its largest SE (relative
    to the anchor). Node variants play a fixed design among their snapshot's variants;
    ``max_se_variants`` reports their largest SE relative to their own snapshot at `nodes`
    (the uncertainty of Elo vs nodes at a fixed snapshot), ``max_se_all`` the largest SE
    relative to the anchor over pool and variants. With `scope` "all" and a `se_target`, the
    pairs are those whose `games` more games most reduce the variance of every rating, pool or
    variant, still at or above `se_target` (`suggest_pairs_for`): a variant's SE relative to the
    anchor includes its snapshot's and the links to the anchor, which only pool games shrink.
    `among` restricts pairs and SEs to those agents (an evaluation's own pool), while the fit
    uses every game on the board: other searches or configs may share the results directory.
    """
    matches = tables.read_matches(results_dir, board_size)
    agents = tables.read_agents(results_dir, board_size)
    table, fit = board_table(matches, agents, model=model, pseudo_games=pseudo_games)
    if among is not None:
        table = table[table["agent"].isin(among)]
    in_pool = (table["kind"] != "network") | (table["test_nodes"] == nodes).fillna(False)
    ids = table.loc[in_pool, "agent"]
    sub = dataclasses.replace(
        fit, ratings=fit.ratings[ids], se=fit.se[ids], cov=fit.cov.loc[ids, ids]
    )
    variants = table.loc[~in_pool, "agent"]
    own = variants.str.replace(r"@\d+", f"@{nodes}", n=1, regex=True)
    known = own.isin(ids)
    v, s = variants[known].to_numpy(), own[known].to_numpy()
    var_rel = difference_variance(fit.cov, v, s)
    se_anchor = fit.se[v].to_numpy()  # relative to the anchor
    if len(ids) < 2:
        pairs = []
    elif scope == "all" and se_target is not None:
        short = [*sub.se.index[sub.se >= se_target], *v[se_anchor >= se_target]]
        pairs = suggest_pairs_for(fit, list(ids), short, games, matches, k) if short else []
    else:
        pairs = suggest_pairs(sub, matches, k)
    max_se = float(sub.se.max()) if len(ids) else float("nan")
    out = Suggestion(
        max_se=max_se,
        max_se_all=max(max_se, float(se_anchor.max())) if len(v) else max_se,
        pairs=pairs,
        agents=len(ids),
        max_se_variants=float(np.sqrt(var_rel.max())) if len(var_rel) else None,
        elo_model=fit.model,
    )
    atomic_write_json(Layout(results_dir).board(board_size).suggest, dataclasses.asdict(out))
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


@hydra_main
def main(cfg: DictConfig) -> None:
    """Refit and print the Elo tables of every evaluated board with `eval.elo_model`."""
    job = load(cfg)
    try:
        table = build(
            job.results_dir, model=job.eval.elo_model, pseudo_games=job.eval.elo_pseudo_games
        )
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    print_tables(table)
    print(f"\nwrote {Layout(job.results_dir).elo}")


if __name__ == "__main__":
    register_configs()
    main()
