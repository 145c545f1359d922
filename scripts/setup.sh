#!/usr/bin/env bash
# Create .venv/ at the repo root (if missing) and install hexscale with its dev extra into it.
# Interpreter: $PYTHON, default python3.11 (Python 3.12 works too: docs/install.md).
# Re-running is cheap: pip skips what is already installed at the pinned versions.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.hexscale-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[dev]"
  touch "$stamp"
fi
