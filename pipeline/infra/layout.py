"""The one home of every path under a results directory; every stage takes a `Layout`.

    <results_dir>/
      runs/<run>/                      one training run (pipeline.train)
        config.yaml  checkpoint.msgpack  metrics.jsonl  done.json  tensorboard/
        heartbeat.json                 time and iteration, rewritten while training runs
        error.json                     the last failure's error line (removed by a success)
        snapshots/<NN>/{params.msgpack,meta.json}
      eval/b<S>/                       one board's evaluation (pipeline.evaluate)
        matches.parquet  agents.parquet  elo.parquet  suggest.json  claims.json  .lock
        elo_cov.parquet                the Elo fit's covariance (agent column + one per agent)
      elo.parquet                      network agents of every board (what analysis reads)
      catalog/{runs,snapshots,matches,elo}.parquet
      figures/                         PNG + PDF, summary.json, summary.md (analysis.report.figures)
      logs/                            Hydra's job logs and submitit files (slurm/: the sweep's)
      jobs.json                        SLURM job ids of every pipeline.sweep submission
      reproduction.json                stage wall times of every pipeline.reproduce invocation

Configs reach the same paths through the `${layout:...}` resolver (`pipeline.infra.config`), so no
path is spelled in two places.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

SNAPSHOT_PARAMS = "params.msgpack"
SNAPSHOT_META = "meta.json"


@dataclasses.dataclass(frozen=True)
class RunFiles:
    """The files of one training run."""

    dir: Path

    @property
    def name(self) -> str:
        return self.dir.name

    @property
    def config(self) -> Path:
        return self.dir / "config.yaml"

    @property
    def checkpoint(self) -> Path:
        return self.dir / "checkpoint.msgpack"

    @property
    def metrics(self) -> Path:
        return self.dir / "metrics.jsonl"

    @property
    def done(self) -> Path:
        return self.dir / "done.json"

    @property
    def heartbeat(self) -> Path:
        return self.dir / "heartbeat.json"

    @property
    def error(self) -> Path:
        return self.dir / "error.json"

    @property
    def tensorboard(self) -> Path:
        return self.dir / "tensorboard"

    @property
    def snapshots(self) -> Path:
        return self.dir / "snapshots"

    def snapshot(self, index: int) -> Path:
        return self.snapshots / f"{index:02d}"


@dataclasses.dataclass(frozen=True)
class BoardFiles:
    """The evaluation files of one board size."""

    dir: Path

    @property
    def matches(self) -> Path:
        return self.dir / "matches.parquet"

    @property
    def agents(self) -> Path:
        return self.dir / "agents.parquet"

    @property
    def elo(self) -> Path:
        return self.dir / "elo.parquet"

    @property
    def elo_cov(self) -> Path:
        return self.dir / "elo_cov.parquet"

    @property
    def suggest(self) -> Path:
        return self.dir / "suggest.json"

    @property
    def claims(self) -> Path:
        return self.dir / "claims.json"


@dataclasses.dataclass(frozen=True)
class Layout:
    """Paths under one results directory (nothing is created until a stage writes)."""

    root: Path

    def __init__(self, root: str | Path):
        object.__setattr__(self, "root", Path(root))

    @property
    def runs(self) -> Path:
        return self.root / "runs"

    def run(self, name: str) -> RunFiles:
        return RunFiles(self.runs / name)

    def run_dirs(self) -> list[RunFiles]:
        """Every run that has started (wrote its config), sorted by name."""
        return [RunFiles(p.parent) for p in sorted(self.runs.glob("*/config.yaml"))]

    def snapshot_dirs(self) -> list[Path]:
        """Every complete snapshot directory, sorted (temporaries `.NN.*` excluded)."""
        found = sorted(self.runs.glob(f"*/snapshots/*/{SNAPSHOT_META}"))
        return [p.parent for p in found if not p.parent.name.startswith(".")]

    @property
    def eval(self) -> Path:
        return self.root / "eval"

    def board(self, size: int) -> BoardFiles:
        return BoardFiles(self.eval / f"b{size}")

    def evaluated_boards(self) -> list[int]:
        """Board sizes with a match file, ascending."""
        names = [p.parent.name[1:] for p in self.eval.glob("b*/matches.parquet")]
        return sorted(int(n) for n in names if n.isdigit())

    @property
    def elo(self) -> Path:
        return self.root / "elo.parquet"

    @property
    def catalog(self) -> Path:
        return self.root / "catalog"

    @property
    def figures(self) -> Path:
        return self.root / "figures"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def slurm_logs(self) -> Path:
        return self.logs / "slurm"

    @property
    def jobs(self) -> Path:
        return self.root / "jobs.json"

    @property
    def reproduction(self) -> Path:
        return self.root / "reproduction.json"
