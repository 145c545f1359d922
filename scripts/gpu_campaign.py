"""The GPU campaign: one prepared command that proves the paper preset on a GPU and measures what
small boards cost there (issue 28; docs/gpu_campaign.md). Run it through scripts/gpu_campaign.sh,
which installs the carried wheels (.whl/, scripts/device_wheels.sh) first.

    bash scripts/gpu_campaign.sh                      # on the GPU: every stage, about 8 minutes
    bash scripts/gpu_campaign.sh --only S1 S3         # chosen stages only (S5 is cheap: add it)
    bash scripts/gpu_campaign.sh --dry-run            # every stage at tiny shapes on CPU, < 3 min
    python scripts/gpu_campaign.py --list             # the stages and their time caps

Stages, in order of value, each under its own wall-clock cap (`CAPS`):
  S0  devices, versions, XLA flags, matmul ceilings; stops the campaign (exit 2) without a GPU
  S1  self-play + learner throughput at 9x9 (512x4 and 1024x4 nets, 64 nodes, 4,096 and 32,768
      envs, 4-step rollouts), search.loops static / dynamic / dynamic with XLA command buffers
      for while loops and conditionals; compile seconds, peak bytes, the compiled while loops
  S2  3x3 to perfect play with Jones's settings (train=gpu, train.schedule=jones, 2x8, the
      largest net of his 3x3 grid): wall clock to each savepoint, the fixed solver check
  S3  small-board cost: the 5x5 grid at Jones's settings as one population
      (pipeline.train.population) until the cap; samples/s per run and in all
  S4  evaluation games/s of a GPU pool (S3's or S2's snapshots, else fake ones)
  S5  summary.md from the JSON lines

Every stage runs its work in subprocesses with timeouts (this process never imports JAX), then
appends one JSON line to $OUT/campaign.jsonl and packs its files into $OUT/<stage>.tar.gz at
once, so whatever a later stage does, what an earlier one measured is already there. At most 7
files come back, flat in $OUT: campaign.jsonl, campaign.log, summary.md, S1-S4.tar.gz.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import io
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STAGES = ("S0", "S1", "S2", "S3", "S4", "S5")
TITLES = {
    "S0": "devices, versions, XLA flags",
    "S1": "self-play + learner throughput at 9x9",
    "S2": "3x3 to perfect play, Jones's settings",
    "S3": "5x5 grid as one training population",
    "S4": "evaluation games/s of a GPU pool",
    "S5": "summary.md",
}
# wall-clock cap of each stage in seconds: (GPU, --dry-run). GPU total 500 s: run with
# timeout_s >= 570 (docs/gpu_campaign.md); dry-run total 210 s, ~150–170 s used on 2 idle cores.
CAPS = {
    "S0": (30, 10),
    "S1": (180, 60),
    "S2": (150, 40),
    "S3": (75, 40),
    "S4": (60, 55),
    "S5": (5, 5),
}
MAX_PACK_BYTES = 15 * 2**20  # each packed file stays under the device's 16 MiB per file
JONES_3X3_WALL_S = 180.0  # pipeline.infra.jones.PERFECT_PLAY_WALL_S[3] (read at runtime too)
# H200 datasheet ceilings (H200.md; KINDS.md measured bf16 at 769-798 TFLOP/s): leads only, S0
# measures the matmul ceilings of the card it runs on.
DATASHEET_FLOPS = {"bf16": 989e12, "tf32": 494e12, "fp32": 67e12}
CMDBUF_FLAG = "--xla_gpu_enable_command_buffer=+WHILE,+CONDITIONAL"  # XLA's defaults + the two


@dataclasses.dataclass(frozen=True)
class Plan:
    """Every shape and count of a campaign: the GPU plan or the tiny --dry-run one."""

    dry_run: bool
    # S0: matmul side for the ceilings
    matmul_n: int
    # S1: (board, width, depth, envs = learner batch, nodes), in order of value
    s1_shapes: tuple[tuple[int, int, int, int, int], ...]
    s1_rollout_steps: int
    s1_repeats: int
    # S1 variants: (name, search.loops, extra XLA flag, share of the stage cap)
    s1_variants: tuple[tuple[str, str, str | None, float], ...]
    # S2 / S3 overrides of pipeline.train beyond the stage's own
    s2_overrides: tuple[str, ...]
    s2_solver_games: int
    s3_board: int
    s3_grid: tuple[tuple[int, int], ...]  # (width, depth), widest first
    s3_overrides: tuple[str, ...]
    s4_games: tuple[int, int]  # games per pair of the first (compiling) and second pass
    s4_max_runs: int


GPU_PLAN = Plan(
    dry_run=False,
    matmul_n=8192,
    s1_shapes=(
        (9, 512, 4, 4096, 64),
        (9, 512, 4, 32768, 64),
        (9, 1024, 4, 4096, 64),
        (9, 1024, 4, 32768, 64),
    ),  # fmt: skip
    s1_rollout_steps=4,
    s1_repeats=3,
    s1_variants=(
        ("static", "static", None, 0.5),
        ("dynamic", "dynamic", None, 0.25),
        ("dynamic_cmdbuf", "dynamic", CMDBUF_FLAG, 0.25),
    ),
    # savepoints every 16 moves (one learner step each) instead of 64: finer wall-clock
    # resolution, the same training
    s2_overrides=("train.steps_per_call=16", "train.progress_interval_s=15"),
    s2_solver_games=256,
    s3_board=5,
    s3_grid=tuple((w, d) for w in (16, 8) for d in (1, 2, 4, 8)),
    s3_overrides=("train.steps_per_call=16", "train.progress_interval_s=15"),
    s4_games=(8, 40),
    s4_max_runs=2,
)
DRY_PLAN = Plan(
    dry_run=True,
    matmul_n=256,
    s1_shapes=((3, 8, 1, 8, 4),),
    s1_rollout_steps=2,
    s1_repeats=2,
    s1_variants=GPU_PLAN.s1_variants,
    s2_overrides=(
        "train.n_envs=32",
        "train.batch_size=32",
        "train.rollout_steps=8",
        "train.steps_per_call=4",
        "search.nodes=4",
        "train.min_flops=1e5",
        "train.max_flops=2e6",
        "train.n_snapshots=5",
        "train.progress_interval_s=5",
    ),  # fmt: skip
    s2_solver_games=32,
    s3_board=5,
    s3_grid=((16, 1), (16, 2)),
    s3_overrides=(
        "train.n_envs=16",
        "train.batch_size=16",
        "train.rollout_steps=8",
        "train.steps_per_call=4",
        "search.nodes=4",
        "train.min_flops=1e5",
        "train.max_flops=1e9",  # no member finishes: no rebuild, a clean stop at the cap
        "train.n_snapshots=5",
        "train.progress_interval_s=5",
    ),  # fmt: skip
    s4_games=(2, 4),
    s4_max_runs=1,
)


# ---------------------------------------------------------------------------------------------
# the campaign (this process: no JAX)


class Campaign:
    def __init__(self, out: Path, work: Path, plan: Plan, python: str):
        self.out, self.work, self.plan, self.python = out, work, plan, python
        self.out.mkdir(parents=True, exist_ok=True)
        self.work.mkdir(parents=True, exist_ok=True)
        self.jsonl = out / "campaign.jsonl"
        self.log_path = out / "campaign.log"
        self.started = time.monotonic()
        self.env = child_env(plan.dry_run, work)

    # --- output

    def log(self, message: str) -> None:
        line = f"[{time.monotonic() - self.started:6.1f} s] {message}"
        print(line, flush=True)
        with self.log_path.open("a") as f:
            f.write(line + "\n")

    def emit(self, row: dict) -> None:
        with self.jsonl.open("a") as f:
            f.write(json.dumps(row, default=str) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def cap(self, stage: str) -> float:
        return float(CAPS[stage][1 if self.plan.dry_run else 0])

    # --- subprocesses

    def worker_cmd(self, name: str, spec: dict, rows: Path) -> list[str]:
        return [self.python, str(Path(__file__).resolve()), "--worker", name,
                "--spec", json.dumps(spec), "--rows", str(rows)]  # fmt: skip

    def run(self, cmd: list[str], log: Path, timeout: float, env: dict | None = None) -> dict:
        """Run `cmd` (stdout and stderr to `log`) for at most `timeout` s; its process group is
        ended at the limit (SIGTERM, then SIGKILL 5 s later)."""
        return wait_all([spawn(cmd, log, env or self.env)], timeout)[0]

    # --- packing

    def pack(self, stage: str, paths: list[Path]) -> list[str]:
        """`$OUT/<stage>.tar.gz` of `paths` (checkpoints and TensorBoard events left out), under
        MAX_PACK_BYTES: if too large, snapshots beyond each run's first and last go, then all
        but logs and JSON."""
        paths = [p for p in paths if p.exists()]
        if not paths:
            return []
        target = self.out / f"{stage}.tar.gz"
        for level in (0, 1, 2):
            data = tar_bytes(paths, self.work, level)
            if len(data) <= MAX_PACK_BYTES or level == 2:
                break
        if len(data) > MAX_PACK_BYTES:
            self.log(f"{stage}: packed files are {len(data)} bytes even trimmed: not packed")
            return []
        target.write_bytes(data)
        return [target.name]

    # --- stages

    def stage(self, name: str, only: set[str]) -> dict | None:
        if name not in only:
            return None
        cap = self.cap(name)
        deadline = time.monotonic() + cap
        stage_dir = self.work / name
        stage_dir.mkdir(exist_ok=True)
        self.log(f"{name} ({TITLES[name]}): cap {cap:.0f} s")
        start = time.monotonic()
        row = {"stage": name, "title": TITLES[name], "cap_s": cap, "dry_run": self.plan.dry_run,
               "started_utc": utc_now()}  # fmt: skip
        files: list[Path] = []
        try:
            result = getattr(self, f"stage_{name}")(stage_dir, deadline, files)
            row.update(result)
            row.setdefault("status", "ok")
        except Exception as err:  # noqa: BLE001 - a stage's failure must not stop the campaign
            row.update(status="error", error=f"{type(err).__name__}: {err}",
                       traceback=traceback.format_exc(limit=4))  # fmt: skip
        row["wall_s"] = round(time.monotonic() - start, 1)
        try:
            row["files"] = self.pack(name, files)
        except Exception as err:  # noqa: BLE001
            row["files"], row["pack_error"] = [], f"{type(err).__name__}: {err}"
        self.emit(row)
        self.log(f"{name}: {row['status']} in {row['wall_s']} s, files {row['files']}")
        return row

    def stage_S0(self, d: Path, deadline: float, files: list) -> dict:
        rows = d / "rows.jsonl"
        spec = {"matmul_n": self.plan.matmul_n, "need_gpu": not self.plan.dry_run}
        res = self.run(self.worker_cmd("probe", spec, rows), d / "S0.log", remaining(deadline))
        append_text(self.log_path, d / "S0.log")
        found = read_rows(rows)  # the probe's row, then the matmul ceilings
        out = {"status": status_of(res, found), "proc": res}
        for row in found:
            out.update(row)
        out["gpu"] = bool(found) and found[0].get("backend") in ("gpu", "cuda", "rocm")
        if not out["gpu"] and not self.plan.dry_run:
            out["status"] = "no_gpu"
        return out

    def stage_S1(self, d: Path, deadline: float, files: list) -> dict:
        plan = self.plan
        results, procs = [], {}
        for i, (name, loops, flag, share) in enumerate(plan.s1_variants):
            # this variant's share of what is left: time a variant leaves goes to the next ones
            shares_left = sum(v[3] for v in plan.s1_variants[i:])
            budget = remaining(deadline) * share / shares_left
            if budget < 5:
                procs[name] = {"skipped": "no time left"}
                continue
            env = dict(self.env)
            if flag:
                env["XLA_FLAGS"] = f"{env.get('XLA_FLAGS', '')} {flag}".strip()
            spec = {"variant": name, "loops": loops, "xla_flags": env.get("XLA_FLAGS", ""),
                    "shapes": plan.s1_shapes, "rollout_steps": plan.s1_rollout_steps,
                    "repeats": plan.s1_repeats}  # fmt: skip
            rows, log = d / f"{name}.jsonl", d / f"{name}.log"
            files += [rows, log]
            procs[name] = self.run(self.worker_cmd("train_bench", spec, rows), log, budget, env)
            got = read_rows(rows)
            results += got
            self.log(f"S1 {name}: {len(got)} of {len(plan.s1_shapes)} shapes, "
                     f"{procs[name].get('outcome')} in {procs[name].get('wall_s')} s")  # fmt: skip
        wanted = len(plan.s1_shapes) * len(plan.s1_variants)
        status = "ok" if len(results) == wanted and all("error" not in r for r in results) else (
            "partial" if results else "error")  # fmt: skip
        return {"status": status, "rows": results, "procs": procs}

    def stage_S2(self, d: Path, deadline: float, files: list) -> dict:
        plan = self.plan
        results = d / "results"
        # the solver checks get the last 12 s (dry run) or 30 s; training stops itself
        # (train.max_wall_s, counted from its first iteration's start) well before its timeout
        train_timeout = max(remaining(deadline) - (12 if plan.dry_run else 30), 5)
        max_wall = max(train_timeout - (12 if plan.dry_run else 25), 3)
        cmd = [self.python, "-m", "pipeline.train", *s2_train_overrides(plan, results, max_wall)]
        files += [d / "train.log", results, d / "solver.jsonl", d / "solver.log"]
        launched = time.time()
        train = self.run(cmd, d / "train.log", train_timeout)
        snaps = snapshot_rows(results, launched)
        out = {"command": "python -m " + " ".join(cmd[2:]), "train": train,
               "max_wall_s": max_wall, "snapshots": snaps,
               "metrics": metrics_summary(results), "jones_wall_s": jones_3x3_wall_s()}  # fmt: skip
        out["stopped"] = train_stop(results)
        if not snaps:
            out["status"] = "error"
            return out
        left = remaining(deadline)
        spec = {"snapshots": [s["dir"] for s in snaps], "games": plan.s2_solver_games,
                "deadline_unix": time.time() + left - 3}  # fmt: skip
        solver = self.run(self.worker_cmd("solver_check", spec, d / "solver.jsonl"),
                          d / "solver.log", left)  # fmt: skip
        checks = read_rows(d / "solver.jsonl")
        by_index = {s["index"]: s for s in snaps}
        for c in checks:
            c["wall_s"] = by_index.get(c["index"], {}).get("wall_s")
        out.update(solver=solver, checks=checks)
        last = snaps[-1]["index"]
        last_check = next((c for c in checks if c["index"] == last), None)
        out["last_black_wins"] = last_check["black_wins"] if last_check else None
        perfect = sorted(c["index"] for c in checks if c["black_wins"] == 1.0)
        if perfect and last_check and last_check["black_wins"] == 1.0:
            # bisection over the checked snapshots (assumes play stays perfect once perfect)
            first = perfect[0]
            out["first_perfect_index"] = first
            indices = [s["index"] for s in snaps]
            before = indices[indices.index(first) - 1] if indices.index(first) else None
            # converged: the snapshot before it was checked and lost a game (or there is none);
            # else the deadline stopped the bisection and `first` is an upper bound
            out["bisection_converged"] = before is None or any(
                c["index"] == before and c["black_wins"] < 1.0 for c in checks
            )
            out["wall_s_to_perfect"] = by_index[first]["wall_s"]
            out["launch_s_to_perfect"] = by_index[first]["launch_s"]
        trained = train["outcome"] == "exit" and train["rc"] == 0
        out["status"] = "ok" if trained and last_check else "partial"
        return out

    def stage_S3(self, d: Path, deadline: float, files: list) -> dict:
        plan = self.plan
        results = d / "results"
        timeout = max(remaining(deadline) - 5, 5)
        # train.max_wall_s counts from the population's start, after JAX's start-up
        max_wall = max(timeout - (12 if plan.dry_run else 30), 3)
        command = [
            "-m",
            "pipeline.train.population",
            *s3_population_overrides(plan, results, max_wall),
        ]
        proc = spawn([self.python, *command], d / "logs" / "population.log", self.env)
        files += [d / "logs", results]
        launched = time.time()
        res = wait_all([proc], timeout)[0]
        runs = []
        for width, depth in plan.s3_grid:
            name = f"b{plan.s3_board}-w{width}-d{depth}-"
            run_dir = next(iter(sorted((results / "runs").glob(f"{name}*"))), None)
            row = {"run": f"w{width}-d{depth}"}
            if run_dir is not None:
                row.update(metrics_summary(results, run_dir.name))
                row["snapshots"] = len(snapshot_rows(results, launched, run_dir.name))
                row["stopped"] = train_stop(results, run_dir.name)
            runs.append(row)
        rates = [r["steady_samples_per_s"] for r in runs if r.get("steady_samples_per_s")]
        total_samples = sum(r.get("samples", 0) for r in runs)
        return {
            "status": "ok" if len(rates) == len(runs) else (
                "partial" if any(r.get("iterations") for r in runs) else "error"),
            "board": plan.s3_board, "runs_in_population": len(runs), "max_wall_s": max_wall,
            "proc": res, "runs": runs,
            "total_steady_samples_per_s": sum(rates) if rates else None,
            "total_samples": total_samples,
            "samples_per_s_over_stage": total_samples / res["wall_s"] if res["wall_s"] else None,
        }  # fmt: skip

    def stage_S4(self, d: Path, deadline: float, files: list) -> dict:
        plan = self.plan
        source, board, runs = None, None, []
        for stage, size in (("S3", plan.s3_board), ("S2", 3)):
            found = sorted(
                p.parent.parent.parent.name
                for p in (self.work / stage / "results" / "runs").glob("*/snapshots/*/meta.json")
            )
            if found:
                source, board = stage, size
                runs = sorted(set(found))[: plan.s4_max_runs]
                results = self.work / stage / "results"
                break
        out = {}
        if source is None:  # fake snapshots: randomly initialised nets, as pipeline.train writes
            results, board, source = d / "results", 3, "fake"
            res = self.run(
                self.worker_cmd("fake_snapshots", {"results_dir": str(results)}, d / "fake.jsonl"),
                d / "fake.log",
                remaining(deadline),
            )
            out["fake"] = res
            runs = sorted(read_rows(d / "fake.jsonl")[0]["runs"]) if read_rows(d / "fake.jsonl") \
                else []  # fmt: skip
            files.append(d / "fake.log")
        eval_env = dict(self.env)
        passes = []
        for i, games in enumerate(plan.s4_games):
            left = remaining(deadline)
            if left < 5:
                break
            overrides = s4_eval_overrides(board, results, games, runs)
            log = d / f"eval{i + 1}.log"
            files.append(log)
            res = self.run([self.python, "-m", "pipeline.evaluate", *overrides], log, left,
                           eval_env)  # fmt: skip
            passes.append(dict(parse_played(log), games_per_pair=games, proc=res,
                               compiled="first pass: compiles" if i == 0 else
                               "XLA programs from the first pass's persistent cache (tracing "
                               "repeats)"))  # fmt: skip
        files.append(results / "eval")
        ok = [p for p in passes if p.get("games_per_s")]
        out.update(
            source=source,
            board=board,
            runs=runs,
            passes=passes,
            games_per_s=ok[-1]["games_per_s"] if ok else None,
            status="ok" if len(ok) == len(plan.s4_games) else ("partial" if ok else "error"),
        )
        return out

    def stage_S5(self, d: Path, deadline: float, files: list) -> dict:
        lines = read_rows(self.jsonl)
        text = summarize(lines, total_s=time.monotonic() - self.started)
        (self.out / "summary.md").write_text(text)
        return {
            "status": "ok",
            "summary": "summary.md",
            "campaign_wall_s": round(time.monotonic() - self.started, 1),
        }


# ---------------------------------------------------------------------------------------------
# helpers of the campaign (no JAX)


def s2_train_overrides(plan: Plan, results: Path, max_wall: float) -> list[str]:
    """S2's `python -m pipeline.train` overrides: 3x3, Jones's settings, his grid's 2x8 net."""
    return ["board.size=3", "train=gpu", "train.schedule=jones", "model.width=2",
            "model.depth=8", *plan.s2_overrides, f"results_dir={results}",
            f"train.max_wall_s={max_wall:.0f}"]  # fmt: skip


