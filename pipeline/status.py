"""Where a sweep stands: runs done / running / failed / stopped / pending per board, snapshots per
run, and evaluation coverage (games played of those planned, agents rated).

    python -m pipeline.status +experiment=smoke                  # the preset's grid and results
    python -m pipeline.status results_dir=outputs/paper +experiment=paper search.nodes=32

Give it the overrides the sweep was launched with: planned run names are composed from the
preset's grid (`sweep.boards` × `sweep.seeds`) exactly as `pipeline.sweep` composes each
training job, and read from the resolved `run_name`. A run is

    done       it wrote done.json
    running    its heartbeat.json (rewritten by pipeline.train every few seconds) is younger
               than HEXSCALE_HEARTBEAT_STALE_S (default 300 s) and newer than any error record
    failed     it wrote error.json (pipeline.train records the last error line and re-raises)
    stopped    started, but neither: killed, preempted, or waiting to be resumed
    pending    planned by the grid, not started

On SLURM, each run's row also shows its task in the board's last submission and the state the
scheduler reports (`7_0 RUNNING`, `PENDING (BeginTime)` after a requeue), and each board its
evaluation job (`8 PENDING (Dependency)`), from `<results_dir>/jobs.json` and squeue, then sacct
(`pipeline.slurm`); "not known to the scheduler" once it has forgotten an ended job. The runs'
own files stay the record of what happened: the scheduler only says what is queued or running.

Evaluation coverage is what `pipeline.evaluate` would do under the composed `eval` config: the
games `pipeline.evaluate.pool.build_pool` targets for the board's current snapshots, less the
missing ones (`pipeline.evaluate.pool.missing_games` against `eval/b<S>/matches.parquet`), and the
agents with a row in `eval/b<S>/elo.parquet`. Exit status: 1 if any run failed or a result file is
unreadable, 2 if the results directory does not exist (one line), else 0.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import sys
import time

import pandas as pd
from omegaconf import DictConfig, OmegaConf

from pipeline.evaluate.pool import build_pool, discover_snapshots, missing_games
from pipeline.infra import tables
from pipeline.infra.config import hydra_main, load, register_configs, to_object
from pipeline.infra.files import CorruptFileError
from pipeline.infra.layout import Layout, RunFiles
from pipeline.infra.snapshot import SnapshotError, load_meta
from pipeline.slurm import board_job_ids, job_states, latest_boards, read_submissions
from pipeline.sweep import grid_points

STATES = ("done", "running", "failed", "stopped", "pending")
DEFAULT_STALE_S = 300.0  # a heartbeat older than this is not a running job


def stale_after_s() -> float:
    """Heartbeat age (s) beyond which a run is not running: $HEXSCALE_HEARTBEAT_STALE_S or 300."""
    value = os.environ.get("HEXSCALE_HEARTBEAT_STALE_S")
    return float(value) if value else DEFAULT_STALE_S


@dataclasses.dataclass
class RunStatus:
    name: str
    board_size: int
    state: str  # one of STATES
    planned: bool  # part of the preset's grid
    snapshots: int = 0  # complete snapshot directories
    iteration: int | None = None  # last known training iteration (done.json, else heartbeat)
    heartbeat_age_s: float | None = None
    host: str | None = None  # where the heartbeat came from
    error: str | None = None  # the error record's line (failed runs, or before a retry)
    job: str | None = None  # its SLURM task in the board's last submission ("7_0 RUNNING")


@dataclasses.dataclass
class EvalCoverage:
    snapshots: int = 0  # current snapshots of the board (the pool's networks)
    pool_agents: int = 0  # agents of the pool: snapshots, node variants, anchors
    games_planned: int = 0  # games build_pool targets for the current pool
    games_played: int = 0  # of those, recorded in matches.parquet
    games_recorded: int = 0  # every game in matches.parquet (also of agents no longer pooled)
    agents_rated: int = 0  # rows of eval/b<S>/elo.parquet
    active: bool = False  # active pairing: round-robin games are chosen as it goes, not planned
    problem: str | None = None  # an unreadable result file


@dataclasses.dataclass
class BoardStatus:
    size: int
    runs: list[RunStatus]
    eval: EvalCoverage
    eval_job: str | None = None  # its SLURM evaluation job in the last submission ("8 PENDING")

    def count(self, state: str) -> int:
        return sum(r.state == state for r in self.runs)


@dataclasses.dataclass
class SweepStatus:
    results_dir: str
    stale_s: float
    boards: list[BoardStatus]
    jobs_problem: str | None = None  # an unreadable jobs.json

    @property
    def runs(self) -> list[RunStatus]:
        return [r for b in self.boards for r in b.runs]

    @property
    def failed(self) -> list[RunStatus]:
        return [r for r in self.runs if r.state == "failed"]

    @property
    def problems(self) -> list[str]:
        problems = [f"board {b.size}: {b.eval.problem}" for b in self.boards if b.eval.problem]
        return problems + ([self.jobs_problem] if self.jobs_problem else [])

    @property
    def ok(self) -> bool:
        return not self.failed and not self.problems


def planned_runs(cfg: DictConfig) -> dict[str, int]:
    """Run name → board size of every point of the preset's grid, composed as the sweep's
    training jobs are (`pipeline.sweep.grid_points`), in grid order."""
    return {point.name: point.size for point in grid_points(cfg)}


def _read_json(path) -> dict | None:
    """The JSON object in `path`, or None if missing or unreadable (a torn or foreign file)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _stamp(path, record: dict | None) -> float | None:
    """The record's `time`, else the file's modification time, else None."""
    if record is not None and isinstance(record.get("time"), int | float):
        return float(record["time"])
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def _run_board(run: RunFiles) -> int | None:
    """Board size of a started run: its config.yaml, a snapshot's meta.json, or its name."""
    try:
        return int(OmegaConf.load(run.config).board.size)
    except Exception:  # missing or damaged config.yaml: try the other sources
        pass
    for directory in sorted(run.snapshots.glob("[0-9]*")):
        try:
            return int(load_meta(directory)["board_size"])
        except (SnapshotError, KeyError, ValueError):
            continue
    match = re.match(r"b(\d+)-", run.name)
    return int(match.group(1)) if match else None


