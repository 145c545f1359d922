"""Tournaments between snapshots, solver anchors and node-count variants (hex_experiments.md §5).

    python -m pipeline.evaluate results_dir=outputs board.size=3 games_per_pair=64

An agent is (snapshot, test node count, search settings, sampled | argmax moves), or an anchor:
the exact solver ("perfect"), ε-perfect players and the random player (`agents.players`). The
pool of board b holds every snapshot under `results_dir/runs/*/snapshots/*/` at
`reference_nodes` (Jones: 64) plus the anchors; they play a round robin, both colours, from the
empty board. Each snapshot's node-count variants (`node_variants`) only play the variants of the
same snapshot and join the pool through it (Jones 2021). With `active=true` the round robin is
replaced by Jones's active pairing: a sparse start, then rounds of the pairs that most reduce
rating variance, until every pool rating's standard error is below `se_target`.

The plan is "target games per ordered (black, white) pair minus games already in the match
file", so re-running on a grown results directory plays only the missing games.

Device work: players of one class (network width, depth, search settings, node count and move
rule; or the anchors, which differ only in ε) share one jitted move function, vmapped over
pairings (stacked params, one set per pairing) and over the games of each pairing. A batch plays
P pairings × G games between one black class and one white class; every ply is one compiled
call, so a round robin of a few hundred same-architecture agents is a few hundred calls.

Ratings belong to evaluation: this module writes the match and agent files (`pipeline.results`),
fits Bradley–Terry in-process (`pipeline.ratings`, `pipeline.elo_table`) to choose active pairs
and to write the Elo tables at the end; `analysis/` only reads those tables.
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import hydra
import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

import hex_env as he
from agents.players import eps_perfect_act_fn, network_act_fn
from agents.search import SearchConfig
from agents.snapshot import load_meta, load_snapshot
from hex_env import solver
from pipeline import elo_table, results

KINDS = ("network", "perfect", "eps_perfect", "random")


class EvalConfigError(ValueError):
    """A bad setting or missing input, found before any game is played."""


@dataclasses.dataclass
class EvalBoardConfig:
    size: int = MISSING  # side of the b×b board (required)


@dataclasses.dataclass
class AnchorConfig:
    perfect: bool = True  # exact solver, where it handles the board (b ≤ 4)
    eps: list[float] = dataclasses.field(default_factory=lambda: [0.1, 0.3])  # ε-perfect, b ≤ 4
    random: bool = True  # uniformly random legal moves (ε = 1)


@dataclasses.dataclass
class ActiveConfig:
    initial_neighbours: int = 2  # start: each agent vs this many neighbours on each side
    pairs_per_round: int = 64  # unordered pairs played per active round
    games_per_round: int = 16  # games per chosen pair per round, both colours (even)
    max_rounds: int = 100  # stop after this many rounds even if the SE target is not met


@dataclasses.dataclass
class BatchConfig:
    max_games_per_call: int = 4096  # games (pairings × games each) in one compiled call
    max_pairs_per_call: int = 256  # pairings in one compiled call
    full_calls: bool = False  # pad every call to the full pairings per call (fewer compiles)


@dataclasses.dataclass
class EvalJobConfig:
    results_dir: str = "outputs"  # holds runs/ (input) and eval/ (output)
    board: EvalBoardConfig = dataclasses.field(default_factory=EvalBoardConfig)
    runs: list[str] = dataclasses.field(default_factory=list)  # run names to include; []: all
    games_per_pair: int = 64  # games per unordered pair, half with each colour (Jones: 1,024)
    reference_nodes: int = 64  # round-robin node count (Jones: 64)
    node_variants: list[int] = dataclasses.field(
        default_factory=lambda: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]
    )  # test node counts of the variants
    variant_snapshots: str = "all"  # all | last (of each run) | none | comma list "4,20"
    variant_games_per_pair: int | None = None  # null: games_per_pair
    greedy: bool = False  # argmax of the search policy instead of sampling from it
    anchors: AnchorConfig = dataclasses.field(default_factory=AnchorConfig)
    active: bool = False  # Jones's active pairing instead of the full round robin
    se_target: float = 50.0  # Elo; active mode stops when every pool rating's SE is below it
    active_cfg: ActiveConfig = dataclasses.field(default_factory=ActiveConfig)
    seed: int = 0
    batch: BatchConfig = dataclasses.field(default_factory=BatchConfig)
    progress: bool = True  # tqdm progress bar (games done / planned, ETA)
    elo: bool = True  # fit and print the Elo table at the end (pipeline.elo_table)


def register_configs() -> None:
    ConfigStore.instance().store(name="evaluate_schema", node=EvalJobConfig)


def _variant_spec(spec: str) -> None:
    if spec in ("all", "last", "none"):
        return
    try:
        [int(s) for s in spec.split(",")]
    except ValueError:
        raise EvalConfigError(
            f"variant_snapshots must be all, last, none or a comma list of indices, got {spec!r}"
        ) from None


def validate(cfg: EvalJobConfig) -> None:
    """Reject bad values with a one-line ValueError, before anything is compiled or played."""
    checks = [
        (2 <= cfg.board.size <= 19, f"board.size must be in 2..19, got {cfg.board.size}"),
        (
            cfg.games_per_pair >= 2 and cfg.games_per_pair % 2 == 0,
            f"games_per_pair must be even and >= 2 (half per colour), got {cfg.games_per_pair}",
        ),
        (
            cfg.variant_games_per_pair is None
            or (cfg.variant_games_per_pair >= 2 and cfg.variant_games_per_pair % 2 == 0),
            f"variant_games_per_pair must be even and >= 2, got {cfg.variant_games_per_pair}",
        ),
        (cfg.reference_nodes >= 1, f"reference_nodes must be >= 1, got {cfg.reference_nodes}"),
        (
            all(int(n) >= 1 for n in cfg.node_variants),
            f"node_variants must all be >= 1, got {list(cfg.node_variants)}",
        ),
        (
            all(0.0 < e < 1.0 for e in cfg.anchors.eps),
            f"anchors.eps must lie in (0, 1), got {list(cfg.anchors.eps)}",
        ),
        (cfg.se_target > 0, f"se_target must be > 0 Elo, got {cfg.se_target}"),
        (cfg.active_cfg.initial_neighbours >= 1, "active_cfg.initial_neighbours must be >= 1"),
        (cfg.active_cfg.pairs_per_round >= 1, "active_cfg.pairs_per_round must be >= 1"),
        (
            cfg.active_cfg.games_per_round >= 2 and cfg.active_cfg.games_per_round % 2 == 0,
            "active_cfg.games_per_round must be even and >= 2",
        ),
        (cfg.batch.max_games_per_call >= 1, "batch.max_games_per_call must be >= 1"),
        (cfg.batch.max_pairs_per_call >= 1, "batch.max_pairs_per_call must be >= 1"),
    ]
    for ok, message in checks:
        if not ok:
            raise EvalConfigError(message)
    _variant_spec(cfg.variant_snapshots)


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
    search: str | None = None  # search kind of the snapshot
    search_settings: str | None = None  # JSON of the test-time SearchConfig (nodes included)
    test_nodes: int | None = None
    greedy: bool | None = None
    eps: float | None = None
    params: int | None = None
    train_flops_jones: float | None = None
    train_flops_standard: float | None = None
    forward_flops_jones: float | None = None
    forward_flops_standard: float | None = None

    @property
    def class_key(self) -> tuple:
        """Agents with equal keys share one compiled move function."""
        if self.kind == "network":
            return ("network", self.width, self.depth, self.search_settings, self.greedy)
        return ("anchor",)

    def row(self) -> dict:
        """This agent as a row of `agents.parquet` (pipeline.results.AGENT_COLUMNS)."""
        row = {c: getattr(self, c, None) for c in results.AGENT_COLUMNS}
        if self.kind == "network":
            row["test_flops_jones"] = self.test_nodes * self.forward_flops_jones
            row["test_flops_standard"] = self.test_nodes * self.forward_flops_standard
        return row


def network_agent_id(run: str, snapshot: int, nodes: int, greedy: bool) -> str:
    return f"{run}/{snapshot:02d}@{nodes}" + ("/argmax" if greedy else "")


def network_agent(snapshot_dir: str | Path, meta: dict, nodes: int, greedy: bool) -> AgentSpec:
    """The snapshot at `snapshot_dir` playing with `nodes` evaluations per move, otherwise with
    its training search settings (no exploration noise at test time)."""
    search = dataclasses.replace(SearchConfig(**meta["search"]), nodes=int(nodes))
    return AgentSpec(
        agent=network_agent_id(meta["run_name"], int(meta["index"]), int(nodes), greedy),
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
    )


def anchor_agents(size: int, anchors: AnchorConfig) -> list[AgentSpec]:
    """Perfect and ε-perfect players where the solver handles the board, and the random one."""
    out = []
    if size <= solver.MAX_SOLVED_SIZE:
        if anchors.perfect:
            out.append(AgentSpec("perfect", "perfect", size, eps=0.0))
        for eps in anchors.eps:
            out.append(AgentSpec(f"eps-perfect-{eps:g}", "eps_perfect", size, eps=float(eps)))
    if anchors.random:
        out.append(AgentSpec("random", "random", size, eps=1.0))
    return out


def discover_snapshots(
    results_dir: str | Path, size: int, runs: Sequence[str] = ()
) -> list[tuple[Path, dict]]:
    """(directory, meta) of every complete snapshot of board `size` under
    `results_dir/runs/*/snapshots/*/`, sorted by (run, index); `runs` restricts the run names."""
    found = []
    for meta_file in sorted(Path(results_dir).glob("runs/*/snapshots/*/meta.json")):
        directory = meta_file.parent
        if directory.name.startswith("."):
            continue  # a snapshot still being written (agents.snapshot writes into .NN.*)
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
    if spec == "last":
        last: dict[str, int] = {}
        for run, index in keys:
            last[run] = max(last.get(run, index), index)
        return set(last.items())
    wanted = {int(s) for s in spec.split(",")}
    return {k for k in keys if k[1] in wanted}


@dataclasses.dataclass(frozen=True)
class Pool:
    """Every agent of one evaluation, and which ordered pairs should have how many games."""

    agents: dict[str, AgentSpec]  # by id
    reference: list[str]  # round-robin pool: snapshots at reference_nodes, then anchors
    targets: dict[tuple[str, str], int]  # (black, white) → games wanted with these colours


def build_pool(cfg: EvalJobConfig, snapshots: list[tuple[Path, dict]]) -> Pool:
    """Agents and target game counts for `cfg` (active mode: node-variant targets only; the
    round-robin pairs are chosen as it goes)."""
    size = cfg.board.size
    agents: dict[str, AgentSpec] = {}
    reference = []
    for directory, meta in snapshots:
        spec = network_agent(directory, meta, cfg.reference_nodes, cfg.greedy)
        agents[spec.agent] = spec
        reference.append(spec.agent)
    for spec in anchor_agents(size, cfg.anchors):
        agents[spec.agent] = spec
        reference.append(spec.agent)

    targets: dict[tuple[str, str], int] = {}
    if not cfg.active:
        per_colour = cfg.games_per_pair // 2
        for a in reference:
            for b in reference:
                if a != b:
                    targets[(a, b)] = per_colour

    variant_per_colour = (cfg.variant_games_per_pair or cfg.games_per_pair) // 2
    chosen = _variant_indices(cfg.variant_snapshots, snapshots)
    for directory, meta in snapshots:
        if (meta["run_name"], int(meta["index"])) not in chosen:
            continue
        run, index = meta["run_name"], int(meta["index"])
        family = [network_agent_id(run, index, cfg.reference_nodes, cfg.greedy)]
        for nodes in sorted({int(n) for n in cfg.node_variants} - {cfg.reference_nodes}):
            spec = network_agent(directory, meta, nodes, cfg.greedy)
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


def _next_pow2(n: int) -> int:
    return 1 << max(0, int(n) - 1).bit_length()


@dataclasses.dataclass(frozen=True)
class Batch:
    """Pairings of one black class against one white class, played in one set of calls."""

    black: list[AgentSpec]  # [P]
    white: list[AgentSpec]  # [P]
    games: list[int]  # [P] games to record per pairing (≤ games_per_pairing)
    games_per_pairing: int  # G, the static number of games each pairing plays on device
    pairs_on_device: int  # P rounded up (power of two, or the full call); repeats are dropped


def make_batches(
    need: dict[tuple[str, str], int], agents: dict[str, AgentSpec], batch: BatchConfig
) -> list[Batch]:
    """Group the missing games by (black class, white class) and cut them into device batches
    of at most `batch.max_games_per_call` games and `batch.max_pairs_per_call` pairings. Game
    counts are rounded up to powers of two on device (the surplus is not recorded), and so are
    pairing counts unless `batch.full_calls` pads them to the full call, so a whole evaluation
    compiles only a few shapes per class."""
    groups: dict[tuple, list[tuple[str, str, int]]] = {}
    for (b, w), n in sorted(need.items()):
        key = (agents[b].class_key, agents[w].class_key)
        groups.setdefault(key, []).append((b, w, n))
    out = []
    for items in groups.values():
        per_pairing = min(_next_pow2(max(n for _, _, n in items)), batch.max_games_per_call)
        chunks = []
        for b, w, n in items:
            while n > 0:
                chunks.append((b, w, min(n, per_pairing)))
                n -= per_pairing
        pairs_per_call = min(batch.max_pairs_per_call, batch.max_games_per_call // per_pairing)
        pairs_per_call = max(1, pairs_per_call)
        for start in range(0, len(chunks), pairs_per_call):
            part = chunks[start : start + pairs_per_call]
            out.append(
                Batch(
                    black=[agents[b] for b, _, _ in part],
                    white=[agents[w] for _, w, _ in part],
                    games=[n for _, _, n in part],
                    games_per_pairing=per_pairing,
                    pairs_on_device=pairs_per_call if batch.full_calls else _next_pow2(len(part)),
                )
            )
    return out


_MOVE_FNS: dict[tuple, object] = {}  # (size, class key) → jitted move function


def _make_move_fn(size: int, spec: AgentSpec):
    """Jitted `move(params [P, ...], key, states [P, G]) -> states`: one ply of every game of
    P pairings, the mover of all of them being `spec`'s class (params differ per pairing)."""
    if spec.kind == "network":
        search = SearchConfig(**json.loads(spec.search_settings))
        act = network_act_fn(size, spec.width, spec.depth, search, greedy=spec.greedy)
    else:
        act = eps_perfect_act_fn(size)

    def move(params, key, states):
        keys = jax.random.split(key, states.ply.shape[0])
        actions = jax.vmap(act)(params, keys, states)
        return jax.vmap(jax.vmap(he.step))(states, actions)

    return jax.jit(move)


