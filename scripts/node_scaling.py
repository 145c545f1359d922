"""Node scaling on trained agents: Elo vs test node count, per test-time search, with SEs.

    .venv/bin/python scripts/node_scaling.py --results-dir outputs/nodescale --board 4 \\
        --run b4-w16-d2-jones64-seed0 --snapshots 3,7,11

For each test-time search (Jones's search; the corrected λ at c = 1/16, 1/4, 1; PUCT; Gumbel)
the chosen snapshots of one run play as node variants 1, 2, 4, …, 128 (each variant against every
other variant of the same snapshot and search), joined through the snapshot's reference agent to
the round-robin pool of that run at 64 nodes and the anchors (on boards the solver handles, the
exact solver anchors perfect = 0, so the searches share one scale). Everything runs through
`pipeline.evaluate`, so a rerun plays only missing games. Writes every (search, snapshot, nodes)
Elo with its SE, the Elo per decade of nodes (least squares of Elo on log10 nodes, 1…64, its SE
from the fit's covariance) and whether Elo rises at every doubling (within the SE of the step,
from the same covariance), to a JSON file keyed by board and run (other boards' and runs' rows
are kept). `--se-target` then plays Jones's active rounds
(`eval.se_scope=all`) until every rating of each search, variants included, has an SE relative
to the anchor below it; `--searches ''` plays nothing and rewrites the JSON from the Elo table.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from analysis.tradeoffs import node_scaling
from pipeline.evaluate import elo_table
from pipeline.evaluate.pool import discover_snapshots, network_agent
from pipeline.evaluate.run import evaluate
from pipeline.infra import tables
from pipeline.infra.config import compose
from pipeline.infra.files import atomic_write_json
from pipeline.infra.layout import Layout
from pipeline.infra.provenance import code_version

REPO = Path(__file__).resolve().parents[1]
SEARCHES = {  # label → eval.search_override
    "jones": {"kind": "jones"},
    "grill c=1/16": {"kind": "grill", "c": 0.0625},
    "grill c=1/4": {"kind": "grill", "c": 0.25},
    "grill c=1": {"kind": "grill", "c": 1.0},
    "puct": {"kind": "puct"},
    "gumbel": {"kind": "gumbel"},
}
FIT_FIELDS = ("elo_per_decade_1_64", "elo_per_decade_se", "rises_every_doubling_within_1se",
              "doubling_gains", "doubling_se", "step_se_basis")  # fmt: skip


def _override(search: dict) -> list[str]:
    return [f"eval.search_override.{k}={v}" for k, v in search.items()]


def merge(previous: dict, board: int, run: str, config: dict, rows: list, fits: list) -> dict:
    """`previous` results with this board and run's config, rows and fits replaced (rows from
    before results were keyed by run count as this board's); other boards and runs are kept."""
    mine = lambda x: x["board"] == board and x.get("run", run) == run  # noqa: E731
    configs = previous.get("config", {})
    return {
        "config": {
            **{k: v for k, v in configs.items() if k not in (f"b{board}/{run}", f"b{board}")},
            f"b{board}/{run}": config,
        },
        "rows": [x for x in previous.get("rows", []) if not mine(x)] + rows,
        "fits": [x for x in previous.get("fits", []) if not mine(x)] + fits,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results-dir", required=True)
    parser.add_argument("--board", type=int, required=True)
    parser.add_argument("--run", required=True, help="run name whose snapshots are measured")
    parser.add_argument("--snapshots", required=True, help="comma list of snapshot indices")
    parser.add_argument("--nodes", default="1,2,4,8,16,32,64,128")
    parser.add_argument("--games", type=int, default=64, help="games per variant pair")
    parser.add_argument(
        "--pool-games", type=int, default=16, help="games per pair of the 64-node round robin"
    )
    parser.add_argument("--searches", default=",".join(SEARCHES))
    parser.add_argument(
        "--se-target", type=float, help="Elo: active rounds until every SE vs the anchor is below"
    )
    parser.add_argument("--out", default=str(REPO / "docs" / "results" / "node_scaling.json"))
    args = parser.parse_args()
    nodes = [int(n) for n in args.nodes.split(",")]
    labels = [label for label in args.searches.split(",") if label]
    unknown = [label for label in labels if label not in SEARCHES]
    if unknown:
        parser.error(f"unknown search {unknown[0]!r}; choose from {', '.join(SEARCHES)}")
    base = [
        f"results_dir={args.results_dir}",
        f"board.size={args.board}",
        f"eval.runs=[{args.run}]",
        "eval.reference_nodes=64",
        f"eval.node_variants=[{','.join(map(str, nodes))}]",
        f"eval.variant_snapshots='{args.snapshots}'",
        f"eval.games_per_pair={args.pool_games}",  # the run's 64-node round robin: the link
        f"eval.variant_games_per_pair={args.games}",
        "eval.elo=false",
    ]
    if args.se_target is not None:
        base += ["eval.active=true", f"eval.se_target={args.se_target}", "eval.se_scope=all"]
    for label in labels:
        print(f"== {label}", flush=True)
        summary = evaluate(compose(*base, *_override(SEARCHES[label])))
        largest = f", largest SE {summary['max_se']:.1f}" if "max_se" in summary else ""
        print(f"   {summary['games']:,} games in {summary['wall_s']:.0f} s{largest}", flush=True)
    table = elo_table.build(args.results_dir, args.board)
    cov = tables.read_covariances(args.results_dir)[args.board]  # the fit `build` wrote
    games = tables.read_matches(args.results_dir, args.board).groupby(["black", "white"])
    games = games["games"].sum()
    table = table[table["run"] == args.run]
    wanted = {int(s) for s in args.snapshots.split(",")}
    version = code_version()
    rows, fits = [], []
    for label in SEARCHES:  # every search measured so far on this run, all on one fitted scale
        probe = compose(*base, *_override(SEARCHES[label]))
        ids = {}
        for directory, meta in discover_snapshots(args.results_dir, args.board, [args.run]):
            if int(meta["index"]) not in wanted:
                continue
            for n in nodes:
                spec = network_agent(
                    directory, meta, n, probe.eval.greedy, probe.eval.search_override.fields()
                )
                ids[spec.agent] = (int(meta["index"]), n, float(meta["train_flops_jones"]))
        part = table[table["agent"].isin(ids)]
        for _, r in part.iterrows():
            snapshot, n, flops = ids[r["agent"]]
            rows.append(
                {"search": label, "board": args.board, "run": args.run, "snapshot": snapshot,
                 "train_flops_jones": flops, "nodes": n, "elo": float(r["elo"]),
                 "elo_se": float(r["elo_se"]), "agent": r["agent"], "games": int(r["games"])}
            )  # fmt: skip
    df = pd.DataFrame(rows)
    for (label, snapshot), g in df.groupby(["search", "snapshot"]):
        if g["nodes"].nunique() < 2:  # only the 64-node pool agent: no variants measured yet
            continue
        scaling = node_scaling(g, cov)
        family = list(g["agent"])
        per_pair = [  # both colours: what each pair of the family actually played
            games.get((a, b), 0) + games.get((b, a), 0)
            for i, a in enumerate(family) for b in family[i + 1 :]
        ]  # fmt: skip
        fits.append(
            {"search": label, "board": args.board, "run": args.run, "snapshot": int(snapshot),
             "games_per_variant_pair": [int(min(per_pair)), int(max(per_pair))],
             **{k: scaling[k] for k in FIT_FIELDS}}
        )  # fmt: skip
    out = Path(args.out)
    previous = json.loads(out.read_text()) if out.exists() else {}
    config = {  # where this board and run's games are
        "results_dir": args.results_dir,
        "run": args.run,
        "code_version": version,
        "snapshots": sorted(wanted),
        "nodes": nodes,
        # this invocation's targets; each fit records what its family played
        "games_per_variant_pair": args.games if labels else None,
        "pool_games_per_pair": args.pool_games if labels else None,
        "se_target": args.se_target,
        "anchor": ", ".join(map(str, table["anchor"].unique())),
    }
    result = {
        "description": __doc__.splitlines()[0],
        "protocol": "sampled moves from the search policy, each search's paper noise setting; "
        "Elo: Jones's colour-symmetrised Bradley-Terry, anchor perfect=0 where the solver plays; "
        "slope: least squares on log10 nodes 1-64; SEs of slopes and steps from the fit's "
        "covariance",
        "code_version": version,
        **merge(previous, args.board, args.run, config, rows, fits),
    }
    atomic_write_json(out, result)
    print(pd.DataFrame(fits).to_string(index=False))
    print(f"wrote {out}; Elo table {Layout(args.results_dir).board(args.board).elo}")


if __name__ == "__main__":
    main()