def s3_population_overrides(plan: Plan, results: Path, max_wall: float) -> list[str]:
    """S3's `python -m pipeline.train.population` overrides: the 5x5 grid (`plan.s3_grid`, a
    widths x depths product) as one population, Jones's settings."""
    widths = sorted({w for w, _ in plan.s3_grid}, reverse=True)
    depths = sorted({d for _, d in plan.s3_grid})
    if sorted(plan.s3_grid) != sorted((w, d) for w in widths for d in depths):
        raise ValueError(f"S3's grid must be a widths x depths product, got {plan.s3_grid}")
    grid = f"{{{plan.s3_board}:{{widths:[{_ints(widths)}],depths:[{_ints(depths)}]}}}}"
    return [f"board.size={plan.s3_board}", "train=gpu", "train.schedule=jones",
            f"++sweep.boards={grid}", "sweep.seeds=[0]", *plan.s3_overrides,
            f"results_dir={results}", f"train.max_wall_s={max_wall:.0f}"]  # fmt: skip


def _ints(values) -> str:
    return ",".join(str(v) for v in values)


def s4_eval_overrides(board: int, results: Path, games: int, runs: list[str]) -> list[str]:
    """S4's `python -m pipeline.evaluate` overrides: a round robin at the training node count
    with the random anchor only, no node variants, no Elo fit. The solver anchors play on the
    host (and 5×5's needs numba, which the GPU image lacks): S4 times games on the device."""
    return [f"board.size={board}", f"results_dir={results}", f"eval.games_per_pair={games}",
            "eval.anchors.perfect=false", "eval.anchors.eps=[]",
            "eval.node_variants=[]", "eval.variant_snapshots=none", "eval.elo=false",
            "eval.batch.pad_calls=full",  # what a GPU pads to (auto), in the CPU dry run too
            "eval.progress_interval_s=10", f"eval.runs=[{','.join(runs)}]"]  # fmt: skip


