"""The one-command reproduction behind `scripts/reproduce.sh smoke|paper`.

Stages, each resumable, each a separate process so that a failure names its stage:
train the preset's sweep (`pipeline.sweep`), evaluate every board (`pipeline.evaluate`), rebuild
the catalog (`pipeline.catalog`), fit and draw every figure (`analysis.figures`). Re-running after
an interruption skips finished runs, resumes partial ones and plays only missing games.

    python -m pipeline.reproduce smoke [training overrides, e.g. hydra/launcher=local]
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from hydra import compose, initialize_config_dir

from pipeline import evaluate
from pipeline.config import register_configs, to_object
from pipeline.sweep import CONF_DIR

REPO = CONF_DIR.parent
PRESETS = tuple(sorted(p.stem for p in (CONF_DIR / "experiment").glob("*.yaml")))


def _stage(name: str, command: list[str]) -> None:
    start = time.perf_counter()
    print(f"\n== {name}: {' '.join(command[2:])}", flush=True)
    result = subprocess.run(command, cwd=REPO)
    if result.returncode != 0:
        message = f"stage '{name}' failed (exit {result.returncode}); rerun to continue"
        print(message, file=sys.stderr)
        sys.exit(result.returncode)
    print(f"== {name}: done in {time.perf_counter() - start:.0f} s", flush=True)


def main(argv: list[str]) -> None:
    if not argv or argv[0] not in PRESETS:
        usage = f"usage: python -m pipeline.reproduce {{{'|'.join(PRESETS)}}} [overrides]"
        print(usage, file=sys.stderr)
        sys.exit(2)
    preset, overrides = argv[0], argv[1:]
    register_configs()
    evaluate.register_configs()
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        job_overrides = [o for o in overrides if not o.startswith(("hydra/", "hydra."))]
        cfg = compose("train", [f"+experiment={preset}", *job_overrides, "run_name=x", "run_dir=x"])
        eval_cfg = compose("evaluate", [f"+eval_preset={cfg.sweep.eval}", "board.size=3"])
    job = to_object(cfg)
    results_dir = Path(job.output_dir)
    python = sys.executable
    start = time.perf_counter()

    _stage("train", [python, "-m", "pipeline.sweep", f"+experiment={preset}", *overrides])
    for size in sorted(job.sweep.boards):
        _stage(
            f"evaluate {size}x{size}",
            [python, "-m", "pipeline.evaluate", f"+eval_preset={job.sweep.eval}",
             f"results_dir={results_dir}", f"board.size={size}"],
        )  # fmt: skip
    _stage("catalog", [python, "-m", "pipeline.catalog", f"results_dir={results_dir}"])
    figures_dir = results_dir / "figures"
    _stage(
        "fit and draw",
        [
            python,
            "-m",
            "analysis.figures",
            f"results_dir={results_dir}",
            f"out_dir={figures_dir}",
            f"nodes={eval_cfg.reference_nodes}",
        ],
    )

    print(f"\nhexscale {preset} reproduction finished in {time.perf_counter() - start:.0f} s")
    print(f"  runs, snapshots, matches, Elo: {results_dir / 'catalog'}")
    print(f"  figures and fit summary:       {figures_dir}")
    for figure in sorted(figures_dir.glob("*.png")):
        print(f"    {figure}")
    summary = figures_dir / "summary.md"
    if summary.exists():
        print("\n" + summary.read_text())


if __name__ == "__main__":
    main(sys.argv[1:])
