"""Snapshots on disk: `params.msgpack` (flax serialisation) + `meta.json`, written atomically.

A snapshot directory is complete or absent: files are written into a temporary sibling directory
that is renamed into place, so a crash never leaves a half-written snapshot.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import jax
from flax import serialization

from agents.network import init_params

PARAMS_FILE = "params.msgpack"
META_FILE = "meta.json"


def save_snapshot(directory: Path, params, meta: dict) -> None:
    """Write params and meta into `directory` as one atomic step (replacing an older copy)."""
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=directory.parent, prefix=f".{directory.name}."))
    try:
        (tmp / PARAMS_FILE).write_bytes(serialization.to_bytes(params))
        (tmp / META_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
        if directory.exists():
            shutil.rmtree(directory)
        os.replace(tmp, directory)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def load_meta(directory: Path) -> dict:
    return json.loads((Path(directory) / META_FILE).read_text())


def load_snapshot(directory: Path) -> tuple[Any, dict]:
    """(params, meta) of a snapshot; the params template comes from the meta's network shape."""
    meta = load_meta(directory)
    template = init_params(jax.random.PRNGKey(0), meta["board_size"], meta["width"], meta["depth"])
    params = serialization.from_bytes(template, (Path(directory) / PARAMS_FILE).read_bytes())
    return params, meta
