"""Snapshots on disk: `params.msgpack` (flax serialisation) + `meta.json`, written atomically.

A snapshot directory is complete or absent: files are written into a temporary sibling directory
that is renamed into place, so a crash never leaves a half-written snapshot. A damaged one (disk
error, truncated copy) fails to load with a one-line `SnapshotError` naming the file and what to
do; `check_snapshot` returns that line instead of raising, for callers that skip such snapshots.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
from pathlib import Path
from typing import Any

import jax
from flax import serialization, traverse_util

from agents.network import init_params
from pipeline.infra.files import CorruptFileError, create_temp_dir

PARAMS_FILE = "params.msgpack"
META_FILE = "meta.json"
_META_KEYS = ("board_size", "width", "depth")


class SnapshotError(CorruptFileError):
    """A snapshot directory whose files are missing, unreadable or inconsistent."""


def save_snapshot(directory: Path, params, meta: dict) -> None:
    """Write params and meta into `directory` as one atomic step (replacing an older copy)."""
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = create_temp_dir(directory.parent, prefix=f".{directory.name}.")
    try:
        (tmp / PARAMS_FILE).write_bytes(serialization.to_bytes(params))
        (tmp / META_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
        if directory.exists():
            shutil.rmtree(directory)
        os.replace(tmp, directory)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _error(path: Path, reason: str) -> SnapshotError:
    directory = path.parent
    return SnapshotError(
        f"corrupt snapshot {path} ({reason}): delete {directory} to drop this snapshot, "
        "or retrain its run from scratch to regenerate it"
    )


def _reason(err: Exception) -> str:
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    if "incomplete input" in text:
        return "truncated msgpack"
    if type(err).__name__ == "ExtraData":
        return "not a msgpack params file"
    return text if len(text) <= 100 else text[:97] + "..."


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise _error(path, f"missing {path.name}") from None
    except OSError as err:
        raise _error(path, f"unreadable: {err.strerror or err}") from None


def load_meta(directory: Path) -> dict:
    """The snapshot's meta.json; `SnapshotError` if missing, not JSON or lacking the shape keys."""
    path = Path(directory) / META_FILE
    data = _read(path)
    try:
        meta = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise _error(path, f"invalid JSON: {_reason(err)}") from None
    if not isinstance(meta, dict):
        raise _error(path, "not a JSON object")
    missing = [k for k in _META_KEYS if k not in meta]
    if missing:
        raise _error(path, f"missing key {missing[0]!r}")
    for key in _META_KEYS:
        if not isinstance(meta[key], int) or isinstance(meta[key], bool) or meta[key] < 1:
            raise _error(path, f"{key} is {meta[key]!r}, not a positive integer")
    return meta


@functools.lru_cache(maxsize=64)
def _param_shapes(size: int, width: int, depth: int):
    """Shape/dtype tree of the network's params (traced, not computed)."""
    return jax.eval_shape(lambda key: init_params(key, size, width, depth), jax.random.PRNGKey(0))


def _restore_params(directory: Path, meta: dict):
    path = Path(directory) / PARAMS_FILE
    data = _read(path)
    try:
        state = serialization.msgpack_restore(data)
    except Exception as err:  # msgpack raises ValueError subclasses, and others on garbage
        raise _error(path, _reason(err)) from None
    template = _param_shapes(meta["board_size"], meta["width"], meta["depth"])
    expected = traverse_util.flatten_dict(serialization.to_state_dict(template))
    if not isinstance(state, dict):
        raise _error(path, "not a msgpack params file")
    found = traverse_util.flatten_dict(state)
    for key, leaf in expected.items():
        if key not in found:
            raise _error(path, f"missing parameter {'/'.join(key)}")
        shape = getattr(found[key], "shape", None)
        if shape != leaf.shape:
            raise _error(
                path,
                f"parameter {'/'.join(key)} has shape {shape}, meta.json's network needs "
                f"{leaf.shape}",
            )
    extra = sorted(set(found) - set(expected))
    if extra:
        raise _error(path, f"unexpected parameter {'/'.join(extra[0])}")
    return serialization.from_state_dict(template, state)


def load_snapshot(directory: Path) -> tuple[Any, dict]:
    """(params, meta) of a snapshot; the params must match the meta's network shape.
    Raises `SnapshotError` (a `ValueError`) with a one-line message if either file is damaged."""
    meta = load_meta(directory)
    return _restore_params(directory, meta), meta


def check_snapshot(directory: Path) -> str | None:
    """None if the snapshot loads, else the one-line reason it does not (for callers that skip
    damaged snapshots with a warning)."""
    try:
        load_snapshot(directory)
    except SnapshotError as err:
        return str(err)
    return None
