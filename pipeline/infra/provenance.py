"""Where a result came from: the code version and the host, recorded with every result, and
the device a snapshot was trained on (`device_provenance`), recorded in its meta.json and in the
agents and Elo tables, so no fit silently mixes CPU- and GPU-trained agents."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

DEVICE_KEYS = ("backend", "device_kind", "jax_version")  # meta.json keys of `device_provenance`


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


def device_provenance() -> dict:
    """What this process computes on: JAX's default backend (cpu | gpu | tpu), the kind of its
    first device (e.g. "NVIDIA H200", "cpu") and the jax version; keys `DEVICE_KEYS`. Starts
    JAX's backend, so call it once per run, after the process's JAX settings are applied."""
    import jax  # here, not at import: code_version and host need no JAX

    return {
        "backend": jax.default_backend(),
        "device_kind": jax.devices()[0].device_kind,
        "jax_version": jax.__version__,
    }


def snapshot_device(meta: dict) -> dict:
    """A snapshot meta's `DEVICE_KEYS` (None for any it lacks: snapshots written before they
    were recorded)."""
    return {key: meta.get(key) for key in DEVICE_KEYS}
