"""The one composed config of every entry point (conf/config.yaml): the schema Hydra validates
YAML against, `validate`/`validate_eval` that reject bad values before any compute, and
per-board defaults derived from `pipeline.infra.jones`.

The tree mirrors the code: `board` (hex_env), `model` (agents.network), `search`
(agents.search.SearchConfig), `train` (pipeline.train), `eval` (pipeline.evaluate), `figures`
(analysis.report.figures), `sweep` (pipeline.sweep); `results_dir` is the root of
`pipeline.infra.layout`.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import sys
import tempfile
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hydra
from hydra import compose as hydra_compose
from hydra import initialize_config_dir
from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from agents.search import SearchConfig
from pipeline.infra import jones
from pipeline.infra.layout import Layout

ELO_MODELS = ("jones", "colour_advantage")  # pipeline.evaluate.ratings.fit_elo
SE_SCOPES = ("pool", "all")  # whose SEs end active pairing: the pool, or node variants too

CONF_DIR = Path(__file__).resolve().parents[2] / "conf"


@dataclasses.dataclass
class BoardConfig:
    size: int = 3  # side of the b×b board, 2..19
    swap_rule: bool = False  # pie rule (training ignores it for now; evaluation too)


@dataclasses.dataclass
class ModelConfig:
    width: int = 16  # hidden units per layer
    depth: int = 2  # residual blocks


@dataclasses.dataclass
class TrainSettings:
    n_envs: int = 256  # games played in parallel (Jones: 32,768)
    batch_size: int = 256  # learner minibatch (Jones: 32,768)
    rollout_steps: int = 16  # self-play steps per window: value-target horizon (Jones: 64)
    # learner schedule. rollout: the actor plays rollout_steps moves with frozen params, then the
    # learner trains on those samples once each. jones (Jones 2021): a sliding window of the last
    # rollout_steps moves × n_envs; after every move one learner step on batch_size samples (one
    # random window step per env column when batch_size = n_envs, else batch_size uniform
    # (env, step) pairs). Learning starts at the first move: until the window is full, batches
    # come from the steps filled so far (value targets always bootstrapped at the newest step).
    schedule: str = "rollout"  # rollout | jones
    # moves per jitted call (jones: each followed by its learner step); null: rollout_steps;
    # rollout needs null or rollout_steps
    steps_per_call: int | None = None
    lr: float = 1e-3  # Adam, no schedule, no weight decay
    seed: int = 0
    n_snapshots: int = 21  # savepoints, log-spaced in train FLOPs (Jones convention)
    min_flops: float | None = None  # first savepoint; null: from flops_bounds
    max_flops: float | None = None  # last savepoint; null: from flops_bounds
    max_samples: float | None = None  # sample cap; null: from sample_caps
    # per-board [first, last] savepoints in Jones FLOPs, and sample caps (Jones 2021); other
    # board sizes are extrapolated log-linearly from the listed ones
    flops_bounds: dict[int, list[float]] = dataclasses.field(
        default_factory=lambda: {b: list(v) for b, v in jones.SAVEPOINT_FLOPS_BOUNDS.items()}
    )
    sample_caps: dict[int, float] = dataclasses.field(
        default_factory=lambda: dict(jones.SAMPLE_CAPS)
    )
    checkpoint_every_s: float = 60.0  # wall seconds between full-state checkpoints
    # checkpoint and stop cleanly after this many wall seconds of this invocation (a rerun
    # resumes); null: no limit
    max_wall_s: float | None = None
    restart_on_corrupt_checkpoint: bool = False  # true: set a damaged checkpoint aside, restart
    progress: bool = True  # progress bar (plain lines with rate and ETA when not a terminal)
    progress_interval_s: float | None = (
        None  # plain lines every …; null: $HEXSCALE_PROGRESS_S or 30
    )
    tensorboard: bool = False  # also write metrics as TensorBoard events under <run>/tensorboard
    wandb: bool = False  # also log to Weights & Biases (pip install 'hexscale[wandb]')
    wandb_project: str | None = None  # null: "hexscale"; WANDB_MODE=offline works without network


@dataclasses.dataclass
class GridConfig:
    widths: list[int] = dataclasses.field(default_factory=lambda: [16])  # hidden units swept
    depths: list[int] = dataclasses.field(default_factory=lambda: [2])  # residual blocks swept
    # per-width exceptions, width → value; a width not listed trains `sweep.seeds` to the board's
    # sample cap (`train.sample_caps`)
    seeds: dict[int, list[int]] = dataclasses.field(default_factory=dict)
    max_samples: dict[int, float] = dataclasses.field(default_factory=dict)

    def seeds_of(self, width: int, default: list[int]) -> list[int]:
        return self.seeds.get(width, default)

    def cap_overrides(self, width: int) -> list[str]:
        """`train.max_samples=…` where the grid caps this width, else nothing."""
        cap = self.max_samples.get(width)
        return [] if cap is None else [f"train.max_samples={cap:g}"]


@dataclasses.dataclass
class SweepConfig:
    """What `python -m pipeline.sweep +experiment=NAME` launches: one run per board × width ×
    depth × seed. Read by the sweep driver only; a single training job ignores it."""

    boards: dict[int, GridConfig] = dataclasses.field(default_factory=dict)  # board → grid
    seeds: list[int] = dataclasses.field(default_factory=lambda: [0])
    jobs: int = 1  # training processes at once, one multirun per board × width (1: per board)
    # boards whose whole grid trains as one vmapped program (`pipeline.train.population`). None
    # by default: on CPU a 6-run 3×3 population ran at 0.53× the samples/s of its runs one after
    # another (docs/benchmarks.md); on a GPU small boards leave the device idle (the paper
    # preset lists 3–5)
    population_boards: list[int] = dataclasses.field(default_factory=list)
    plan_calls: int = 2  # `pipeline.plan`: timed calls per architecture after its compiling one


@dataclasses.dataclass
class AnchorConfig:
    perfect: bool = True  # exact solver, where it handles the board (b ≤ 5)
    eps: list[float] = dataclasses.field(default_factory=lambda: [0.1, 0.3])  # ε-perfect, b ≤ 5
    random: bool = True  # uniformly random legal moves (ε = 1)


@dataclasses.dataclass
class ActiveConfig:
    initial_neighbours: int = 2  # start: each agent vs this many neighbours on each side
    pairs_per_round: int = 64  # unordered pairs played per active round
    games_per_round: int = 16  # games per chosen pair per round, both colours (even)
    max_rounds: int = 100  # stop after this many rounds even if the SE target is not met


@dataclasses.dataclass
class BatchConfig:
    # games (pairings × games each) in one compiled call; null: 4,096 on CPU, 32,768 on an
    # accelerator, which smaller calls leave idle (pipeline.evaluate.match_engine.games_per_call)
    max_games_per_call: int | None = None
    # pairings per call; every call of a group is padded to it (one compiled shape per group)
    max_pairs_per_call: int = 32
    # how a group smaller than a full call is padded. full: to a full call (one shape for every
    # group; idle lanes cost an accelerator little); pow2: to the next power of two of its size
    # (on CPU every padded game costs: a 1-pairing group played 32× its games); auto: pow2 on
    # CPU, full elsewhere
    pad_calls: str = "auto"
    # zero-pad every net to the pool's widest and deepest (same outputs, `network.pad_params`):
    # one compiled program per test search for all architectures, at the largest net's cost
    share_programs: bool = True


def _override_of(schema: type, name: str, skip: tuple[str, ...] = ()) -> type:
    """A dataclass with `schema`'s fields, each optional and None by default, and `fields()`:
    the ones set. Declared from the schema, so a new search setting can be overridden too."""
    hints = typing.get_type_hints(schema)
    fields = [
        (f.name, typing.Optional[hints[f.name]], dataclasses.field(default=None))  # noqa: UP045
        for f in dataclasses.fields(schema)
        if f.name not in skip
    ]

    def set_fields(self) -> dict[str, Any]:
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}

    doc = f"`{schema.__name__}` fields to replace; None keeps the value they override."
    return dataclasses.make_dataclass(
        name, fields, namespace={"fields": set_fields, "__doc__": doc, "__module__": __name__}
    )


# Test-time search: the snapshot's training search with these fields replaced (node counts are
# the evaluation's own: reference_nodes and node_variants).
SearchOverride = _override_of(SearchConfig, "SearchOverride", skip=("nodes",))


@dataclasses.dataclass
class EvalConfig:
    """`pipeline.evaluate`: tournaments of one board's snapshots, node variants and anchors."""

    runs: list[str] = dataclasses.field(default_factory=list)  # run names to include; []: all
    games_per_pair: int = 64  # games per unordered pair, half with each colour (Jones: 1,024)
    reference_nodes: int = 64  # round-robin node count (Jones: 64 = his train nodes)
    node_variants: list[int] = dataclasses.field(
        default_factory=lambda: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]
    )  # test node counts of the variants
    # all | last (of each run) | none | spread:N (N evenly spaced, ending with each run's last)
    # | comma list of indices "4,20"
    variant_snapshots: str = "all"
    variant_games_per_pair: int | None = None  # null: games_per_pair
    greedy: bool = False  # argmax of the search policy instead of sampling from it
    # test-time search: fields replacing each snapshot's training search (null: as trained);
    # agent ids name any change
    search_override: SearchOverride = dataclasses.field(default_factory=SearchOverride)
    anchors: AnchorConfig = dataclasses.field(default_factory=AnchorConfig)
    active: bool = False  # Jones's active pairing instead of the full round robin
    se_target: float = 50.0  # Elo; active mode stops when every pool rating's SE is below it
    # pool: the SEs of the round-robin pool (Jones) | all: node variants' SEs relative to the
    # anchor too (a variant inherits its snapshot's uncertainty)
    se_scope: str = "pool"
    active_cfg: ActiveConfig = dataclasses.field(default_factory=ActiveConfig)
    seed: int = 0
    batch: BatchConfig = dataclasses.field(default_factory=BatchConfig)
    progress: bool = True  # progress bar / plain progress lines (games done / planned, ETA)
    progress_interval_s: float | None = (
        None  # plain lines every …; null: $HEXSCALE_PROGRESS_S or 30
    )
    elo: bool = True  # fit, write and print the Elo table at the end
    elo_model: str = "jones"  # jones (per-pair colour symmetrisation) | colour_advantage
    # pseudo-games per side of each pair, half won (Jones: 2, i.e. +1 win / +2 games); they cap
    # a one-sided pair of n games at 400·log10((n + g) / g) Elo (16 games → 380 at g = 2)
    elo_pseudo_games: float = jones.PSEUDO_GAMES
    # seconds without a heartbeat after which another evaluation takes a claim's games for dead
    # (pipeline.evaluate.claims; on one host a dead pid frees them at once)
    claim_lease_s: float = 120.0


