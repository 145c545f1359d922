"""Console output of long jobs that reads well in a terminal and in a log file.

`Progress` is a tqdm bar when its stream is a terminal; otherwise (SLURM/submitit logs, pipes,
CI) it prints one plain line every `interval_s` seconds (default 30, or `HEXSCALE_PROGRESS_S`),
plus one at the start and one at the end, with done/total, percent, rate, elapsed time and ETA,
and no carriage-return frames:

    b4-w8-d2: 1.20G/3.40G FLOP (35%) | 41.2M FLOP/s | elapsed 00:29 | ETA 00:53 | loss=1.23

`quiet_jax_logs()` hides JAX's INFO line about backends it probes and does not find ("Unable to
initialize backend 'tpu'"), which shows once Hydra sets logging to INFO; it changes no platform.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from typing import IO, Any

from tqdm import tqdm

DEFAULT_INTERVAL_S = 30.0
INTERVAL_ENV = "HEXSCALE_PROGRESS_S"


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def _interval(interval_s: float | None) -> float:
    if interval_s is not None:
        return float(interval_s)
    value = os.environ.get(INTERVAL_ENV)
    if not value:
        return DEFAULT_INTERVAL_S
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"{INTERVAL_ENV}={value!r} is not a number of seconds") from None


class Progress:
    """Progress of `total` units; tqdm-compatible subset (`n`, `update`, `set_postfix`,
    `close`), usable as a context manager."""

    def __init__(
        self,
        total: float,
        *,
        desc: str = "",
        unit: str = "it",
        unit_scale: bool = False,
        initial: float = 0,
        interval_s: float | None = None,
        stream: IO[str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.stream = sys.stderr if stream is None else stream
        self.total = total
        self.n = initial
        self.desc = desc
        self.unit = unit
        self.unit_scale = unit_scale
        self.interval_s = _interval(interval_s)
        self._clock = clock
        self._postfix: dict[str, Any] = {}
        self._closed = False
        self._bar = None
        if _isatty(self.stream):
            self._bar = tqdm(
                total=total, initial=initial, unit=unit, unit_scale=unit_scale, desc=desc,
                dynamic_ncols=True, file=self.stream,
            )  # fmt: skip
        else:
            self._initial = initial
            self._start = self._last = clock()
            self._write()

    # --- tqdm-compatible interface ---

    def update(self, n: float = 1) -> None:
        self.n += n
        if self._bar is not None:
            self._bar.update(n)
            return
        now = self._clock()
        if now - self._last >= self.interval_s:
            self._last = now
            self._write(now)

    def set_postfix(self, refresh: bool = True, **values: Any) -> None:
        self._postfix = values
        if self._bar is not None:
            self._bar.set_postfix(refresh=refresh, **values)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._bar is not None:
            self._bar.close()
        else:
            self._write()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- plain lines ---

    def _amount(self, x: float) -> str:
        if self.unit_scale:
            return tqdm.format_sizeof(x)
        return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.3g}"

    def line(self, now: float | None = None) -> str:
        """The plain progress line as of `now` (clock seconds)."""
        now = self._clock() if now is None else now
        elapsed = max(now - self._start, 0.0)
        parts = [f"{self._amount(self.n)}/{self._amount(self.total)} {self.unit}"]
        if self.total:
            parts[0] += f" ({100 * self.n / self.total:.0f}%)"
        rate = (self.n - self._initial) / elapsed if elapsed > 0 else 0.0
        fields = [parts[0]]
        if rate > 0:
            fields.append(f"{self._amount(rate)} {self.unit}/s")
        fields.append(f"elapsed {tqdm.format_interval(elapsed)}")
        if self.n < self.total:
            eta = tqdm.format_interval((self.total - self.n) / rate) if rate > 0 else "?"
            fields.append(f"ETA {eta}")
        if self._postfix:
            fields.append(" ".join(f"{k}={_format_value(v)}" for k, v in self._postfix.items()))
        text = " | ".join(fields)
        return f"{self.desc}: {text}" if self.desc else text

    def _write(self, now: float | None = None) -> None:
        self.stream.write(self.line(now) + "\n")
        self.stream.flush()


def _format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
