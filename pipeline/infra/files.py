"""Atomic file writes (temporary file in the same directory + rename), free of JAX imports so
every stage can use them: a reader sees the old file or the new one, never half of one.

Temporaries are created with mode 0o666 (files) / 0o777 (directories) filtered by the process
umask, as `open` and `mkdir` do, so the renamed result has the permissions any other output
would have (`tempfile.mkstemp` / `mkdtemp` would leave them 0600 / 0700)."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any


class CorruptFileError(ValueError):
    """A file exists but cannot be read back; the message is one line naming the file and what
    the user can do."""


def _unique_name(directory: Path, prefix: str, suffix: str) -> Path:
    return directory / f"{prefix}{secrets.token_hex(6)}{suffix}"


def create_temp_file(directory: str | Path, prefix: str, suffix: str = ".tmp") -> tuple[int, Path]:
    """Like `tempfile.mkstemp`, but the file mode is 0o666 less the umask (the kernel applies
    it atomically at creation: no umask read, no race with other threads)."""
    directory = Path(directory)
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        path = _unique_name(directory, prefix, suffix)
        try:
            return os.open(path, flags, 0o666), path
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name in {directory}")


def create_temp_dir(directory: str | Path, prefix: str, suffix: str = "") -> Path:
    """Like `tempfile.mkdtemp`, but the directory mode is 0o777 less the umask."""
    directory = Path(directory)
    for _ in range(100):
        path = _unique_name(directory, prefix, suffix)
        try:
            os.mkdir(path, 0o777)
            return path
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name in {directory}")


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write `data` to `path` via a temporary file in the same directory and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = create_temp_file(path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_json(path: str | Path, obj: Any) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode())