class MatchEngine:
    """Plays `Batch`es on device: one jitted, pairing- and game-vmapped move function per player
    class, params loaded once per snapshot and stacked per batch."""

    def __init__(self, size: int):
        self.size = size
        self._moves: dict[tuple, object] = {}
        self._params: dict[str, object] = {}

    def _move_fn(self, spec: AgentSpec):
        key = (self.size, spec.class_key)
        if key not in _MOVE_FNS:  # module-level, so later evaluations in a process reuse it
            _MOVE_FNS[key] = _make_move_fn(self.size, spec)
        self._moves[key] = _MOVE_FNS[key]
        return _MOVE_FNS[key]

    def _stacked_params(self, specs: Sequence[AgentSpec]):
        if specs[0].kind != "network":
            return jnp.asarray([s.eps for s in specs], jnp.float32)
        for s in specs:
            if s.snapshot_dir not in self._params:
                params, _ = load_snapshot(Path(s.snapshot_dir))
                self._params[s.snapshot_dir] = jax.device_get(params)
        trees = [self._params[s.snapshot_dir] for s in specs]
        return jax.tree.map(lambda *leaves: jnp.asarray(np.stack(leaves)), *trees)

    def play(self, batch: Batch, key: jax.Array) -> np.ndarray:
        """Black wins per pairing [P] over the first `batch.games[p]` games of each; `key` is
        consumed. Pairings are padded to `batch.pairs_on_device` with repeats whose games are
        dropped, so that calls of a class share a few compiled shapes."""
        n_pairs = len(batch.games)
        padded = batch.pairs_on_device
        black = list(batch.black) + [batch.black[0]] * (padded - n_pairs)
        white = list(batch.white) + [batch.white[0]] * (padded - n_pairs)
        params = (self._stacked_params(black), self._stacked_params(white))
        moves = (self._move_fn(black[0]), self._move_fn(white[0]))
        games = batch.games_per_pairing
        states = jax.tree.map(
            lambda x: jnp.broadcast_to(x, (padded, games) + x.shape), he.init(self.size)
        )
        shortest = 2 * self.size - 1  # no game ends before black's size-th stone
        for ply in range(self.size * self.size):
            side = ply % 2  # no swap rule: black moves on even plies in every game
            states = moves[side](params[side], jax.random.fold_in(key, ply), states)
            if ply + 1 >= shortest and bool(jnp.all(states.terminated)):
                break
        winner = np.asarray(states.winner)[:n_pairs]
        if (winner == he.NO_WINNER).any():
            raise RuntimeError("a game ended without a winner on a full board")
        counted = np.arange(games)[None, :] < np.asarray(batch.games)[:, None]
        return ((winner == he.BLACK) & counted).sum(axis=1)


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
        }
    )


