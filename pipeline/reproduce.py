"""The one-command reproduction behind `scripts/reproduce.sh smoke|cpu|paper|tiny`.

    python -m pipeline.reproduce +experiment=smoke [overrides, e.g. hydra/launcher=local]

Stages, each resumable and each a separate process so that a failure names its stage: train the
preset's sweep (`pipeline.sweep`), evaluate every board (`pipeline.evaluate`), rebuild the catalog
(`pipeline.catalog`), fit and draw every figure (`analysis.figures`). Every stage gets this job's
command-line overrides, so all of them read the same composed config. Re-running after an
interruption skips finished runs, resumes partial ones and plays only missing games.
"""

from __future__ import annotations

import subprocess
import sys
import time

import hydra
from omegaconf import DictConfig

from pipeline.config import check_results_dir, load, register_configs
from pipeline.layout import Layout
from pipeline.sweep import REPO, check_grid, command_line_overrides


def _stage(name: str, module: str, overrides: list[str]) -> None:
    start = time.perf_counter()
    print(f"\n== {name}: {module} {' '.join(overrides)}", flush=True)
    result = subprocess.run([sys.executable, "-m", module, *overrides], cwd=REPO)
    if result.returncode != 0:
        message = f"stage '{name}' failed (exit {result.returncode}); rerun to continue"
        print(message, file=sys.stderr)
        sys.exit(result.returncode)
    print(f"== {name}: done in {time.perf_counter() - start:.0f} s", flush=True)


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
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

    _stage("train", "pipeline.sweep", overrides)
    for size in sorted(job.sweep.boards):
        _stage(f"evaluate {size}x{size}", "pipeline.evaluate", [*task, f"board.size={size}"])
    _stage("catalog", "pipeline.catalog", task)
    _stage("fit and draw", "analysis.figures", task)

    print(f"\nhexscale reproduction finished in {time.perf_counter() - start:.0f} s")
    print(f"  runs, snapshots, matches, Elo: {layout.catalog}")
    print(f"  figures and fit summary:       {layout.figures}")
    for figure in sorted(layout.figures.glob("*.png")):
        print(f"    {figure}")
    summary = layout.figures / "summary.md"
    if summary.exists():
        print("\n" + summary.read_text())


register_configs()

if __name__ == "__main__":
    main()
