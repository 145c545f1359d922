"""A sweep's SLURM jobs: submitted through submitit with the Hydra launcher config's settings
(`conf/hydra/launcher/slurm*.yaml`), recorded in `<results_dir>/jobs.json`, and their states read
back from the scheduler (squeue, then sacct where accounting is on).

Per board, training (an array, one task per run without done.json; for a board of
`sweep.population_boards` one population job) and one evaluation job that waits for it
(`--dependency=afterany:<training>`: it starts once every task has ended, whatever the outcome,
and rates the snapshots there are; a requeued task is pending again, not ended). Every job runs
`python -m pipeline.train|train.population|evaluate <overrides>` inside submitit's own process
(`Stage`), so training's SIGUSR2/SIGTERM handler (`pipeline.train.run_files.Preemption`)
checkpoints first and then hands over to submitit's, which requeues the job; the requeued job
resumes from the checkpoint, and a requeued evaluation plays only the games still missing.

jobs.json holds one entry per `pipeline.sweep` submission, oldest first:

    {"submissions": [{"time": 1.7e9, "overrides": ["+experiment=tiny", ...],
                      "boards": [{"board": 3, "train": "7", "runs": {"b3-w4-...": "7_0", ...},
                                  "evaluate": "8"}]}]}

`runs` maps each run to its training job: an array task, or for a board of
`sweep.population_boards` the one `pipeline.train.population` job that trains them all.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import runpy
import shutil
import subprocess
import sys
import time
from pathlib import Path

import submitit
from omegaconf import DictConfig, ListConfig, OmegaConf

from pipeline.infra.files import atomic_write_json
from pipeline.infra.layout import Layout

# States of a job that will not run again; anything else the scheduler reports is queued or running.
ENDED = frozenset(
    {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "PREEMPTED", "OUT_OF_MEMORY",
     "BOOT_FAIL", "DEADLINE", "REVOKED", "SPECIAL_EXIT"}
)  # fmt: skip
# submitit's generic parameter names; every other launcher key is a SLURM one (slurm_<key>).
_GENERIC = {"timeout_min", "cpus_per_task", "gpus_per_node", "tasks_per_node", "mem_gb", "nodes"}
_GENERIC |= {"stderr_to_stdout"}
_NOT_PASSED = {"_target_", "submitit_folder", "name", "max_num_timeout"}  # set here instead


@dataclasses.dataclass(frozen=True)
class Stage:
    """`python -m <module> <overrides>` inside a submitit job. Preempted or out of time, the job
    is requeued to run the same stage again (submitit calls `checkpoint`): every stage resumes
    from its files."""

    module: str  # pipeline.train, pipeline.train.population or pipeline.evaluate
    overrides: tuple[str, ...]

    def __call__(self) -> None:
        sys.argv = [self.module, *self.overrides]
        runpy.run_module(self.module, run_name="__main__", alter_sys=True)

    def checkpoint(self, *args, **kwargs) -> submitit.helpers.DelayedSubmission:
        return submitit.helpers.DelayedSubmission(self)


def is_slurm(launcher: DictConfig) -> bool:
    """Whether the composed `hydra.launcher` is submitit's SLURM launcher (slurm, slurm_local)."""
    return str(launcher.get("_target_", "")).endswith(".SlurmLauncher")


def launcher_params(launcher: DictConfig) -> dict:
    """The launcher config's values that reach sbatch, as plain Python values."""
    plain = {}
    for key in launcher:
        if key in _NOT_PASSED:
            continue
        value = launcher[key]
        plain[key] = (
            OmegaConf.to_container(value, resolve=True)
            if isinstance(value, DictConfig | ListConfig)
            else value
        )
    plain["max_num_timeout"] = launcher.max_num_timeout
    return plain


def executor(params: dict, folder: Path, name: str, after: str | None = None):
    """A submitit SLURM executor with the launcher's `params`, logging under `folder`; `after`,
    a job id, makes its jobs wait for that job's end (afterany)."""
    params = dict(params)
    ex = submitit.AutoExecutor(
        folder=folder / "%j", cluster="slurm", slurm_max_num_timeout=params.pop("max_num_timeout")
    )
    ex.update_parameters(
        name=name, **{k if k in _GENERIC else f"slurm_{k}": v for k, v in params.items()}
    )
    if after is not None:
        ex.update_parameters(slurm_dependency=f"afterany:{after}")
    return ex