@dataclasses.dataclass
class FiguresConfig:
    """`analysis.report.figures` (fits and figures) and `analysis.fits.jones_frontier`."""

    convention: str = "jones"  # FLOP convention of the axes: jones | standard
    nodes: int = 64  # node count of the frontier policy (the round-robin reference)
    board_size: int | None = None  # S-curve board; null: the largest evaluated board
    n_resamples: int = 50  # bootstrap refits for the intervals
    n_levels: int = 10  # Elo levels of the span table
    seed: int = 0
    elo_table: str | None = None  # null: <results_dir>/elo.parquet
    out_dir: str | None = None  # null: <results_dir>/figures
    frontier_csv: str | None = None  # analysis.fits.jones_frontier: a frontier CSV to fit
    publish_dir: str | None = None  # pipeline.publish: where results go in the repository


@dataclasses.dataclass
class Config:
    """The one composed config (conf/config.yaml) every entry point reads."""

    results_dir: str = "outputs"  # runs, evaluation, Elo, catalog, figures and logs (Layout)
    board: BoardConfig = dataclasses.field(default_factory=BoardConfig)
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    search: SearchConfig = dataclasses.field(default_factory=SearchConfig)
    train: TrainSettings = dataclasses.field(default_factory=TrainSettings)
    eval: EvalConfig = dataclasses.field(default_factory=EvalConfig)
    figures: FiguresConfig = dataclasses.field(default_factory=FiguresConfig)
    sweep: SweepConfig = dataclasses.field(default_factory=SweepConfig)
    run_name: str = "???"  # set by conf/config.yaml from the settings; names the run directory
    compile_cache: bool = True  # JAX persistent compilation cache (HEXSCALE_CACHE/jax)