def run_status(
    run: RunFiles, size: int, planned: bool, snapshots: int, now: float, stale_s: float
) -> RunStatus:
    """The state of one run from its files (see the module docstring)."""
    status = RunStatus(run.name, size, "pending", planned, snapshots)
    beat = _read_json(run.heartbeat)
    beat_time = _stamp(run.heartbeat, beat) if run.heartbeat.exists() else None
    if beat_time is not None:
        status.heartbeat_age_s = max(now - beat_time, 0.0)
        if beat:
            status.iteration = beat.get("iteration")
            status.host = beat.get("host")
    error_time = None
    if run.error.exists():
        record = _read_json(run.error)
        error_time = _stamp(run.error, record)
        status.error = (record or {}).get("error") or f"unreadable error record {run.error}"
    if run.done.exists():
        status.state = "done"
        done = _read_json(run.done)
        if done and "iteration" in done:
            status.iteration = done["iteration"]
        status.error = None
    elif (
        beat_time is not None
        and now - beat_time <= stale_s
        and (error_time is None or beat_time > error_time)
    ):
        status.state = "running"  # a retry after a failure: the old record stays until success
    elif error_time is not None:
        status.state = "failed"
    elif run.dir.exists():
        status.state = "stopped"
    return status


def eval_coverage(cfg: DictConfig, size: int) -> EvalCoverage:
    """Games planned and played, and agents rated, for board `size` under the composed `eval`
    config: what `pipeline.evaluate board.size=<size>` would target now."""
    job = to_object(OmegaConf.merge(cfg, {"board": {"size": size}}))
    layout = Layout(job.results_dir)
    coverage = EvalCoverage(active=job.eval.active)
    snapshots = discover_snapshots(job.results_dir, size, job.eval.runs)
    coverage.snapshots = len(snapshots)
    try:
        played = tables.games_played(tables.read_matches(job.results_dir, size))
    except CorruptFileError as err:
        coverage.problem = str(err)
        played = {}
    coverage.games_recorded = sum(played.values())
    if snapshots:  # evaluate refuses a board without snapshots: nothing planned yet
        pool = build_pool(job, snapshots)
        coverage.pool_agents = len(pool.agents)
        coverage.games_planned = sum(pool.targets.values())
        missing = sum(missing_games(pool.targets, played).values())
        coverage.games_played = coverage.games_planned - missing
    elo = layout.board(size).elo
    if elo.exists():
        try:
            coverage.agents_rated = len(pd.read_parquet(elo))
        except (OSError, ValueError) as err:
            reason = (str(err).strip().splitlines() or [type(err).__name__])[0][:120]
            coverage.problem = coverage.problem or f"unreadable {elo} ({reason})"
    return coverage


def sweep_status(
    cfg: DictConfig, *, now: float | None = None, stale_s: float | None = None
) -> SweepStatus:
    """The status of every planned or started run and every board's evaluation coverage under
    `cfg.results_dir`. `cfg` is the composed config as a DictConfig (the entry point's `cfg`,
    `run_name` still an interpolation), so grid points compose as in `pipeline.sweep`."""
    now = time.time() if now is None else now
    stale_s = stale_after_s() if stale_s is None else stale_s
    layout = Layout(to_object(cfg).results_dir)
    planned = planned_runs(cfg)

    snapshot_counts: dict[str, int] = {}
    for directory in layout.snapshot_dirs():
        run_name = directory.parent.parent.name
        snapshot_counts[run_name] = snapshot_counts.get(run_name, 0) + 1
    started = {run.name for run in layout.run_dirs()} | set(snapshot_counts)
    started |= {p.parent.name for p in layout.runs.glob("*/error.json")}
    boards_of: dict[str, int | None] = dict(planned)
    for name in sorted(started - set(planned)):
        boards_of[name] = _run_board(layout.run(name))

    sizes = {s for s in boards_of.values() if s is not None} | set(layout.evaluated_boards())
    boards = []
    for size in sorted(sizes):
        runs = [
            run_status(
                layout.run(name), size, name in planned, snapshot_counts.get(name, 0), now, stale_s
            )
            for name, run_size in boards_of.items()
            if run_size == size
        ]
        boards.append(BoardStatus(size, runs, eval_coverage(cfg, size)))
    return SweepStatus(str(layout.root), stale_s, boards, scheduler_jobs(layout, boards))