def submit_board(params: dict, folder: Path, record: dict, training: dict[Stage, list[str]],
                 evaluate: Stage) -> None:  # fmt: skip
    """Submit board `record["board"]`'s training jobs (`training`: each job's stage → the runs it
    trains; an array when several), then `evaluate` after them, filling `record` as each is
    accepted. A job sbatch refuses is a ValueError with sbatch's line."""
    try:
        with contextlib.redirect_stderr(io.StringIO()):  # submitit echoes a refusal: raised here
            _submit_board(params, folder, record, training, evaluate)
    except (submitit.core.utils.FailedJobError, submitit.core.utils.FailedSubmissionError) as err:
        lines = [line.strip() for line in str(err).splitlines() if line.strip()]
        refusals = [line for line in lines if "error:" in line]
        raise ValueError((refusals or lines or ["sbatch failed"])[0]) from None


def _submit_board(params: dict, folder: Path, record: dict, training: dict[Stage, list[str]],
                  evaluate: Stage) -> None:  # fmt: skip
    size, after = record["board"], None
    if training:
        train = executor(params, folder, f"train-b{size}")
        with train.batch():
            jobs = [train.submit(stage) for stage in training]
        after = record["train"] = jobs[0].job_id.split("_")[0]
        names = training.values()
        record["runs"] = {n: job.job_id for job, ns in zip(jobs, names, strict=True) for n in ns}
    record["evaluate"] = executor(params, folder, f"eval-b{size}", after).submit(evaluate).job_id


def read_submissions(layout: Layout) -> list[dict]:
    """Every recorded submission, oldest first ([] when none); ValueError if unreadable."""
    if not layout.jobs.exists():
        return []
    try:
        return list(json.loads(layout.jobs.read_text())["submissions"])
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ValueError(f"unreadable {layout.jobs} ({type(err).__name__})") from None


def record_submission(layout: Layout, overrides: list[str], boards: list[dict]) -> None:
    """Append one submission to jobs.json (atomic rewrite)."""
    entry = {"time": time.time(), "overrides": overrides, "boards": boards}
    atomic_write_json(layout.jobs, {"submissions": [*read_submissions(layout), entry]})


def latest_boards(submissions: list[dict]) -> dict[int, dict]:
    """Board size → its record in the latest submission that included it."""
    return {int(b["board"]): b for s in submissions for b in s["boards"]}


def board_job_ids(board: dict) -> list[str]:
    """The board record's job ids: its training jobs, then its evaluation (if submitted)."""
    jobs = [*board.get("runs", {}).values(), *([board["evaluate"]] if "evaluate" in board else [])]
    return list(dict.fromkeys(jobs))


def _query(command: list[str]) -> list[list[str]]:
    """The `|`-separated rows a SLURM client prints; [] if it fails or is missing."""
    if shutil.which(command[0]) is None:
        return []
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return []
    if out.returncode != 0:
        return []
    return [line.split("|") for line in out.stdout.splitlines() if "|" in line]


def job_states(job_ids: list[str]) -> dict[str, str]:
    """SLURM state of each job id ('8', or an array task '7_0') the scheduler reports, with the
    pending reason ("PENDING (Dependency)"); ids it no longer knows are left out. Empty when
    no scheduler answers."""
    if not job_ids:
        return {}
    ids = ",".join(job_ids)
    states = {}
    for job, state, reason in _query(
        ["squeue", "-h", "-r", "-t", "all", "-o", "%i|%T|%r", "-j", ids]
    ):
        states[job] = f"{state} ({reason})" if state == "PENDING" and reason != "None" else state
    missing = [j for j in job_ids if j not in states]
    if missing:
        rows = _query(["sacct", "-n", "-X", "-P", "-o", "JobID,State", "-j", ",".join(missing)])
        states |= {row[0]: row[1].split()[0] for row in rows if row[0] in missing}
    return states


def active(state: str | None) -> bool:
    """Whether a job in `state` may still run (queued, running, requeued); None: not known."""
    return state is not None and state.split()[0] not in ENDED