def hydra_main(task: Callable[[DictConfig], None]) -> Callable[[], None]:
    """`@hydra.main` over conf/config.yaml: the decorator of every entry point's `main`."""
    return hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")(task)


def register_configs() -> None:
    """Store the schema conf/config.yaml is validated against (`config_schema`): each entry point
    calls it before `main`, and so do `compose` and the tests. Launchers carry the store to
    their jobs."""
    ConfigStore.instance().store(name="config_schema", node=Config)


def _interpolate(table: dict[int, Any], size: int) -> float | list[float]:
    """Value at `size` from a per-board table, log-linear beyond the listed sizes."""
    table = {int(k): v for k, v in table.items()}
    if size in table:
        return table[size]
    sizes = sorted(table)
    lo, hi = (sizes[0], sizes[1]) if size < sizes[0] else (sizes[-2], sizes[-1])
    if sizes[0] < size < sizes[-1]:
        lo = max(s for s in sizes if s < size)
        hi = min(s for s in sizes if s > size)

    def extrapolate(a: float, b: float) -> float:
        return 10 ** (math.log10(a) + (math.log10(b) - math.log10(a)) * (size - lo) / (hi - lo))

    a, b = table[lo], table[hi]
    if isinstance(a, int | float):
        return extrapolate(a, b)
    return [extrapolate(x, y) for x, y in zip(a, b, strict=True)]


