#!/usr/bin/env bash
# The SLURM end-to-end test on a local single-node cluster (README "Running on a cluster"):
# start the cluster (installing it on first use: root, Debian), then run the tests marked `slurm`
# under a hard cap of $HEXSCALE_SLURM_TEST_TIMEOUT_S seconds (default 360).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/slurm_local.sh up
timeout --signal=INT --kill-after=30 "${HEXSCALE_SLURM_TEST_TIMEOUT_S:-360}" \
  .venv/bin/python -m pytest -q -n 0 -m slurm tests/test_slurm.py "$@"