def scheduler_jobs(layout: Layout, boards: list[BoardStatus]) -> str | None:
    """Set each run's and board's SLURM job, with the state squeue or sacct reports, from the
    board's last submission in jobs.json (`pipeline.slurm`); returns a problem, if any."""
    try:
        records = latest_boards(read_submissions(layout))
    except ValueError as err:
        return str(err)
    states = job_states([job for record in records.values() for job in board_job_ids(record)])
    describe = lambda job: f"{job} {states.get(job, 'not known to the scheduler')}"
    for board in boards:
        record = records.get(board.size)
        if record is None:
            continue
        board.eval_job = describe(record["evaluate"]) if "evaluate" in record else None
        tasks = record.get("runs", {})
        for run in board.runs:
            run.job = describe(tasks[run.name]) if run.name in tasks else None
    return None


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    for unit, span in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= span:
            return f"{seconds / span:.0f}{unit} ago"
    return f"{seconds:.0f}s ago"


def format_status(status: SweepStatus) -> str:
    """Plain text: one small table per board, then the totals."""
    lines = [f"results_dir {status.results_dir}"]
    if not status.boards:
        lines.append("no planned runs, started runs or evaluations")
    for board in status.boards:
        n_planned = sum(r.planned for r in board.runs)
        others = len(board.runs) - n_planned
        counts = "  ".join(f"{s} {board.count(s)}" for s in STATES)
        extra = f" + {others} not in the grid" if others else ""
        lines += ["", f"board {board.size}: {n_planned} runs planned{extra} | {counts}"]
        if board.runs:
            width = max(len("run"), *(len(r.name) for r in board.runs))
            lines.append(f"  {'run':<{width}}  {'state':<8} {'snaps':>5} {'iter':>7}  heartbeat")
            for r in board.runs:
                iteration = "-" if r.iteration is None else str(r.iteration)
                name = r.name if r.planned else f"{r.name}*"
                row = f"  {name:<{width}}  {r.state:<8} {r.snapshots:>5} {iteration:>7}  "
                row += _age(r.heartbeat_age_s)
                if r.job:
                    row += f"  job {r.job}"
                if r.error and r.state in ("failed", "running"):
                    row += f"  {'error' if r.state == 'failed' else 'last error'}: {r.error}"
                lines.append(row.rstrip())
        ev = board.eval
        share = f" ({100 * ev.games_played / ev.games_planned:.0f}%)" if ev.games_planned else ""
        line = (
            f"  evaluation: {ev.games_played:,} / {ev.games_planned:,} planned games played"
            f"{share}, {ev.games_recorded:,} recorded; {ev.snapshots} snapshots, "
            f"{ev.pool_agents} pool agents, {ev.agents_rated} agents rated"
        )
        lines.append(line + (" (active pairing: round robin not planned)" if ev.active else ""))
        if board.eval_job:
            lines.append(f"  evaluation job {board.eval_job}")
        if ev.problem:
            lines.append(f"  evaluation error: {ev.problem}")
    runs = status.runs
    totals = ", ".join(f"{s} {sum(r.state == s for r in runs)}" for s in STATES)
    lines += ["", f"total: {len(runs)} runs: {totals}"]
    if any(not r.planned for r in runs):
        lines.append("* started, not in the preset's grid")
    if status.failed:
        lines.append(f"FAILED: {', '.join(r.name for r in status.failed)}")
    return "\n".join(lines)


@hydra_main
def main(cfg: DictConfig) -> None:
    job = load(cfg)
    root = Layout(job.results_dir).root
    if not root.is_dir():
        print(f"error: results_dir {root} does not exist", file=sys.stderr)
        sys.exit(2)
    try:
        status = sweep_status(cfg)
    except ValueError as err:  # a grid point that does not compose
        print(f"config error: {str(err).splitlines()[0]}", file=sys.stderr)
        sys.exit(2)
    print(format_status(status))
    for problem in status.problems:
        print(f"error: {problem}", file=sys.stderr)
    sys.exit(0 if status.ok else 1)


if __name__ == "__main__":
    register_configs()
    main()