def utc_now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def remaining(deadline: float) -> float:
    return max(deadline - time.monotonic(), 0.0)


def child_env(dry_run: bool, work: Path) -> dict:
    env = dict(os.environ)
    path = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    if str(REPO) not in path:
        path.append(str(REPO))
    env["PYTHONPATH"] = os.pathsep.join(path)
    env["PYTHONUNBUFFERED"] = "1"
    env["HEXSCALE_CACHE"] = str(work / "cache")  # fresh compile cache and solver tables
    env.setdefault("HEXSCALE_PROGRESS_S", "15")
    if dry_run:
        env["JAX_PLATFORMS"] = "cpu"
        # as the tests do (tests/conftest.py): XLA's CPU backend compiles ~25% faster unoptimised
        if "xla_backend_optimization_level" not in env.get("XLA_FLAGS", ""):
            flags = env.get("XLA_FLAGS", "") + " --xla_backend_optimization_level=0"
            env["XLA_FLAGS"] = flags.strip()
    return env


def spawn(cmd: list[str], log: Path, env: dict):
    log.parent.mkdir(parents=True, exist_ok=True)
    f = log.open("ab")
    f.write(("$ " + " ".join(cmd) + "\n").encode())
    f.flush()
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=f, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    proc._campaign = (f, time.monotonic())  # type: ignore[attr-defined]
    return proc


