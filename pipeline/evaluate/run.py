"""Tournaments between snapshots, solver anchors and node-count variants (hex_experiments.md §5).

    python -m pipeline.evaluate board.size=3 results_dir=outputs eval.games_per_pair=64
    python -m pipeline.evaluate +experiment=smoke board.size=4          # a preset's evaluation

The pool (`pipeline.evaluate.pool`) is every snapshot of the board at `eval.reference_nodes` plus
the anchors, in a round robin (both colours, from the empty board), and each snapshot's node
variants among themselves; with `eval.active=true` the round robin is replaced by Jones's active
pairing: a sparse start, then rounds of the pairs that most reduce rating variance, until every
pool rating's standard error is below `eval.se_target` (with `eval.se_scope=all`, every node
variant's too, relative to the anchor). The plan is "target games per ordered
(black, white) pair minus games already recorded or claimed" (`pipeline.evaluate.claims`), so
re-running on a grown results directory plays only the missing games, and concurrent
evaluations of one board share the work without playing any game twice. Games run in
`pipeline.evaluate.match_engine`.

Ratings belong to evaluation: this module fits Bradley–Terry in-process
(`pipeline.evaluate.ratings`,
`pipeline.evaluate.elo_table`) to choose active pairs and writes the Elo tables at the end;
`analysis/` only reads those tables.
"""

from __future__ import annotations

import math
import sys
import time

import jax
import numpy as np
import pandas as pd
from omegaconf import DictConfig

from pipeline.evaluate import elo_table
from pipeline.evaluate.claims import Lease
from pipeline.evaluate.match_engine import Batch, MatchEngine, games_per_call, make_batches
from pipeline.evaluate.pool import (
    Pool,
    architecture_capacity,
    build_pool,
    discover_snapshots,
    initial_active_targets,
)
from pipeline.infra import tables
from pipeline.infra.config import (
    Config,
    check_results_dir,
    hydra_main,
    load,
    validate_eval,
)
from pipeline.infra.files import CorruptFileError
from pipeline.infra.layout import Layout
from pipeline.infra.progress import Progress
from pipeline.infra.runtime import configure_jax


def _rows(batch: Batch, black_wins: np.ndarray) -> pd.DataFrame:
    games = np.asarray(batch.games)
    return pd.DataFrame(
        {
            "board_size": [s.board_size for s in batch.black],
            "black": [s.agent for s in batch.black],
            "white": [s.agent for s in batch.white],
            "games": games,
            "black_wins": black_wins,
            "white_wins": games - black_wins,
            "black_nodes": pd.array([s.test_nodes for s in batch.black], dtype="Int64"),
            "white_nodes": pd.array([s.test_nodes for s in batch.white], dtype="Int64"),
            "game_start": pd.array(batch.game_start, dtype="Int64"),
        }
    )


def play_claimed(
    cfg: Config,
    pool: Pool,
    lease: Lease,
    engine: MatchEngine,
    *,
    targets: dict[tuple[str, str], int] | None = None,
    extra: dict[tuple[str, str], int] | None = None,
    desc: str = "games",
) -> dict:
    """Claim the games no one has recorded or claimed below `targets` (a portion of about one
    call's games at a time, so concurrent evaluations share them) or `extra` games more per
    pair than anyone has (at once), play them and record each batch as it ends. Returns counts
    and timings."""
    planned = lease.free_games(targets) if extra is None else sum(extra.values())
    key = jax.random.PRNGKey(cfg.eval.seed)  # each pairing's stream: match_engine.pair_seed
    progress = None
    if cfg.eval.progress and planned:
        progress = Progress(
            total=planned, unit="game", desc=desc, interval_s=cfg.eval.progress_interval_s
        )
    start = time.perf_counter()
    done, calls, pairs = 0, 0, set()
    try:
        budget = games_per_call(cfg.eval.batch)
        for claimed in _portions(lease, targets, extra, budget, _call_shape(pool)):
            pairs |= set(claimed)
            for batch in make_batches(claimed, pool.agents, cfg.eval.batch, engine.arch):
                black_wins = engine.play(batch, key)  # one key: streams follow game numbers
                done += lease.record(_rows(batch, black_wins))
                calls += 1
                if progress is not None:
                    progress.update(sum(batch.games))
    finally:
        if progress is not None:
            progress.close()
    wall_s = time.perf_counter() - start
    return {"games": done, "batches": calls, "wall_s": wall_s, "pairs": len(pairs)}


def _call_shape(pool: Pool):
    """A pair's node counts: portions claim pairs of equal node counts together, so that
    `make_batches` fills calls with them (they share one compiled shape)."""
    return lambda pair: tuple(pool.agents[agent].test_nodes or 0 for agent in pair)


