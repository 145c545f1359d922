#!/usr/bin/env bash
# Set up .venv/ (if needed), lint, and run the test suite on $HEXSCALE_TEST_WORKERS processes
# (default 2: the CI machine's cores; 0 runs in this process). Slow end-to-end tests: add `-m slow`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/python -m pytest -q -n "${HEXSCALE_TEST_WORKERS:-2}" --dist worksteal "$@"
