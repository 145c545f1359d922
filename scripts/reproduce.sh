#!/usr/bin/env bash
# One-command reproduction: set up .venv/, then run the pipeline for a preset of conf/experiment/
# (smoke | cpu | paper | tiny); extra arguments are config overrides, e.g. hydra/launcher=local.
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-smoke}
if [ ! -f "conf/experiment/$preset.yaml" ]; then
  echo "usage: scripts/reproduce.sh {$(ls conf/experiment | sed 's/\.yaml$//' | paste -sd'|')} [overrides]" >&2
  exit 2
fi
shift || true
bash scripts/setup.sh
exec .venv/bin/python -m pipeline.reproduce "+experiment=$preset" "$@"
