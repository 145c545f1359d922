"""The evaluation pool of one board: who plays (snapshots at the reference node count, their
node variants, solver anchors) and how many games each ordered pair should have (spec §5).

An agent is (snapshot, test node count, test search settings, sampled | argmax moves), or an
anchor: the exact solver ("perfect"), ε-perfect players and the random player. The round-robin
pool holds every snapshot at `eval.reference_nodes` plus the anchors; each snapshot's node
variants only play variants of the same snapshot and join the pool through it (Jones 2021).
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

from agents.search import SearchConfig
from hex_env import solver
from pipeline.infra import tables
from pipeline.infra.config import AnchorConfig, Config
from pipeline.infra.layout import Layout
from pipeline.infra.provenance import snapshot_device
from pipeline.infra.snapshot import check_snapshot, load_meta


@dataclasses.dataclass(frozen=True)
class AgentSpec:
    """One player of the pool. Network fields are None for anchors, `eps` None for networks."""

    agent: str  # unique id within a board's pool
    kind: str  # network | perfect | eps_perfect | random
    board_size: int
    run: str | None = None
    snapshot: int | None = None
    snapshot_dir: str | None = None
    width: int | None = None
    depth: int | None = None
    search: str | None = None  # search kind at test time
    search_settings: str | None = None  # JSON of the test-time SearchConfig (nodes included)
    test_nodes: int | None = None
    greedy: bool | None = None
    eps: float | None = None
    params: int | None = None
    train_flops_jones: float | None = None
    train_flops_standard: float | None = None
    forward_flops_jones: float | None = None
    forward_flops_standard: float | None = None
    # the device the snapshot was trained on (meta.json; None: anchors, older snapshots)
    train_backend: str | None = None  # cpu | gpu | tpu
    train_device_kind: str | None = None
    train_jax_version: str | None = None

    def compile_key(self, arch: tuple[int, int] | None = None) -> tuple:
        """Agents with equal keys share one compiled move function
        (`pipeline.evaluate.match_engine`): same architecture (or every net padded to `arch` =
        (width, depth)), test search (node count aside) and move rule; whether it searches at all
        (one node needs no tree) is part of the key, the node count is not."""
        if self.kind != "network":
            return ("anchor",)
        settings = {k: v for k, v in json.loads(self.search_settings).items() if k != "nodes"}
        search = json.dumps(settings, sort_keys=True)
        shape = arch or (self.width, self.depth)
        return ("network", shape, search, self.greedy, self.test_nodes > 1)

    def row(self) -> dict:
        """This agent as a row of `agents.parquet` (pipeline.infra.tables.AGENT_COLUMNS)."""
        row = {c: getattr(self, c, None) for c in tables.AGENT_COLUMNS}
        if self.kind == "network":
            row["test_flops_jones"] = self.test_nodes * self.forward_flops_jones
            row["test_flops_standard"] = self.test_nodes * self.forward_flops_standard
        return row


def next_pow2(n: int) -> int:
    """The smallest power of two ≥ `n` (1 for n ≤ 1)."""
    return 1 << max(0, int(n) - 1).bit_length()


def node_capacity(nodes: int) -> int:
    """Tree capacity for players of `nodes` nodes: the next power of two (1: no search). One
    compiled search serves every node count up to it; a roomier tree costs little in the match
    engine's flat layout (docs/benchmarks.md), so the capacity only keeps the number of
    compiled programs small."""
    return next_pow2(nodes)


def architecture_capacity(agents) -> tuple[int, int]:
    """(widest, deepest) of a pool's networks: the shape every net is zero-padded to when
    architectures share programs (`eval.batch.share_programs`)."""
    nets = [a for a in agents if a.kind == "network"]
    return (max((a.width for a in nets), default=1), max((a.depth for a in nets), default=0))


def network_agent_id(run: str, snapshot: int, nodes: int, greedy: bool, search: str = "") -> str:
    """`<run>/<NN>@<nodes>[/<test search>][/argmax]`; the test search is named only where it
    differs from the one the snapshot was trained with."""
    return (
        f"{run}/{snapshot:02d}@{nodes}"
        + (f"/{search}" if search else "")
        + ("/argmax" if greedy else "")
    )


def network_agent(
    snapshot_dir: str | Path, meta: dict, nodes: int, greedy: bool, override: dict | None = None
) -> AgentSpec:
    """The snapshot at `snapshot_dir` playing with `nodes` evaluations per move and its training
    search settings, with the fields in `override` replaced (a test-time search). The device it
    was trained on comes from the meta (None where a snapshot predates recording it)."""
    device = snapshot_device(meta)
    trained = SearchConfig(**meta["search"])
    search = dataclasses.replace(trained, **(override or {}), nodes=int(nodes))
    search.validate()
    changed = {
        k: v for k, v in dataclasses.asdict(search).items()
        if k != "nodes" and v != getattr(trained, k)
    }  # fmt: skip
    renamed = "-".join(
        [search.kind] + [f"{k}{v}" for k, v in sorted(changed.items()) if k != "kind"]
    )
    renamed = renamed if changed else ""
    return AgentSpec(
        agent=network_agent_id(meta["run_name"], int(meta["index"]), int(nodes), greedy, renamed),
        kind="network",
        board_size=int(meta["board_size"]),
        run=meta["run_name"],
        snapshot=int(meta["index"]),
        snapshot_dir=str(snapshot_dir),
        width=int(meta["width"]),
        depth=int(meta["depth"]),
        search=search.kind,
        search_settings=json.dumps(dataclasses.asdict(search), sort_keys=True),
        test_nodes=int(nodes),
        greedy=bool(greedy),
        params=int(meta["params"]),
        train_flops_jones=float(meta["train_flops_jones"]),
        train_flops_standard=float(meta["train_flops_standard"]),
        forward_flops_jones=float(meta["forward_flops_jones"]),
        forward_flops_standard=float(meta["forward_flops_standard"]),
        train_backend=device["backend"],
        train_device_kind=device["device_kind"],
        train_jax_version=device["jax_version"],
    )


def anchor_agents(size: int, anchors: AnchorConfig) -> list[AgentSpec]:
    """Perfect and ε-perfect players where the solver handles the board, and the random one."""
    out = []
    if solver.can_solve(size):
        if anchors.perfect:
            out.append(AgentSpec("perfect", "perfect", size, eps=0.0))
        for eps in anchors.eps:
            out.append(AgentSpec(f"eps-perfect-{eps:g}", "eps_perfect", size, eps=float(eps)))
    if anchors.random:
        out.append(AgentSpec("random", "random", size, eps=1.0))
    return out


def discover_snapshots(
    results_dir: str | Path, size: int, runs: list[str] | tuple[str, ...] = ()
) -> list[tuple[Path, dict]]:
    """(directory, meta) of every complete snapshot of board `size` under the results
    directory, sorted by (run, index); `runs` restricts the run names. A damaged snapshot is
    skipped with a one-line warning naming it (`pipeline.infra.snapshot.check_snapshot`)."""
    found = []
    for directory in Layout(results_dir).snapshot_dirs():
        problem = check_snapshot(directory)
        if problem:
            print(f"warning: skipping {problem}", file=sys.stderr)
            continue
        meta = load_meta(directory)
        if int(meta["board_size"]) != size or (runs and meta["run_name"] not in runs):
            continue
        found.append((directory, meta))
    return sorted(found, key=lambda item: (item[1]["run_name"], int(item[1]["index"])))


def _variant_indices(spec: str, snapshots: list[tuple[Path, dict]]) -> set[tuple[str, int]]:
    keys = [(m["run_name"], int(m["index"])) for _, m in snapshots]
    if spec == "none":
        return set()
    if spec == "all":
        return set(keys)
    if spec == "last" or spec.startswith("spread:"):
        last: dict[str, int] = {}
        for run, index in keys:
            last[run] = max(last.get(run, index), index)
        if spec == "last":
            return set(last.items())
        n = int(spec.removeprefix("spread:"))  # indices round(k·last/n), k = 1…n, that exist
        wanted = {(run, round(k * end / n)) for run, end in last.items() for k in range(1, n + 1)}
        return wanted & set(keys)
    wanted = {int(s) for s in spec.split(",")}
    return {k for k in keys if k[1] in wanted}


@dataclasses.dataclass(frozen=True)
class Pool:
    """Every agent of one evaluation, and which ordered pairs should have how many games."""

    agents: dict[str, AgentSpec]  # by id
    reference: list[str]  # round-robin pool: snapshots at reference_nodes, then anchors
    targets: dict[tuple[str, str], int]  # (black, white) → games wanted with these colours


def build_pool(cfg: Config, snapshots: list[tuple[Path, dict]]) -> Pool:
    """Agents and target game counts for `cfg` (active mode: node-variant targets only; the
    round-robin pairs are chosen as it goes)."""
    ev = cfg.eval
    override = ev.search_override.fields()

    def agent(directory, meta, nodes):
        return network_agent(directory, meta, nodes, ev.greedy, override)

    agents: dict[str, AgentSpec] = {}
    reference = []
    for directory, meta in snapshots:
        spec = agent(directory, meta, ev.reference_nodes)
        agents[spec.agent] = spec
        reference.append(spec.agent)
    for spec in anchor_agents(cfg.board.size, ev.anchors):
        agents[spec.agent] = spec
        reference.append(spec.agent)

    targets: dict[tuple[str, str], int] = {}
    if not ev.active:
        per_colour = ev.games_per_pair // 2
        for a in reference:
            for b in reference:
                if a != b:
                    targets[(a, b)] = per_colour

    variant_per_colour = (ev.variant_games_per_pair or ev.games_per_pair) // 2
    chosen = _variant_indices(ev.variant_snapshots, snapshots)
    for directory, meta in snapshots:
        if (meta["run_name"], int(meta["index"])) not in chosen:
            continue
        family = [agent(directory, meta, ev.reference_nodes).agent]
        for nodes in sorted({int(n) for n in ev.node_variants} - {ev.reference_nodes}):
            spec = agent(directory, meta, nodes)
            agents[spec.agent] = spec
            family.append(spec.agent)
        for a in family:
            for b in family:
                if a != b:
                    targets[(a, b)] = max(targets.get((a, b), 0), variant_per_colour)
    return Pool(agents, reference, targets)


def missing_games(
    targets: dict[tuple[str, str], int], played: dict[tuple[str, str], int]
) -> dict[tuple[str, str], int]:
    """Games still to play per ordered pair: target minus recorded, pairs with none left dropped."""
    need = {pair: n - played.get(pair, 0) for pair, n in targets.items()}
    return {pair: n for pair, n in need.items() if n > 0}


def initial_active_targets(reference: list[str], neighbours: int, per_colour: int) -> dict:
    """Sparse connected start for active pairing: each agent vs its `neighbours` next agents
    on a ring over the pool (snapshots sorted by run and index, so neighbours are of similar
    strength, then the anchors), both colours."""
    targets = {}
    n = len(reference)
    for i, a in enumerate(reference):
        for k in range(1, min(neighbours, n - 1) + 1):
            b = reference[(i + k) % n]
            targets[(a, b)] = targets[(b, a)] = per_colour
    return targets