def play_missing(
    cfg: EvalJobConfig,
    pool: Pool,
    targets: dict[tuple[str, str], int],
    engine: MatchEngine,
    *,
    desc: str = "games",
) -> dict:
    """Play every game in `targets` not yet in the match file; append results after each batch.
    Returns counts and timings."""
    size = cfg.board.size
    played = results.games_played(results.read_matches(cfg.results_dir, size))
    need = missing_games(targets, played)
    batches = make_batches(need, pool.agents, cfg.batch)
    planned = sum(need.values())
    # a fresh stream per invocation: fold in how many games the file already holds
    base_key = jax.random.fold_in(jax.random.PRNGKey(cfg.seed), sum(played.values()))
    progress = None
    if cfg.progress and planned:
        from tqdm import tqdm

        progress = tqdm(total=planned, unit="game", desc=desc, dynamic_ncols=True)
    start = time.perf_counter()
    done = 0
    try:
        for i, batch in enumerate(batches):
            black_wins = engine.play(batch, jax.random.fold_in(base_key, i))
            results.append_matches(cfg.results_dir, size, _rows(batch, black_wins))
            done += sum(batch.games)
            if progress is not None:
                progress.update(sum(batch.games))
    finally:
        if progress is not None:
            progress.close()
    wall_s = time.perf_counter() - start
    return {"games": done, "batches": len(batches), "wall_s": wall_s, "pairs": len(need)}