def wait_all(procs: list, timeout: float) -> list[dict]:
    """Wait for every process until `timeout` s from now; end the process groups of those still
    running (SIGTERM, SIGKILL after 5 s). One dict each: outcome exit|timeout, rc, wall_s."""
    deadline = time.monotonic() + timeout
    for proc in procs:
        try:
            proc.wait(timeout=remaining(deadline))
        except subprocess.TimeoutExpired:
            break
    out = []
    for proc in procs:
        timed_out = proc.poll() is None
        if timed_out:
            end_group(proc)
        f, started = proc._campaign
        f.close()
        out.append({"outcome": "timeout" if timed_out else "exit", "rc": proc.returncode,
                    "wall_s": round(time.monotonic() - started, 1)})  # fmt: skip
    return out


def end_group(proc) -> None:
    for sig, grace in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def status_of(res: dict, rows: list) -> str:
    if res["outcome"] == "exit" and res["rc"] == 0 and rows:
        return "ok"
    if res["outcome"] == "timeout":
        return "timeout"
    return "error"


def read_rows(path: Path) -> list[dict]:
    if not path.exists():
        return []
    rows = []
    for line in path.read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            pass  # a line cut short by a kill
    return rows


def append_text(target: Path, source: Path, limit: int = 20000) -> None:
    if source.exists():
        text = source.read_text(errors="replace")[-limit:]
        with target.open("a") as f:
            f.write(f"--- {source.name}\n{text}\n")


def _skip(name: str) -> bool:
    return name in ("checkpoint.msgpack", "tensorboard", ".lock") or name.startswith(
        ("checkpoint", ".tmp", "events.out")
    )


def tar_bytes(paths: list[Path], root: Path, level: int) -> bytes:
    """A gzipped tar of `paths` named relative to `root`. level 1: of each run's snapshots only
    the first and last; level 2: logs and JSON only."""

    def keep(p: Path) -> bool:
        if any(_skip(part) for part in p.parts):
            return False
        if level == 2:
            return p.suffix in (".log", ".json", ".jsonl", ".yaml") and p.stat().st_size < 2**20
        if level == 1 and p.parent.parent.name == "snapshots":
            siblings = sorted(q.name for q in p.parent.parent.iterdir() if q.name[:1].isdigit())
            return p.parent.name in (siblings[0], siblings[-1])
        return True

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for path in paths:
            items = [path] if path.is_file() else sorted(q for q in path.rglob("*") if q.is_file())
            for item in items:
                if keep(item):
                    tar.add(item, arcname=str(item.relative_to(root)))
    return buf.getvalue()