def savepoint_bounds(train: TrainSettings, size: int) -> tuple[float, float, float]:
    """(first savepoint, last savepoint, sample cap) for a board size."""
    low, high = _interpolate(train.flops_bounds, size)
    low = train.min_flops if train.min_flops is not None else low
    high = train.max_flops if train.max_flops is not None else high
    cap = (
        train.max_samples
        if train.max_samples is not None
        else _interpolate(train.sample_caps, size)
    )
    return float(low), float(high), float(cap)


def validate(cfg: Config) -> None:
    """Reject bad values with a one-line ValueError, before anything is compiled or written."""
    checks = [
        (2 <= cfg.board.size <= 19, f"board.size must be in 2..19, got {cfg.board.size}"),
        (cfg.model.width >= 1, f"model.width must be >= 1, got {cfg.model.width}"),
        (cfg.model.depth >= 0, f"model.depth must be >= 0, got {cfg.model.depth}"),
        (cfg.train.n_envs >= 1, f"train.n_envs must be >= 1, got {cfg.train.n_envs}"),
        (cfg.train.batch_size >= 1, f"train.batch_size must be >= 1, got {cfg.train.batch_size}"),
        (cfg.train.rollout_steps >= 1, "train.rollout_steps must be >= 1"),
        (
            cfg.train.schedule in ("rollout", "jones"),
            f"train.schedule must be rollout or jones, got {cfg.train.schedule!r}",
        ),
        (
            cfg.train.steps_per_call is None or cfg.train.steps_per_call >= 1,
            f"train.steps_per_call must be >= 1 or null, got {cfg.train.steps_per_call}",
        ),
        (
            cfg.train.schedule != "rollout"
            or cfg.train.steps_per_call in (None, cfg.train.rollout_steps),
            "train.steps_per_call must be null or train.rollout_steps with schedule=rollout "
            f"(got {cfg.train.steps_per_call} and {cfg.train.rollout_steps})",
        ),
        (
            cfg.train.schedule != "rollout"
            or (cfg.train.n_envs * cfg.train.rollout_steps) % cfg.train.batch_size == 0,
            "train.n_envs * train.rollout_steps must be a multiple of train.batch_size "
            f"(got {cfg.train.n_envs} * {cfg.train.rollout_steps} and {cfg.train.batch_size})",
        ),
        (cfg.train.lr > 0, f"train.lr must be > 0, got {cfg.train.lr}"),
        (cfg.train.n_snapshots >= 1, "train.n_snapshots must be >= 1"),
        (
            cfg.train.max_wall_s is None or cfg.train.max_wall_s > 0,
            f"train.max_wall_s must be > 0 s or null, got {cfg.train.max_wall_s}",
        ),
        (not cfg.board.swap_rule, "board.swap_rule=true is not supported by training yet"),
    ]
    for ok, message in checks:
        if not ok:
            raise ValueError(message)
    cfg.search.validate()
    low, high, cap = savepoint_bounds(cfg.train, cfg.board.size)
    if not 0 < low <= high:
        raise ValueError(f"savepoints need 0 < first <= last, got {low:g} and {high:g}")
    if cap <= 0:
        raise ValueError(f"train.max_samples must be > 0, got {cap:g}")