def _initial_active_targets(reference: list[str], neighbours: int, per_colour: int) -> dict:
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


def evaluate(cfg: EvalJobConfig) -> dict:
    """Discover snapshots, record the pool in agents.parquet, and play the missing games (or
    the active rounds) into matches.parquet. Returns a summary dict (agents, games played,
    wall_s of play including compilation, games_per_s). The Elo table is `main`'s last step."""
    validate(cfg)
    size = cfg.board.size
    snapshots = discover_snapshots(cfg.results_dir, size, cfg.runs)
    if not snapshots:
        raise EvalConfigError(f"no board-{size} snapshots under {Path(cfg.results_dir) / 'runs'}")
    pool = build_pool(cfg, snapshots)
    rows = pd.DataFrame([a.row() for a in pool.agents.values()])
    results.merge_agents(cfg.results_dir, size, rows)
    engine = MatchEngine(size)
    summary = {"board_size": size, "agents": len(pool.agents), "games": 0, "wall_s": 0.0}

    def account(stats):
        summary["games"] += stats["games"]
        summary["wall_s"] += stats["wall_s"]

    if not cfg.active:
        account(play_missing(cfg, pool, pool.targets, engine))
    else:
        per_colour = cfg.active_cfg.games_per_round // 2
        neighbours = cfg.active_cfg.initial_neighbours
        start = _initial_active_targets(pool.reference, neighbours, per_colour)
        targets = dict(pool.targets)
        for pair, n in start.items():
            targets[pair] = max(targets.get(pair, 0), n)
        account(play_missing(cfg, pool, targets, engine, desc="active start"))
        summary["active_rounds"] = 0
        for round_index in range(cfg.active_cfg.max_rounds):
            suggestion = elo_table.suggest(
                cfg.results_dir, size, cfg.active_cfg.pairs_per_round, cfg.reference_nodes
            )
            summary["max_se"] = suggestion["max_se"]
            if suggestion["max_se"] < cfg.se_target:
                break
            played = results.games_played(results.read_matches(cfg.results_dir, size))
            more = {}
            for a, b in suggestion["pairs"]:
                if a in pool.agents and b in pool.agents:
                    for pair in ((a, b), (b, a)):
                        more[pair] = played.get(pair, 0) + per_colour
            account(play_missing(cfg, pool, more, engine, desc=f"active round {round_index + 1}"))
            summary["active_rounds"] = round_index + 1
    summary["games_per_s"] = summary["games"] / summary["wall_s"] if summary["wall_s"] else math.nan
    summary["compiled_move_fns"] = len(engine._moves)
    return summary


@hydra.main(version_base="1.3", config_path="../conf", config_name="evaluate")
def main(cfg: DictConfig) -> None:
    try:
        job: EvalJobConfig = OmegaConf.to_object(cfg)
        validate(job)
        if not discover_snapshots(job.results_dir, job.board.size, job.runs):
            raise EvalConfigError(
                f"no board-{job.board.size} snapshots under {Path(job.results_dir) / 'runs'}"
            )
    except (EvalConfigError, OmegaConfBaseException) as err:
        print(f"config error: {str(err).splitlines()[0]}", file=sys.stderr)
        sys.exit(2)
    summary = evaluate(job)
    print(
        f"played {summary['games']:,} games in {summary['wall_s']:.1f} s "
        f"({summary['games_per_s']:.1f} games/s), {summary['agents']} agents"
    )
    if job.elo:
        elo_table.print_tables(elo_table.build(job.results_dir, job.board.size))


register_configs()

if __name__ == "__main__":
    main()
