"""The one-command reproduction behind `scripts/reproduce.sh smoke|cpu|paper|tiny`.

    python -m pipeline.reproduce +experiment=smoke [overrides, e.g. hydra/launcher=local]

Stages, each resumable and each a separate process so that a failure names its stage: train the
preset's sweep (`pipeline.sweep`), evaluate every board (`pipeline.evaluate`), rebuild the catalog
(`pipeline.catalog`), fit and draw every figure (`analysis.report.figures`). Every stage gets this
job's command-line overrides, so all of them read the same composed config. Re-running after an
interruption skips finished runs, resumes partial ones and plays only missing games;
`<results_dir>/reproduction.json` adds up the stages' wall time over every invocation.
"""

from __future__ import annotations

import datetime
import json
import subprocess
import sys
import time

from omegaconf import DictConfig

from pipeline.infra.config import check_results_dir, hydra_main, load, register_configs
from pipeline.infra.files import atomic_write_json
from pipeline.infra.layout import Layout
from pipeline.infra.provenance import code_version, host
from pipeline.sweep import REPO, check_grid, command_line_overrides


class Record:
    """`reproduction.json`: per invocation, the host, code version, overrides and each finished
    stage's wall seconds (saved while it runs), so that a run spread over several sessions adds
    up its wall time."""

    def __init__(self, layout: Layout, overrides: list[str]):
        self.path = layout.reproduction
        self.data = json.loads(self.path.read_text()) if self.path.exists() else {"invocations": []}
        self.data["invocations"].append(
            {"started": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
             "host": host(), "code_version": code_version(), "overrides": overrides,
             "stages": {}, "finished": False}
        )  # fmt: skip

    def stage(self, name: str, seconds: float) -> None:
        self.data["invocations"][-1]["stages"][name] = round(seconds, 1)
        self.save()

    def finish(self) -> None:
        self.data["invocations"][-1]["finished"] = True
        self.save()

    def save(self) -> None:
        self.data["wall_s"] = sum(sum(i["stages"].values()) for i in self.data["invocations"])
        atomic_write_json(self.path, self.data)


def _stage(name: str, module: str, overrides: list[str], record: Record) -> None:
    start = time.perf_counter()
    print(f"\n== {name}: {module} {' '.join(overrides)}", flush=True)
    proc = subprocess.Popen([sys.executable, "-m", module, *overrides], cwd=REPO)
    while True:  # the stage's time so far is saved every 30 s: a killed job loses at most that
        try:
            code = proc.wait(timeout=30)
            break
        except subprocess.TimeoutExpired:
            record.stage(name, time.perf_counter() - start)
    record.stage(name, time.perf_counter() - start)
    if code != 0:
        print(f"stage '{name}' failed (exit {code}); rerun to continue", file=sys.stderr)
        sys.exit(code)
    print(f"== {name}: done in {time.perf_counter() - start:.0f} s", flush=True)


@hydra_main
def main(cfg: DictConfig) -> None:
    job = load(cfg, check_results_dir)
    try:
        check_grid(cfg)
    except ValueError as err:
        print(f"config error: {err}", file=sys.stderr)
        sys.exit(2)
    overrides = command_line_overrides()
    task = [o for o in overrides if not o.startswith(("hydra/", "hydra."))]
    layout = Layout(job.results_dir)
    start = time.perf_counter()
    record = Record(layout, overrides)

    _stage("train", "pipeline.sweep", overrides, record)
    for size in sorted(job.sweep.boards):
        evaluate = [*task, f"board.size={size}"]
        _stage(f"evaluate {size}x{size}", "pipeline.evaluate", evaluate, record)
    _stage("catalog", "pipeline.catalog", task, record)
    _stage("fit and draw", "analysis.report", task, record)
    record.finish()

    print(
        f"\nhexscale reproduction finished in {time.perf_counter() - start:.0f} s"
        f" ({record.data['wall_s']:.0f} s over {len(record.data['invocations'])} invocations)"
    )
    print(f"  runs, snapshots, matches, Elo: {layout.catalog}")
    print(f"  figures and fit summary:       {layout.figures}")
    for figure in sorted(layout.figures.glob("*.png")):
        print(f"    {figure}")
    summary = layout.figures / "summary.md"
    if summary.exists():
        print("\n" + summary.read_text())


if __name__ == "__main__":
    register_configs()
    main()
