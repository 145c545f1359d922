#!/usr/bin/env bash
# Set up .venv/ (if needed), lint, and run the test suite (slow end-to-end tests: add `-m slow`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/python -m pytest -q "$@"
