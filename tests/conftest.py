"""Shared test helpers: the composed config with overrides, tiny training settings, fake
snapshots with the meta.json fields `pipeline.train` writes."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import jax

from agents.network import forward_flops, init_params, param_count
from agents.search import SearchConfig
from pipeline.infra.config import compose, register_configs
from pipeline.infra.layout import Layout
from pipeline.infra.runtime import configure_jax
from pipeline.infra.snapshot import save_snapshot

REPO = Path(__file__).resolve().parents[1]

# The smallest training job that still writes snapshots: seconds on CPU.
TINY_TRAIN = (
    "model.depth=1",
    "search.nodes=4",
    "train.n_envs=16",
    "train.batch_size=16",
    "train.rollout_steps=4",
    "train.min_flops=1e3",
    "train.n_snapshots=3",
    "train.progress=false",
)


LONGEST_FIRST = ("test_reproduce.py", "test_sweep.py")  # the suite's critical path on 2 workers


def pytest_collection_modifyitems(items):
    """Start the longest end-to-end tests first, so no worker is left running one alone."""
    items.sort(key=lambda item: item.path.name not in LONGEST_FIRST)


compose_config = compose  # conf/config.yaml composed with overrides, typed


def pytest_configure(config):
    """The test session's process settings, before any test compiles: tests compile far more
    than they run, so XLA's CPU backend compiles without LLVM optimisation (~25% faster; the
    entry points the tests start inherit it), and in-process tests share compiled programs
    with those entry points' runs."""
    os.environ.setdefault("XLA_FLAGS", "--xla_backend_optimization_level=0")
    register_configs()
    configure_jax(compile_cache=True)


def run_module(module: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """`python -m module args…` from the repo root, on CPU, output captured."""
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=REPO, capture_output=True, text=True, env=env, timeout=timeout,
    )  # fmt: skip


def fake_snapshot(
    root: Path,
    index: int,
    *,
    run: str = "b3-w4-d1-test",
    size: int = 3,
    width: int = 4,
    depth: int = 1,
    search: SearchConfig | None = None,
    seed: int | None = None,
    device: dict | None = None,
) -> Path:
    """A randomly initialised snapshot under `root` with the meta.json fields pipeline.train
    writes; train FLOPs double with the index. `device` adds the training device's fields
    (`pipeline.infra.provenance.device_provenance`); without it the meta lacks them, as in
    snapshots written before they were recorded."""
    params = init_params(jax.random.PRNGKey(index if seed is None else seed), size, width, depth)
    flops = 1e8 * 2**index
    meta = {
        "run_name": run,
        "board_size": size,
        "width": width,
        "depth": depth,
        "params": param_count(size, width, depth),
        "forward_flops_jones": forward_flops(size, width, depth, "jones"),
        "forward_flops_standard": forward_flops(size, width, depth, "standard"),
        "search": dataclasses.asdict(search or SearchConfig(nodes=4)),
        "index": index,
        "samples": 1000 * index,
        "train_flops_jones": flops,
        "train_flops_standard": 2 * flops,
        "wall_s": 1.0,
        "seed": 0,
        "code_version": "test",
        "capped": False,
        **(device or {}),
    }
    directory = Layout(root).run(run).snapshot(index)
    save_snapshot(directory, params, meta)
    return directory
