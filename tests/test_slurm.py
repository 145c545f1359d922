"""SLURM sweeps. Without a cluster: the launcher config reaching sbatch, submission and
resubmission against stand-in SLURM commands, scheduler states in pipeline.status. On the local
cluster (`bash scripts/slurm_local.sh up`; `pytest -m slurm tests/test_slurm.py`): the tiny sweep
end to end, one training job requeued and another signalled ahead of its time limit, both
resuming from their checkpoints with every snapshot, then an evaluation with exact totals."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO, compose_config, run_module
from hydra import compose, initialize_config_dir
from submitit.core.utils import DelayedSubmission

from pipeline.infra.config import CONF_DIR, register_configs
from pipeline.infra.files import atomic_write_json
from pipeline.infra.layout import Layout
from pipeline.slurm import (
    Stage,
    active,
    executor,
    job_states,
    launcher_params,
    read_submissions,
)
from pipeline.status import eval_coverage, format_status, sweep_status
from pipeline.train.loop import Plan, snapshot_due
from pipeline.train.run_files import Counters

RUNS = [f"b3-w{w}-d1-jones4-seed0" for w in (4, 8)]  # +experiment=tiny's grid


def _raw(*overrides: str, hydra: bool = False):
    register_configs()
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        return compose("config", overrides=list(overrides), return_hydra_config=hydra)


def _sbatch_lines(launcher: str, tmp_path: Path, after: str | None = None):
    """The sbatch script's lines for a launcher config, and the submitit executor."""
    params = launcher_params(_raw(f"hydra/launcher={launcher}", hydra=True).hydra.launcher)
    ex = executor(params, tmp_path, "train-b3", after)._executor
    return set(ex._make_submission_file_text("python -m x", "uid").splitlines()), ex