def _portions(lease: Lease, targets, extra, budget: int, order):
    """The claims `play_claimed` plays one after another, until nothing below the targets is
    free (extra games: one claim)."""
    if extra is not None:
        yield lease.claim(extra=extra)
        return
    while claimed := lease.claim(targets=targets, budget=budget, order=order):
        yield claimed


def check_snapshots(cfg: Config) -> None:
    """There is something to evaluate (a one-line ValueError otherwise)."""
    if not discover_snapshots(cfg.results_dir, cfg.board.size, cfg.eval.runs):
        runs = Layout(cfg.results_dir).runs
        raise ValueError(f"no board-{cfg.board.size} snapshots under {runs}")


def _active_rounds(cfg: Config, pool: Pool, lease: Lease, engine: MatchEngine, account) -> dict:
    """Jones's active pairing: a sparse start, then rounds of the most informative pairs until
    the SE target. Each round claims `games_per_round` more games of its pairs than anyone has
    recorded or claimed, so concurrent evaluations add games instead of waiting on each other."""
    active = cfg.eval.active_cfg
    per_colour = active.games_per_round // 2
    start = initial_active_targets(pool.reference, active.initial_neighbours, per_colour)
    targets = dict(pool.targets)
    for pair, n in start.items():
        targets[pair] = max(targets.get(pair, 0), n)
    account(play_claimed(cfg, pool, lease, engine, targets=targets, desc="active start"))
    out = {"active_rounds": 0}
    for round_index in range(active.max_rounds):
        suggestion = elo_table.suggest(
            cfg.results_dir,
            cfg.board.size,
            active.pairs_per_round,
            cfg.eval.reference_nodes,
            model=cfg.eval.elo_model,
            pseudo_games=cfg.eval.elo_pseudo_games,
            se_target=cfg.eval.se_target,
            scope=cfg.eval.se_scope,
            games=active.games_per_round,
            among=pool.agents,
        )
        out["max_se"] = suggestion.max_se_for(cfg.eval.se_scope)
        if out["max_se"] < cfg.eval.se_target or not suggestion.pairs:
            break
        extra = {pair: per_colour for a, b in suggestion.pairs for pair in ((a, b), (b, a))}
        desc = f"active round {round_index + 1}"
        account(play_claimed(cfg, pool, lease, engine, extra=extra, desc=desc))
        out["active_rounds"] = round_index + 1
    return out


def evaluate(cfg: Config) -> dict:
    """Discover snapshots, record the pool in agents.parquet, and play the missing games (or
    the active rounds) into matches.parquet. Returns a summary dict (agents, games played,
    wall_s of play including compilation, games_per_s). The Elo table is `main`'s last step."""
    validate_eval(cfg)
    check_snapshots(cfg)
    size = cfg.board.size
    pool = build_pool(cfg, discover_snapshots(cfg.results_dir, size, cfg.eval.runs))
    rows = pd.DataFrame([a.row() for a in pool.agents.values()])
    tables.merge_agents(cfg.results_dir, size, rows)
    arch = architecture_capacity(pool.agents.values()) if cfg.eval.batch.share_programs else None
    engine = MatchEngine(size, arch=arch)
    summary = {"board_size": size, "agents": len(pool.agents), "games": 0, "wall_s": 0.0}

    def account(stats):
        summary["games"] += stats["games"]
        summary["wall_s"] += stats["wall_s"]

    with Lease(cfg.results_dir, size, cfg.eval.claim_lease_s) as lease:
        if not cfg.eval.active:
            account(play_claimed(cfg, pool, lease, engine, targets=pool.targets))
        else:
            summary.update(_active_rounds(cfg, pool, lease, engine, account))
    summary["games_per_s"] = summary["games"] / summary["wall_s"] if summary["wall_s"] else math.nan
    summary["compiled_move_fns"] = engine.compiled_move_fns
    return summary


@hydra_main
def main(cfg: DictConfig) -> None:
    job = load(cfg, validate_eval, check_results_dir, check_snapshots)
    configure_jax(job.compile_cache)
    try:
        summary = evaluate(job)
    except CorruptFileError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    print(
        f"played {summary['games']:,} games in {summary['wall_s']:.1f} s "
        f"({summary['games_per_s']:.1f} games/s), {summary['agents']} agents"
    )
    if job.eval.elo:
        table = elo_table.build(
            job.results_dir,
            job.board.size,
            model=job.eval.elo_model,
            pseudo_games=job.eval.elo_pseudo_games,
        )
        elo_table.print_tables(table)
