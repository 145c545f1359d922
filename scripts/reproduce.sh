#!/usr/bin/env bash
# One-command reproduction: set up .venv/, then run the pipeline for a preset (smoke | paper).
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-smoke}
case "$preset" in smoke|paper) ;; *) echo "usage: scripts/reproduce.sh smoke|paper" >&2; exit 2;; esac
bash scripts/setup.sh
.venv/bin/python -m pipeline.reproduce "$preset"