def _variant_spec(spec: str) -> None:
    if spec in ("all", "last", "none"):
        return
    try:
        if spec.startswith("spread:"):
            ok = int(spec.removeprefix("spread:")) >= 1
        else:
            [int(s) for s in spec.split(",")]
            ok = True
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(
            "eval.variant_snapshots must be all, last, none, spread:N (N >= 1) or a comma list"
            f" of indices, got {spec!r}"
        )


def validate_eval(cfg: Config) -> None:
    """Checks of the `eval` group (and the board), one-line ValueError, before any game."""
    ev = cfg.eval
    checks = [
        (2 <= cfg.board.size <= 19, f"board.size must be in 2..19, got {cfg.board.size}"),
        (
            ev.games_per_pair >= 2 and ev.games_per_pair % 2 == 0,
            f"eval.games_per_pair must be even and >= 2 (half per colour), got {ev.games_per_pair}",
        ),
        (
            ev.variant_games_per_pair is None
            or (ev.variant_games_per_pair >= 2 and ev.variant_games_per_pair % 2 == 0),
            f"eval.variant_games_per_pair must be even and >= 2, got {ev.variant_games_per_pair}",
        ),
        (ev.reference_nodes >= 1, f"eval.reference_nodes must be >= 1, got {ev.reference_nodes}"),
        (
            all(int(n) >= 1 for n in ev.node_variants),
            f"eval.node_variants must all be >= 1, got {list(ev.node_variants)}",
        ),
        (
            all(0.0 < e < 1.0 for e in ev.anchors.eps),
            f"eval.anchors.eps must lie in (0, 1), got {list(ev.anchors.eps)}",
        ),
        (ev.se_target > 0, f"eval.se_target must be > 0 Elo, got {ev.se_target}"),
        (ev.claim_lease_s > 0, f"eval.claim_lease_s must be > 0 s, got {ev.claim_lease_s}"),
        (
            ev.se_scope in SE_SCOPES,
            f"eval.se_scope must be one of {SE_SCOPES}, got {ev.se_scope!r}",
        ),
        (ev.active_cfg.initial_neighbours >= 1, "eval.active_cfg.initial_neighbours must be >= 1"),
        (ev.active_cfg.pairs_per_round >= 1, "eval.active_cfg.pairs_per_round must be >= 1"),
        (
            ev.active_cfg.games_per_round >= 2 and ev.active_cfg.games_per_round % 2 == 0,
            "eval.active_cfg.games_per_round must be even and >= 2",
        ),
        (
            ev.batch.max_games_per_call is None or ev.batch.max_games_per_call >= 1,
            "eval.batch.max_games_per_call must be >= 1 or null",
        ),
        (ev.batch.max_pairs_per_call >= 1, "eval.batch.max_pairs_per_call must be >= 1"),
        (
            ev.batch.pad_calls in ("auto", "full", "pow2"),
            f"eval.batch.pad_calls must be auto, full or pow2, got {ev.batch.pad_calls!r}",
        ),
        (
            ev.elo_model in ELO_MODELS,
            f"eval.elo_model must be one of {ELO_MODELS}, got {ev.elo_model!r}",
        ),
        (
            ev.elo_pseudo_games > 0,
            f"eval.elo_pseudo_games must be > 0, got {ev.elo_pseudo_games}",
        ),
    ]
    for ok, message in checks:
        if not ok:
            raise ValueError(message)
    _variant_spec(ev.variant_snapshots)


def check_results_dir(cfg: Config) -> None:
    """The results directory can be created and written (a one-line ValueError otherwise)."""
    root = Path(cfg.results_dir)
    try:
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=root):
            pass
    except OSError as err:
        raise ValueError(f"results_dir {root} is not writable: {err.strerror}") from None


# Settings that leave what a run trains unchanged: a run may be resumed with other values.
NOT_TRAINING = frozenset({
    "search.test_noise", "search.loops", "train.checkpoint_every_s",
    "train.restart_on_corrupt_checkpoint", "train.progress", "train.progress_interval_s",
    "train.tensorboard", "train.wandb", "train.wandb_project", "train.max_wall_s",
})  # fmt: skip
# Compared through the savepoints they give on the run's board, not as tables.
SAVEPOINT_SETTINGS = ("flops_bounds", "sample_caps", "min_flops", "max_flops", "max_samples")


def _flat(tree: dict, prefix: str) -> dict[str, Any]:
    out = {}
    for key, value in tree.items():
        name = f"{prefix}.{key}"
        out.update(_flat(value, name) if isinstance(value, dict) else {name: value})
    return out


