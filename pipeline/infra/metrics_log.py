"""Optional metric sinks beside `metrics.jsonl`: TensorBoard event files and Weights & Biases.

    sinks = MetricsLogger(run_dir, tensorboard=True, run_name="b4-w8-d2-grill64-seed0")
    sinks.log(step, {"loss/total": 1.2, "samples_per_s": 3e4})
    sinks.close()

- TensorBoard (tensorboardX, a pinned dependency, imported only when enabled): event files in
  `<log_dir>/tensorboard/`; view with `tensorboard --logdir <results_dir>/runs` (TensorBoard
  itself is not a dependency: `pip install tensorboard` anywhere). On resume, `resume_step`
  (the last step the checkpoint includes) makes TensorBoard drop the steps after it that the
  interrupted attempt had logged, as `metrics.jsonl` does.
- W&B (`pip install 'hexscale[wandb]'`, imported only when enabled): files in `<log_dir>/wandb/`;
  the run id is derived from the run name and directory, so a resumed job continues the same
  W&B run. `WANDB_MODE=offline` works without a network (`wandb sync <log_dir>/wandb/offline-*`
  uploads later).

`metrics.jsonl` stays the caller's job: it is the record resume truncation relies on.
"""

from __future__ import annotations

import hashlib
import math
import re
from numbers import Real
from pathlib import Path
from typing import Any

TENSORBOARD_DIR = "tensorboard"
WANDB_DIR = "wandb"
DEFAULT_WANDB_PROJECT = "hexscale"


def scalars(metrics: dict[str, Any]) -> dict[str, float]:
    """The finite real-valued entries of `metrics` (bools and strings dropped)."""
    out = {}
    for key, value in metrics.items():
        if isinstance(value, bool) or not isinstance(value, Real):
            continue
        value = float(value)
        if math.isfinite(value):
            out[key] = value
    return out


def wandb_run_id(run_name: str, log_dir: str | Path) -> str:
    """A W&B run id stable across resumes of one run directory (unique across directories)."""
    digest = hashlib.sha1(str(Path(log_dir).resolve()).encode()).hexdigest()[:8]
    return f"{re.sub(r'[^A-Za-z0-9_.-]', '_', run_name)[:100]}-{digest}"


class MetricsLogger:
    """Fan-out of `log(step, metrics)` to the enabled sinks; with none enabled it does nothing
    and imports nothing."""

    def __init__(
        self,
        log_dir: str | Path,
        *,
        tensorboard: bool = False,
        wandb: bool = False,
        wandb_project: str | None = None,
        run_name: str | None = None,
        config: dict | None = None,
        resume_step: int = 0,
    ):
        self.log_dir = Path(log_dir)
        self._tb = None
        self._wandb = None
        run_name = run_name or self.log_dir.name
        if tensorboard:
            from tensorboardX import SummaryWriter

            self._tb = SummaryWriter(
                logdir=str(self.log_dir / TENSORBOARD_DIR),
                purge_step=resume_step + 1 if resume_step > 0 else None,
                flush_secs=30,
            )
        if wandb:
            try:
                import wandb as wandb_lib
            except ImportError:
                raise RuntimeError(
                    "W&B logging is on but wandb is not installed: "
                    "pip install 'hexscale[wandb]' (or turn W&B logging off)"
                ) from None
            directory = self.log_dir / WANDB_DIR
            directory.mkdir(parents=True, exist_ok=True)
            self._wandb = wandb_lib.init(
                project=wandb_project or DEFAULT_WANDB_PROJECT,
                name=run_name,
                id=wandb_run_id(run_name, self.log_dir),
                resume="allow",
                dir=str(self.log_dir),
                config=config,
            )

    @property
    def enabled(self) -> bool:
        return self._tb is not None or self._wandb is not None

    def log(self, step: int, metrics: dict[str, Any]) -> None:
        """Record the real-valued entries of `metrics` at `step` in every enabled sink."""
        if not self.enabled:
            return
        values = scalars(metrics)
        if self._tb is not None:
            for key, value in values.items():
                self._tb.add_scalar(key, value, global_step=step)
        if self._wandb is not None:
            self._wandb.log(values, step=step)

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()
            self._tb = None
        if self._wandb is not None:
            self._wandb.finish()
            self._wandb = None

    def __enter__(self) -> MetricsLogger:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