def test_the_launcher_config_reaches_sbatch(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", f"{_fake_slurm(tmp_path)}:{os.environ['PATH']}")
    lines, ex = _sbatch_lines("slurm", tmp_path, after="7")
    for flag in ("--gpus-per-node=1", "--cpus-per-task=8", "--mem=64GB", "--time=720",
                 "--signal=USR2@120", "--dependency=afterany:7", "--job-name=train-b3",
                 "export XLA_PYTHON_CLIENT_PREALLOCATE=false"):  # fmt: skip
        assert f"#SBATCH {flag}" in lines or flag in lines, flag
    assert ex.max_num_timeout == 20
    lines, _ = _sbatch_lines("slurm_local", tmp_path)
    assert {"#SBATCH --gpus-per-node=0", "#SBATCH --partition=local", "#SBATCH --mem=2GB"} <= lines
    assert not any(line.startswith("#SBATCH --dependency") for line in lines)


def _fake_slurm(tmp_path: Path) -> Path:
    """Stand-ins for sbatch (numbers jobs from 7, keeps each script), srun, squeue (prints
    $FAKE_SQUEUE's file) and sacct (accounting off)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    scripts = {
        "sbatch": 'n=$(cat "$0.n" 2>/dev/null || echo 7); echo $((n + 1)) > "$0.n"\n'
        'cp "$1" "$0.$n.sh"; echo "Submitted batch job $n"',
        "srun": "exit 0",
        "squeue": 'cat "${FAKE_SQUEUE:-/dev/null}"',
        "sacct": 'echo "Slurm accounting storage is disabled" >&2; exit 1',
    }
    for name, body in scripts.items():
        if not (bin_dir / name).exists():  # a test may have replaced one
            (bin_dir / name).write_text(f"#!/bin/sh\n{body}\n")
            (bin_dir / name).chmod(0o755)
    return bin_dir


def _sweep(tmp_path: Path, *overrides: str, squeue: str = "", path: str | None = None):
    (tmp_path / "squeue.txt").write_text(squeue)
    bin_dir = _fake_slurm(tmp_path)
    env = dict(os.environ, JAX_PLATFORMS="cpu", FAKE_SQUEUE=str(tmp_path / "squeue.txt"))
    env["PATH"] = path if path is not None else f"{bin_dir}:{env['PATH']}"
    command = [sys.executable, "-m", "pipeline.sweep", "+experiment=tiny", *overrides]
    command += [f"results_dir={tmp_path / 'results'}"]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, env=env, timeout=120)


def _stage(layout: Layout, job: str) -> Stage:
    """What job `job` runs, from submitit's record of it."""
    return DelayedSubmission.load(layout.slurm_logs / job / f"{job}_submitted.pkl").function


def test_a_sweep_submits_training_then_evaluation_and_resubmits_only_what_is_needed(tmp_path):
    layout = Layout(tmp_path / "results")
    result = _sweep(tmp_path, "hydra/launcher=slurm_local")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "training 7 (2 runs), evaluation 8 after it" in result.stdout
    [submission] = read_submissions(layout)
    runs = {RUNS[0]: "7_0", RUNS[1]: "7_1"}
    assert submission["boards"] == [{"board": 3, "train": "7", "runs": runs, "evaluate": "8"}]
    assert submission["overrides"] == [
        "hydra/launcher=slurm_local", "+experiment=tiny", f"results_dir={layout.root}"
    ]  # fmt: skip
    task = ("+experiment=tiny", f"results_dir={layout.root}")
    point = ("board.size=3", "model.width=8", "model.depth=1", "train.seed=0")
    assert _stage(layout, "7_1") == Stage("pipeline.train", (*task, *point))
    assert _stage(layout, "8") == Stage("pipeline.evaluate", (*task, "board.size=3"))
    training = (tmp_path / "bin" / "sbatch.7.sh").read_text()
    assert "#SBATCH --array=0-1%2" in training and "--dependency" not in training
    evaluation = (tmp_path / "bin" / "sbatch.8.sh").read_text()
    assert "#SBATCH --dependency=afterany:7" in evaluation and "--array" not in evaluation
    assert "#SBATCH --job-name=eval-b3" in evaluation
    # still queued: not submitted again
    again = _sweep(tmp_path, "hydra/launcher=slurm_local", squeue="7_1|RUNNING|None\n")
    assert "board 3: jobs 7_1 still queued or running; skipped" in again.stdout
    assert len(read_submissions(layout)) == 1
    # ended, or no longer known: the runs without done.json again, then evaluation alone
    atomic_write_json(layout.run(RUNS[0]).done, {"run_name": RUNS[0]})
    again = _sweep(tmp_path, "hydra/launcher=slurm_local", squeue="7_1|FAILED|None\n")
    assert "training 9 (1 runs), evaluation 10 after it" in again.stdout
    assert read_submissions(layout)[-1]["boards"][0]["runs"] == {RUNS[1]: "9"}
    atomic_write_json(layout.run(RUNS[1]).done, {"run_name": RUNS[1]})
    again = _sweep(tmp_path, "hydra/launcher=slurm_local")
    assert "board 3: every run done; evaluation 11" in again.stdout, again.stderr[-2000:]
    assert read_submissions(layout)[-1]["boards"] == [{"board": 3, "evaluate": "11"}]


def test_a_population_board_is_one_training_job(tmp_path):
    result = _sweep(tmp_path, "hydra/launcher=slurm_local", "sweep.population_boards=[3]")
    assert result.returncode == 0, result.stderr[-2000:]
    [submission] = read_submissions(Layout(tmp_path / "results"))
    board = {"board": 3, "train": "7", "runs": dict.fromkeys(RUNS, "7"), "evaluate": "8"}
    assert submission["boards"] == [board]
    assert "--array" not in (tmp_path / "bin" / "sbatch.7.sh").read_text()
    task = (
        "+experiment=tiny",
        "sweep.population_boards=[3]",
        f"results_dir={tmp_path / 'results'}",
    )
    population = Stage("pipeline.train.population", (*task, "board.size=3"))
    assert _stage(Layout(tmp_path / "results"), "7") == population


def test_slurm_errors_are_one_line_and_what_was_accepted_is_recorded(tmp_path):
    python_only = str(Path(sys.executable).parent)
    result = _sweep(tmp_path, "hydra/launcher=slurm", path=python_only)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "config error: hydra/launcher=slurm needs SLURM's sbatch and srun on PATH (a local "
        "cluster: bash scripts/slurm_local.sh up, then hydra/launcher=slurm_local)"
    ]
    bin_dir = _fake_slurm(tmp_path)
    refusal = "sbatch: error: Invalid generic resource (gres) specification"
    (bin_dir / "sbatch").write_text(f"#!/bin/sh\necho '{refusal}' >&2\nexit 1\n")
    result = _sweep(tmp_path, "hydra/launcher=slurm")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [f"error: {refusal}"]
    assert not Layout(tmp_path / "results").jobs.exists()
    # training accepted, its evaluation refused: the array is recorded, so it is not doubled
    (bin_dir / "sbatch").write_text(
        '#!/bin/sh\nif grep -q dependency "$1"; then echo \'sbatch: error: Job dependency '
        "problem' >&2; exit 1; fi\necho 'Submitted batch job 7'\n"
    )
    result = _sweep(tmp_path, "hydra/launcher=slurm")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == ["error: sbatch: error: Job dependency problem"]
    [submission] = read_submissions(Layout(tmp_path / "results"))
    assert submission["boards"] == [
        {"board": 3, "train": "7", "runs": {RUNS[0]: "7_0", RUNS[1]: "7_1"}}
    ]