def snapshot_rows(results: Path, launched: float, run: str | None = None) -> list[dict]:
    """Each snapshot's index, samples, FLOPs, meta wall_s (iterations' time, first compile
    included) and launch_s (its directory's mtime after the training process was launched)."""
    pattern = f"{run or '*'}/snapshots/*/meta.json"
    rows = []
    for meta_path in sorted((results / "runs").glob(pattern)):
        try:
            meta = json.loads(meta_path.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        rows.append({
            "run": meta.get("run_name"), "index": meta.get("index"),
            "samples": meta.get("samples"), "train_flops_jones": meta.get("train_flops_jones"),
            "wall_s": round(meta.get("wall_s", float("nan")), 2),
            "launch_s": round(meta_path.stat().st_mtime - launched, 1),
            "capped": meta.get("capped"), "backend": meta.get("backend"),
            "device_kind": meta.get("device_kind"), "dir": str(meta_path.parent),
        })  # fmt: skip
    return sorted(rows, key=lambda r: (r["run"] or "", r["index"] or 0))


def metrics_summary(results: Path, run: str | None = None) -> dict:
    """Iterations, samples and rates from a run's metrics.jsonl: first-call (compile) and steady
    samples/s (iterations after the first)."""
    paths = sorted((results / "runs").glob(f"{run or '*'}/metrics.jsonl"))
    if not paths:
        return {}
    rows = read_rows(paths[0])
    if not rows:
        return {"iterations": 0}
    elapsed = [r["samples"] / r["samples_per_s"] for r in rows[:1]] + [
        (b["samples"] - a["samples"]) / b["samples_per_s"]
        for a, b in zip(rows, rows[1:], strict=False)
    ]
    steady = rows[1:]
    out = {
        "iterations": len(rows), "samples": rows[-1]["samples"],
        "iterations_wall_s": round(sum(elapsed), 2),
        "first_iteration_s": round(elapsed[0], 2),
        "train_flops_jones": rows[-1]["train_flops_jones"],
    }  # fmt: skip
    if steady:
        samples = rows[-1]["samples"] - rows[0]["samples"]
        out["steady_samples_per_s"] = round(samples / sum(elapsed[1:]), 1)
        out["steady_node_evals_per_s"] = round(
            statistics.median(r["node_evals_per_s"] for r in steady), 1
        )
        out["last_loss"] = rows[-1].get("loss/total")
        out["black_win_rate"] = rows[-1].get("selfplay/black_win_rate")
    return out


def train_stop(results: Path, run: str | None = None) -> str:
    runs = sorted((results / "runs").glob(run or "*"))
    if not runs:
        return "no run directory"
    if (runs[0] / "done.json").exists():
        return "finished"
    if (runs[0] / "error.json").exists():
        return "error: " + (runs[0] / "error.json").read_text()[:300]
    return "stopped early (max_wall_s or the stage cap)"


def parse_played(log: Path) -> dict:
    text = log.read_text(errors="replace") if log.exists() else ""
    m = re.search(r"played ([\d,]+) games in ([\d.]+) s \(([\d.]+) games/s\), (\d+) agents", text)
    if not m:
        return {}
    return {"games": int(m[1].replace(",", "")), "play_wall_s": float(m[2]),
            "games_per_s": float(m[3]), "agents": int(m[4])}  # fmt: skip


def jones_3x3_wall_s() -> float:
    try:
        text = (REPO / "pipeline" / "infra" / "jones.py").read_text()
        m = re.search(r"PERFECT_PLAY_WALL_S.*?\{\s*3:\s*([\d.]+)", text, re.S)
        return float(m[1]) if m else JONES_3X3_WALL_S
    except OSError:
        return JONES_3X3_WALL_S


# ---------------------------------------------------------------------------------------------
# summary.md (S5)


def _fmt(x, spec: str = ",.0f") -> str:
    if x is None or (isinstance(x, float) and x != x):
        return "–"
    try:
        return format(x, spec)
    except (TypeError, ValueError):
        return str(x)


def _bytes(x) -> str:
    return "–" if not x else f"{x / 2**30:.2f} GiB"


def summarize(lines: list[dict], total_s: float | None = None) -> str:
    """summary.md from campaign.jsonl's lines (the last line of each stage counts)."""
    by = {}
    for line in lines:
        by[line.get("stage")] = line
    dry = any(line.get("dry_run") for line in lines)
    out = ["# GPU campaign summary", ""]
    if dry:
        out += ["**Dry run** (tiny shapes on CPU): the numbers test the plumbing only.", ""]
    out += ["| stage | what | status | wall s | cap s | files |", "|---|---|---|---:|---:|---|"]
    for s in STAGES:
        if s in by:
            r = by[s]
            out.append(f"| {s} | {r.get('title', TITLES[s])} | {r.get('status')} | "
                       f"{_fmt(r.get('wall_s'), '.1f')} | {_fmt(r.get('cap_s'))} | "
                       f"{', '.join(r.get('files', [])) or '–'} |")  # fmt: skip
    if total_s is not None:
        out += ["", f"Campaign wall clock to S5: {total_s:.0f} s."]
    s0 = by.get("S0", {})
    ceilings = {}
    if s0:
        out += ["", "## S0: device", ""]
        out.append(f"- backend {s0.get('backend')}, devices {s0.get('devices')}")
        out.append(f"- python {s0.get('python')}, versions {s0.get('versions')}")
        out.append(f"- XLA_FLAGS `{s0.get('env', {}).get('XLA_FLAGS', '')}`; "
                   f"memory {s0.get('memory_stats', {})}")  # fmt: skip
        if s0.get("nvidia_smi"):
            out.append(f"- nvidia-smi: {s0['nvidia_smi']}")
        for name, m in (s0.get("matmul") or {}).items():
            ceilings[name] = m.get("flops_per_s")
            out.append(f"- matmul {name} n={m.get('n')}: {_fmt(m.get('flops_per_s'), '.3g')} "
                       "FLOP/s")  # fmt: skip
        if s0.get("error"):
            out.append(f"- error: {s0['error']}")
    s1 = by.get("S1", {})
    if s1:
        out += [
            "",
            "## S1: self-play + learner at 9x9 (schedule rollout, learner batch = envs)",
            "",
        ]
        f32 = ceilings.get("f32_default") or DATASHEET_FLOPS["tf32"]
        out += ["| variant | model | envs | nodes | compile s | samples/s | node evals/s | "
                "train FLOP/s (std) | of f32 matmul | peak bytes | while loops (unknown trip) |",
                "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]  # fmt: skip
        for r in s1.get("rows", []):
            if "error" in r:
                out.append(f"| {r.get('variant')} | {r.get('width')}x{r.get('depth')} | "
                           f"{r.get('envs')} | {r.get('nodes')} | error: "
                           f"{str(r['error'])[:80]} |||||||")  # fmt: skip
                continue
            frac = r["train_flops_standard_per_s"] / f32 if f32 else None
            out.append(
                f"| {r['variant']} | {r['width']}x{r['depth']} | {r['envs']} | {r['nodes']} | "
                f"{_fmt(r['compile_s'], '.1f')} | {_fmt(r['samples_per_s'])} | "
                f"{_fmt(r['node_evals_per_s'])} | {_fmt(r['train_flops_standard_per_s'], '.3g')} "
                f"| {_fmt(frac, '.1%')} | {_bytes(r.get('peak_bytes_in_use'))} | "
                f"{r['while_loops']} ({r['while_loops_unknown_trip']}) |"
            )
        for name, p in (s1.get("procs") or {}).items():
            out.append(f"- {name}: {p}")
    s2 = by.get("S2", {})
    if s2:
        jones = s2.get("jones_wall_s", JONES_3X3_WALL_S)
        out += [
            "",
            "## S2: 3x3 to perfect play (Jones's settings, 2x8)",
            "",
            f"- `{s2.get('command')}`",
            f"- training: {s2.get('train')}, {s2.get('stopped')}",
            f"- metrics: {s2.get('metrics')}",
            f"- last snapshot black wins vs solver: {_fmt(s2.get('last_black_wins'), '.3f')}",
        ]
        if s2.get("first_perfect_index") is not None:
            w = s2["wall_s_to_perfect"] or float("nan")
            how = "bisection" if s2.get("bisection_converged") else "bisection cut short: at most"
            out.append(f"- first perfect snapshot ({how}): {s2['first_perfect_index']:02d} "
                       f"at {w:.1f} s of training iterations ({s2['launch_s_to_perfect']:.0f} s "
                       f"from launch); Jones: ≈{jones:.0f} s on one RTX 2080 Ti "
                       f"(his time / ours: {jones / w:.1f})")  # fmt: skip
        else:
            out.append(f"- perfect play not reached or not checked; Jones: ≈{jones:.0f} s")
        out += [
            "",
            "| snapshot | samples | Jones FLOPs | wall s (iterations) | s from launch | "
            "black wins vs solver |",
            "|---:|---:|---:|---:|---:|---:|",
        ]
        checks = {c["index"]: c["black_wins"] for c in s2.get("checks", [])}
        for r in s2.get("snapshots", []):
            out.append(
                f"| {r['index']:02d} | {_fmt(r['samples'])} | "
                f"{_fmt(r['train_flops_jones'], '.3g')} | {_fmt(r['wall_s'], '.1f')} | "
                f"{_fmt(r['launch_s'], '.0f')} | {_fmt(checks.get(r['index']), '.3f')} |"
            )
    s3 = by.get("S3", {})
    if s3:
        out += ["", f"## S3: {s3.get('board')}x{s3.get('board')} grid, "
                f"{s3.get('runs_in_population')} runs in one population", "",
                f"- total steady samples/s: {_fmt(s3.get('total_steady_samples_per_s'))}; "
                f"samples over the stage: {_fmt(s3.get('samples_per_s_over_stage'))}/s "
                f"({_fmt(s3.get('total_samples'))} samples)", "",
                "| run | iterations | samples | first iteration s | steady samples/s | "
                "snapshots | stop |", "|---|---:|---:|---:|---:|---:|---|"]  # fmt: skip
        for r in s3.get("runs", []):
            out.append(f"| {r['run']} | {_fmt(r.get('iterations'))} | {_fmt(r.get('samples'))} "
                       f"| {_fmt(r.get('first_iteration_s'), '.1f')} | "
                       f"{_fmt(r.get('steady_samples_per_s'))} | {_fmt(r.get('snapshots'))} | "
                       f"{r.get('stopped', s3['proc'].get('outcome'))} |")  # fmt: skip
    s4 = by.get("S4", {})
    if s4:
        out += ["", f"## S4: evaluation of a GPU pool ({s4.get('source')} snapshots, "
                f"board {s4.get('board')})", "", "| pass | games/pair | games | agents | "
                "play s | games/s | note |", "|---:|---:|---:|---:|---:|---:|---|"]  # fmt: skip
        for i, p in enumerate(s4.get("passes", []), 1):
            out.append(
                f"| {i} | {p.get('games_per_pair')} | {_fmt(p.get('games'))} | "
                f"{_fmt(p.get('agents'))} | {_fmt(p.get('play_wall_s'), '.1f')} | "
                f"{_fmt(p.get('games_per_s'), ',.1f')} | {p.get('compiled')} |"
            )
    for s in STAGES:
        if by.get(s, {}).get("error"):
            out += ["", f"{s} error: `{by[s]['error']}`"]
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------------
# workers: one subprocess each, JAX imported there; each writes JSON lines to --rows as it goes


def _emit_row(path: Path, row: dict) -> None:
    with path.open("a") as f:
        f.write(json.dumps(row, default=str) + "\n")
        f.flush()


def _versions() -> dict:
    import importlib
    import importlib.metadata as md

    out = {}
    for dist, module in (("jax", "jax"), ("jaxlib", "jaxlib"), ("numpy", "numpy"),
                         ("flax", "flax"), ("optax", "optax"), ("chex", "chex"),
                         ("mctx", "mctx"), ("hydra-core", "hydra"), ("omegaconf", "omegaconf"),
                         ("antlr4-python3-runtime", "antlr4"), ("submitit", "submitit"),
                         ("tensorboardX", "tensorboardX"), ("jax-cuda13-plugin", None),
                         ("jax-cuda12-plugin", None)):  # fmt: skip
        try:
            version = md.version(dist)
        except md.PackageNotFoundError:
            continue
        where = ""
        if module:
            try:
                where = str(Path(importlib.import_module(module).__file__).parent.parent)
            except Exception as err:  # noqa: BLE001
                where = f"import failed: {err}"
        out[dist] = f"{version} ({where})" if where else version
    return out


def worker_probe(spec: dict, rows: Path) -> None:
    import platform

    import jax
    import jax.numpy as jnp

    row = {"python": platform.python_version(), "versions": _versions(),
           "backend": jax.default_backend(),
           "devices": [f"{d.id}:{d.platform}:{d.device_kind}" for d in jax.devices()],
           "env": {k: v for k, v in os.environ.items()
                   if k.startswith(("XLA_", "JAX_", "TF_", "CUDA_", "NVIDIA_"))},
           "jax_config": {k: str(getattr(jax.config, k, None)) for k in
                          ("jax_default_matmul_precision", "jax_enable_x64",
                           "jax_compilation_cache_dir")}}  # fmt: skip
    try:
        row["memory_stats"] = {k: v for k, v in (jax.devices()[0].memory_stats() or {}).items()
                               if k in ("bytes_limit", "bytes_in_use", "peak_bytes_in_use",
                                        "bytes_reservable_limit")}  # fmt: skip
    except Exception as err:  # noqa: BLE001
        row["memory_stats"] = {"error": str(err)}
    if shutil.which("nvidia-smi"):
        q = "name,driver_version,memory.total,clocks.sm,clocks.max.sm,power.limit,temperature.gpu"
        try:
            smi = subprocess.run(["nvidia-smi", f"--query-gpu={q}", "--format=csv,noheader"],
                                 capture_output=True, text=True, timeout=20)  # fmt: skip
            row["nvidia_smi"] = smi.stdout.strip() or smi.stderr.strip()
        except (OSError, subprocess.SubprocessError) as err:
            row["nvidia_smi"] = str(err)
    _emit_row(rows, row)  # before the matmuls: a hang there loses nothing above
    if spec["need_gpu"] and row["backend"] == "cpu":
        return  # the campaign stops without a GPU: no 8192-wide matmuls on a CPU
    n = int(spec["matmul_n"])
    matmul = {}
    for name, dtype, precision in (("bf16", jnp.bfloat16, None),
                                   ("f32_default", jnp.float32, None),
                                   ("f32_highest", jnp.float32, "highest")):  # fmt: skip
        a = jax.random.normal(jax.random.key(1), (n, n), dtype)
        b = jax.random.normal(jax.random.key(2), (n, n), dtype)
        f = jax.jit(lambda x, y, p=precision: jnp.dot(x, y, precision=p))
        f(a, b).block_until_ready()
        times = []
        for _ in range(5):
            t = time.perf_counter()
            f(a, b).block_until_ready()
            times.append(time.perf_counter() - t)
        s = statistics.median(times)
        matmul[name] = {"n": n, "median_s": s, "flops_per_s": 2 * n**3 / s}
    _emit_row(rows, {"matmul": matmul})


def _while_loops(hlo: str) -> dict:
    loops = [line for line in hlo.splitlines() if " while(" in line]
    unknown = [line for line in loops if "known_trip_count" not in line]
    trips: dict[str, int] = {}
    for line in loops:
        m = re.search(r'"known_trip_count":\{"n":"(\d+)"\}', line)
        if m:
            trips[m[1]] = trips.get(m[1], 0) + 1
    names = []
    for line in unknown[:12]:
        m = re.search(r'op_name="([^"]*)"', line)
        names.append("/".join(m[1].split("/")[-3:]) if m else line[:80])
    return {"while_loops": len(loops), "while_loops_unknown_trip": len(unknown),
            "while_loops_unknown_trip_not_gamma": sum("jit(_gamma)" not in x for x in unknown),
            "known_trip_counts": trips, "unknown_trip_loops": names}  # fmt: skip


def worker_train_bench(spec: dict, rows: Path) -> None:
    """S1: `pipeline.train.core.make_iteration` at each shape (as scripts/bench.py builds it),
    compiled ahead, then timed call by call with the carry passed on."""
    import jax
    import optax

    from agents.network import forward_flops
    from pipeline.infra.config import compose
    from pipeline.train.core import flops_per_sample, init_carry, make_iteration

    jax.config.update("jax_enable_compilation_cache", False)  # compile_s: a real compilation
    device = jax.devices()[0]
    for size, width, depth, envs, nodes in spec["shapes"]:
        row = {"variant": spec["variant"], "loops": spec["loops"],
               "xla_flags": spec["xla_flags"], "size": size, "width": width, "depth": depth,
               "envs": envs, "nodes": nodes, "rollout_steps": spec["rollout_steps"],
               "backend": jax.default_backend()}  # fmt: skip
        try:
            cfg = compose(
                f"board.size={size}",
                f"model.width={width}",
                f"model.depth={depth}",
                f"search.nodes={nodes}",
                f"search.loops={spec['loops']}",
                "train=gpu",
                f"train.n_envs={envs}",
                f"train.batch_size={envs}",
                f"train.rollout_steps={spec['rollout_steps']}",
                "run_name=bench",
            )
            optimizer = optax.adam(cfg.train.lr)
            iteration = make_iteration(cfg, optimizer)
            t = time.perf_counter()
            carry = jax.block_until_ready(init_carry(cfg, optimizer))
            row["init_s"] = round(time.perf_counter() - t, 2)
            t = time.perf_counter()
            lowered = iteration.lower(carry)
            row["lower_s"] = round(time.perf_counter() - t, 2)
            t = time.perf_counter()
            compiled = lowered.compile()
            row["compile_s"] = round(time.perf_counter() - t, 2)
            row.update(_while_loops(compiled.as_text()))
            try:
                mem = compiled.memory_analysis()
                row["program_bytes"] = {k: getattr(mem, k) for k in (
                    "argument_size_in_bytes", "output_size_in_bytes", "alias_size_in_bytes",
                    "temp_size_in_bytes", "generated_code_size_in_bytes")}  # fmt: skip
            except Exception as err:  # noqa: BLE001
                row["program_bytes"] = {"error": str(err)}
            t = time.perf_counter()
            carry, metrics = compiled(carry)
            jax.block_until_ready(metrics)
            row["first_call_s"] = round(time.perf_counter() - t, 3)
            walls = []
            for _ in range(spec["repeats"]):
                t = time.perf_counter()
                carry, metrics = compiled(carry)
                jax.block_until_ready(metrics)
                walls.append(time.perf_counter() - t)
            wall = statistics.median(walls)
            samples = envs * spec["rollout_steps"]
            jones, standard = flops_per_sample(cfg)
            row.update(
                wall_s=round(wall, 4), walls_s=[round(w, 4) for w in walls],
                samples_per_call=samples, samples_per_s=round(samples / wall, 1),
                node_evals_per_s=round(samples * nodes / wall, 1),
                train_flops_jones_per_s=float(f"{samples * jones / wall:.4g}"),
                train_flops_standard_per_s=float(f"{samples * standard / wall:.4g}"),
                forward_flops_standard=forward_flops(size, width, depth, "standard"),
                loss=float(metrics["loss/total"]),
            )  # fmt: skip
            stats = device.memory_stats() or {}
            # peak_bytes_in_use is the process's peak so far: shapes run in order of size
            row["peak_bytes_in_use"] = stats.get("peak_bytes_in_use")
            row["bytes_in_use"] = stats.get("bytes_in_use")
            row["bytes_limit"] = stats.get("bytes_limit")
            del carry, metrics, compiled, lowered, iteration
        except Exception as err:  # noqa: BLE001 - e.g. out of memory: record, go on
            row["error"] = f"{type(err).__name__}: {str(err)[:500]}"
        _emit_row(rows, row)
        print(json.dumps(row, default=str), flush=True)


def worker_solver_check(spec: dict, rows: Path) -> None:
    """S2: `black_wins_vs_solver` on the last snapshot, then a bisection for the first snapshot
    that wins every game (assumes play stays perfect once perfect) until the deadline."""
    from pipeline.evaluate.players import black_wins_vs_solver
    from pipeline.infra.snapshot import load_meta

    snaps = spec["snapshots"]
    deadline = spec["deadline_unix"]
    indices = [int(load_meta(Path(s))["index"]) for s in snaps]
    done: dict[int, float] = {}

    def check(i: int) -> float:
        t = time.perf_counter()
        wins = black_wins_vs_solver(snaps[i], games=spec["games"])
        done[i] = wins
        _emit_row(rows, {"index": indices[i], "black_wins": wins, "games": spec["games"],
                         "check_s": round(time.perf_counter() - t, 2)})  # fmt: skip
        return wins

    if check(len(snaps) - 1) < 1.0:
        return
    lo, hi = 0, len(snaps) - 1  # hi: known perfect
    while lo < hi and time.time() < deadline:
        mid = (lo + hi) // 2
        if check(mid) == 1.0:
            hi = mid
        else:
            lo = mid + 1


def worker_fake_snapshots(spec: dict, rows: Path) -> None:
    """S4 without S2/S3 snapshots: randomly initialised 3x3 snapshots written the way
    pipeline.train writes them (two runs, three savepoints each)."""
    import jax

    from agents.network import init_params
    from pipeline.infra.config import compose
    from pipeline.infra.layout import Layout
    from pipeline.train.loop import Plan as TrainPlan
    from pipeline.train.loop import save_run_snapshot, snapshot_meta
    from pipeline.train.run_files import Counters

    names = []
    for width in (2, 4):
        cfg = compose("board.size=3", f"model.width={width}", "model.depth=2", "search.nodes=16",
                      f"results_dir={spec['results_dir']}")  # fmt: skip
        run = Layout(cfg.results_dir).run(cfg.run_name)
        plan, meta = TrainPlan.of(cfg), snapshot_meta(cfg)
        for index in range(3):
            params = init_params(jax.random.PRNGKey(10 * width + index), 3, width, 2)
            samples = 1000 * (index + 1)
            counters = Counters(iteration=index + 1, samples=samples,
                                train_flops_jones=float(plan.savepoints[index]),
                                train_flops_standard=2 * float(plan.savepoints[index]),
                                wall_s=float(index + 1))  # fmt: skip
            save_run_snapshot(run, params, meta, counters, plan, index, False)
        names.append(cfg.run_name)
    _emit_row(rows, {"runs": names})


WORKERS = {
    "probe": worker_probe,
    "train_bench": worker_train_bench,
    "solver_check": worker_solver_check,
    "fake_snapshots": worker_fake_snapshots,
}


# ---------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--out", type=Path, help="where the files go (default: $OUT, else "
                    "outputs/gpu_campaign)")  # fmt: skip
    ap.add_argument("--dry-run", action="store_true", help="tiny shapes on CPU, < 3 min")
    ap.add_argument("--only", nargs="+", choices=STAGES, metavar="STAGE",
                    help="run only these stages (S0..S5)")  # fmt: skip
    ap.add_argument("--work", type=Path, help="scratch folder (default: a new temp folder)")
    ap.add_argument("--keep-work", action="store_true", help="leave the scratch folder")
    ap.add_argument("--list", action="store_true", help="print the stages and caps, then exit")
    ap.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    ap.add_argument("--spec", help=argparse.SUPPRESS)
    ap.add_argument("--rows", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.worker:
        WORKERS[args.worker](json.loads(args.spec), args.rows)
        return 0
    if args.list:
        for s in STAGES:
            gpu, dry = CAPS[s]
            print(f"{s}  cap {gpu:>3} s on GPU, {dry:>3} s dry-run  {TITLES[s]}")
        print(f"total {sum(c[0] for c in CAPS.values())} s on GPU, "
              f"{sum(c[1] for c in CAPS.values())} s dry-run")  # fmt: skip
        return 0

    out = args.out or Path(os.environ.get("OUT") or "outputs/gpu_campaign")
    work = args.work or Path(tempfile.mkdtemp(prefix="hexscale-campaign-"))
    plan = DRY_PLAN if args.dry_run else GPU_PLAN
    only = set(args.only or STAGES)
    camp = Campaign(out.resolve(), work.resolve(), plan, sys.executable)
    camp.log(f"campaign: stages {' '.join(s for s in STAGES if s in only)}, dry_run "
             f"{plan.dry_run}, out {out}, work {work}, python {sys.executable}")  # fmt: skip
    code, short = 0, []
    try:
        for name in STAGES:
            row = camp.stage(name, only)
            if row is not None and row["status"] != "ok":
                short.append(f"{name} {row['status']}")
            if name == "S0" and row is not None and not row.get("gpu") and not plan.dry_run:
                camp.log("S0: no GPU: stopping the campaign")
                camp.stage("S5", only | {"S5"})
                code = 2
                break
    finally:
        if not args.keep_work and args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    camp.log(f"campaign done in {time.monotonic() - camp.started:.0f} s: {sorted(os.listdir(out))}")
    if plan.dry_run and short and code == 0:  # CI runs the dry run: every stage must pass there
        camp.log(f"dry run: stages not ok: {', '.join(short)}")
        code = 1
    return code


if __name__ == "__main__":
    sys.exit(main())
