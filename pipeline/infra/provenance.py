"""Where a result came from: the code version and the host, recorded with every result."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path


def code_version() -> str:
    """`git describe` of this checkout (`-dirty` with uncommitted changes), or "unknown"."""
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--abbrev=12"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=10,
        )
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def host() -> dict:
    """CPU model, core count and platform of this machine (timings differ ~2× between hosts)."""
    cpu = platform.processor() or "unknown"
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        cpu = next(line.split(":", 1)[1].strip() for line in lines if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "platform": platform.platform()}