def test_status_shows_each_runs_job_and_the_evaluation_job(tmp_path, monkeypatch):
    layout = Layout(tmp_path / "results")
    layout.run(RUNS[0]).dir.mkdir(parents=True)
    layout.run(RUNS[0]).config.write_text("board:\n  size: 3\n")
    board = {"board": 3, "train": "7", "runs": {RUNS[0]: "7_0", RUNS[1]: "7_1"}, "evaluate": "8"}
    atomic_write_json(
        layout.jobs, {"submissions": [{"time": 0, "overrides": [], "boards": [board]}]}
    )
    (tmp_path / "squeue.txt").write_text("7_0|RUNNING|None\n8|PENDING|Dependency\n")
    monkeypatch.setenv("PATH", f"{_fake_slurm(tmp_path)}:{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_SQUEUE", str(tmp_path / "squeue.txt"))
    assert job_states(["7_0", "7_1", "8"]) == {"7_0": "RUNNING", "8": "PENDING (Dependency)"}
    assert active("PENDING (Dependency)") and not active("COMPLETED") and not active(None)
    text = format_status(sweep_status(_raw("+experiment=tiny", f"results_dir={layout.root}")))
    assert re.search(rf"{RUNS[0]}\s+stopped .* job 7_0 RUNNING", text), text
    assert re.search(rf"{RUNS[1]}\s+pending .* job 7_1 not known to the scheduler", text), text
    assert "  evaluation job 8 PENDING (Dependency)" in text
    layout.jobs.write_text("{")
    status = sweep_status(_raw("+experiment=tiny", f"results_dir={layout.root}"))
    assert status.problems == [f"unreadable {layout.jobs} (JSONDecodeError)"] and not status.ok


def _cluster_up() -> bool:
    if shutil.which("sinfo") is None:
        return False
    out = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=10)
    return out.returncode == 0 and bool({"idle", "mixed", "allocated"} & set(out.stdout.split()))


def _wait(condition, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)


def _scontrol(*args: str) -> None:
    subprocess.run(["scontrol", *args], check=True, timeout=30)


def _job_field(job: str, field: str) -> str:
    out = subprocess.run(["scontrol", "show", "job", "-o", job], capture_output=True, text=True)
    match = re.search(rf"\b{field}=(\S+)", out.stdout)
    return match.group(1) if match else ""


def _iterations(results: Path, run: str) -> list[int]:
    path = Layout(results).run(run).metrics
    lines = path.read_text().splitlines() if path.exists() else []
    return [json.loads(line)["iteration"] for line in lines if line.endswith("}")]


def _expected_snapshots(*overrides: str) -> dict[int, int]:
    """Snapshot index → samples at which an uninterrupted run writes it."""
    plan, counters, expected = Plan.of(compose_config(*overrides)), Counters(), {}
    while not plan.finished(counters):
        counters.iteration += 1
        counters.samples += plan.samples_per_iteration
        counters.train_flops_jones += plan.samples_per_iteration * plan.jones_per_sample
        due = snapshot_due(counters, plan)
        if due is not None:
            expected[due[0]] = counters.samples
    return expected


def _check_run(results: Path, run: str, task_log: str, signal: str, *overrides: str) -> None:
    files = Layout(results).run(run)
    done = json.loads(files.done.read_text())
    assert _iterations(results, run) == list(range(1, done["iteration"] + 1))
    metas = [json.loads(p.read_text()) for p in sorted(files.snapshots.glob("*/meta.json"))]
    assert {m["index"]: m["samples"] for m in metas} == _expected_snapshots(*overrides)
    assert f"{signal}: checkpointed {files.dir} at iteration" in task_log
    resumed = [int(n) for n in re.findall(rf"resuming {files.dir} at iteration (\d+)", task_log)]
    assert resumed and resumed[0] > 0, task_log[-3000:]


def _log_times(log: str, event: str) -> list[str]:
    """The timestamps of submitit's log lines containing `event`, in order."""
    return re.findall(rf"submitit \w+ \(([\d\- :,]+)\) - [^\n]*{re.escape(event)}", log)


def _task_log(results: Path, job: str) -> str:
    return (Layout(results).slurm_logs / job / f"{job}_0_log.out").read_text()


def _until_ended(job: str, timeout_s: float) -> None:
    _wait(lambda: not active(job_states([job]).get(job)), timeout_s, f"job {job} to end")


def _requeue_killed_evaluation(results: Path, evaluation: str) -> None:
    """Once the evaluation has recorded games, kill it outright (SIGKILL: its claims are left
    behind, freed because its pid is gone) and requeue it."""
    matches = Layout(results).board(3).matches
    _wait(lambda: matches.exists() or not active(job_states([evaluation]).get(evaluation)),
          400, "the evaluation's first games")  # fmt: skip
    if active(job_states([evaluation]).get(evaluation)):
        subprocess.run(["scancel", "--signal=KILL", f"{evaluation}.0"], check=True)  # its srun step
        _until_ended(evaluation, 60)
        _scontrol("requeue", evaluation)