def check_run_settings(cfg: Config) -> None:
    """A run directory that exists was started with the same training settings (board, model,
    search, train; the savepoints they give on its board), so a resume or a finished run is
    never silently taken for another configuration (settings missing from the stored config,
    from runs older than the setting, are not compared). A one-line ValueError otherwise."""
    stored_path = Layout(cfg.results_dir).run(cfg.run_name).config
    if not stored_path.exists():
        return
    stored = OmegaConf.to_container(OmegaConf.load(stored_path))
    current = OmegaConf.to_container(OmegaConf.structured(cfg))
    old, new = {}, {}
    for section in ("board", "model", "search", "train"):
        old.update(_flat(stored.get(section, {}), section))
        new.update(_flat(current[section], section))
    fields = {f.name for f in dataclasses.fields(TrainSettings)}
    old_train = TrainSettings(**{k: v for k, v in stored.get("train", {}).items() if k in fields})
    savepoints = "savepoints (first, last, sample cap)"
    old[savepoints] = savepoint_bounds(old_train, old.get("board.size", cfg.board.size))
    new[savepoints] = savepoint_bounds(cfg.train, cfg.board.size)
    tables = tuple(f"train.{name}" for name in SAVEPOINT_SETTINGS)
    skip = NOT_TRAINING | {k for k in new if k.startswith(tables)}
    for key in new:
        if key in old and key not in skip and old[key] != new[key]:
            raise ValueError(
                f"run {stored_path.parent} was started with {key}={old[key]}, not {new[key]}: "
                "use another run_name or results_dir, or the run's own setting"
            )


def grid_overrides(cfg: DictConfig) -> list[tuple[int, list[str]]]:
    """(board size, overrides) of every run of the preset's grid (`sweep.boards` × `sweep.seeds`,
    with each board's per-width seeds and sample caps), in grid order: board.size, model.width,
    model.depth, train.seed and, for a capped width, train.max_samples."""
    sweep = to_object(cfg).sweep
    check_grid_exceptions(sweep)
    return [
        (int(size), [f"board.size={size}", f"model.width={width}", f"model.depth={depth}",
                     f"train.seed={seed}", *grid.cap_overrides(width)])
        for size, grid in sorted(sweep.boards.items())
        for width in grid.widths
        for depth, seed in itertools.product(grid.depths, grid.seeds_of(width, sweep.seeds))
    ]  # fmt: skip


def check_grid_exceptions(sweep: SweepConfig) -> None:
    """A per-width seed list or sample cap names a width of its board's grid (one-line
    ValueError otherwise)."""
    for size, grid in sweep.boards.items():
        for name, table in (("seeds", grid.seeds), ("max_samples", grid.max_samples)):
            stray = sorted(set(table) - set(grid.widths))
            if stray:
                raise ValueError(f"sweep.boards.{size}.{name} names widths {stray} that are not "
                                 f"in its widths {grid.widths}")  # fmt: skip


def with_overrides(cfg: DictConfig, overrides: list[str]) -> Config:
    """`cfg` with command-line style `overrides` merged in, typed."""
    return to_object(OmegaConf.merge(cfg, OmegaConf.from_dotlist(overrides)))


def grid_configs(cfg: DictConfig, size: int) -> list[Config]:
    """The typed config of every run of board `size` in the preset's grid."""
    return [with_overrides(cfg, o) for board, o in grid_overrides(cfg) if board == size]


def load(cfg: DictConfig, *checks: Callable[[Config], None]) -> Config:
    """The typed, checked config of an entry point; on a bad value print one line and exit 2,
    before anything is compiled or written."""
    try:
        job = to_object(cfg)
        for check in checks:
            check(job)
    except ValueError as err:
        print(f"config error: {err}", file=sys.stderr)
        sys.exit(2)
    return job


def compose(*overrides: str) -> Config:
    """conf/config.yaml composed with command-line style `overrides`, typed — what every entry
    point sees, for scripts, notebooks and tests (a bad value raises a one-line ValueError)."""
    register_configs()
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        return to_object(hydra_compose("config", overrides=list(overrides)))


def to_object(cfg: DictConfig) -> Config:
    """The typed config; a bad type or missing key becomes a one-line ValueError."""
    try:
        return OmegaConf.to_object(cfg)
    except OmegaConfBaseException as err:
        raise ValueError(str(err).splitlines()[0]) from None