def _cut_time_limit(job: str) -> str:
    """Set `job`'s limit 1-2 min ahead, so that its --signal=USR2@120 is due now (SLURM sends it
    at its next 30-s check); returns the limit it had."""
    limit, elapsed = _job_field(job, "TimeLimit"), _job_field(job, "RunTime")
    minutes = sum(int(x) * 60**i for i, x in enumerate(reversed(elapsed.split(":")))) // 60 + 2
    _scontrol("update", f"JobId={job}", f"TimeLimit={minutes}")
    return limit


@pytest.mark.slurm
@pytest.mark.skipif(not _cluster_up(), reason="no SLURM cluster (bash scripts/slurm_local.sh up)")
def test_requeued_and_timed_out_training_resume_and_evaluation_is_exact(tmp_path):
    """w4's time limit is cut as soon as it trains (its heartbeat: the handler is in place), so
    SLURM sends its USR2 and submitit requeues it; w8 is requeued once it has an iteration
    (scontrol requeue: SIGTERM). Both resume from a checkpoint and write exactly an
    uninterrupted run's snapshots. The evaluation, after both, is killed once it has recorded
    games and requeued; its totals are exact."""
    started = time.monotonic()
    results, layout = tmp_path / "results", Layout(tmp_path / "results")
    # a last savepoint 100x tiny's: w4 trains > 40 s on an idle machine, so its USR2 (up to
    # 30 s late) finds it training;
    # the evaluation in calls of 8 pairings, recording games as it goes
    task = ["+experiment=tiny", f"results_dir={results}", "train.flops_bounds={3:[1e5,1e9]}",
            "eval.batch.max_pairs_per_call=8"]  # fmt: skip
    sweep = run_module("pipeline.sweep", *task, "hydra/launcher=slurm_local", timeout=60)
    assert sweep.returncode == 0, sweep.stderr[-2000:]
    board = read_submissions(layout)[0]["boards"][0]
    job = board["runs"]
    timed_out, requeued, evaluation = job[RUNS[0]], job[RUNS[1]], board["evaluate"]
    try:
        _wait(layout.run(RUNS[0]).heartbeat.exists, 240, "w4 to train")
        limit = _cut_time_limit(timed_out)
        _wait(lambda: len(_iterations(results, RUNS[1])) >= 1, 240, "w8's first iteration")
        _scontrol("requeue", requeued)
        restarts = lambda: int(_job_field(timed_out, "Restarts") or 0)
        _wait(lambda: restarts() or layout.run(RUNS[0]).done.exists(), 90, "w4's USR2 requeue")
        assert restarts(), "w4 ended before its USR2 (up to 30 s late): raise its last savepoint"
        _scontrol("update", f"JobId={timed_out}", f"TimeLimit={limit}")
        _requeue_killed_evaluation(results, evaluation)
        _until_ended(evaluation, 400)
    finally:  # nothing left queued, whatever happened
        subprocess.run(["scancel", board["train"], evaluation], capture_output=True)
    wall_s = time.monotonic() - started

    jobs = [timed_out, requeued, evaluation]
    assert job_states(jobs) == dict.fromkeys(jobs, "COMPLETED")
    assert all(int(_job_field(j, "Restarts")) >= 1 for j in (timed_out, requeued))
    for run, task_id, signal in ((RUNS[0], timed_out, "SIGUSR2"), (RUNS[1], requeued, "SIGTERM")):
        width = run.split("-")[1][1:]
        log = _task_log(results, task_id)
        _check_run(results, run, log, signal, *task, "board.size=3", f"model.width={width}",
                   "model.depth=1")  # fmt: skip
    assert f"Requeued job {timed_out}" in _task_log(results, timed_out)  # by submitit, on USR2
    evaluation_log = _task_log(results, evaluation)
    first_start = _log_times(evaluation_log, "Starting with")[0]
    for task_id in (timed_out, requeued):  # afterany waited for the requeued tasks
        assert _log_times(_task_log(results, task_id), "Job completed")[-1] < first_start
    played = re.findall(r"played ([\d,]+) games", evaluation_log)
    assert len(played) == 1 and int(played[0].replace(",", "")) > 0  # killed, then the rest
    raw = _raw(*task)
    coverage = eval_coverage(raw, 3)
    assert coverage.games_planned > 0
    assert coverage.games_played == coverage.games_recorded == coverage.games_planned
    text = format_status(sweep_status(raw))
    assert f"evaluation job {evaluation} COMPLETED" in text and "done 2" in text
    print(f"\nslurm sweep: {wall_s:.0f} s from submission to the evaluation's end; the "
          f"requeued evaluation played {played[0]} of {coverage.games_planned} games")  # fmt: skip
