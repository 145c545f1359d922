#!/usr/bin/env bash
# The GPU campaign (issue 28; docs/gpu_campaign.md): install the carried wheels, then run
# scripts/gpu_campaign.py from the source tree. Arguments go to it:
#   bash scripts/gpu_campaign.sh                 # on the GPU machine: every stage, ~8 min
#   bash scripts/gpu_campaign.sh --only S1 S5    # chosen stages
#   bash scripts/gpu_campaign.sh --dry-run       # every stage at tiny shapes on CPU, < 3 min
# Files go to $OUT (default outputs/gpu_campaign). Before a GPU run, here:
#   bash scripts/device_wheels.sh                # builds .whl/, carried with carry: [".whl"]
# With .whl/ present (and not --dry-run, unless HEXSCALE_CAMPAIGN_WHEELS=1), the wheels are
# installed with `pip install --no-index --no-deps --target $HEXSCALE_SITE` (no registry there)
# and put first on PYTHONPATH, the repo after them.
set -uo pipefail
cd "$(dirname "$0")/.."

dry=0
for a in "$@"; do [ "$a" = "--dry-run" ] && dry=1; done
if [ -n "${PYTHON:-}" ]; then
  py=$PYTHON
elif [ "$dry" = 1 ] && [ -x .venv/bin/python ]; then
  py=.venv/bin/python
else
  py=python3
fi

export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
shopt -s nullglob
wheels=(.whl/*.whl)
if [ "${#wheels[@]}" -gt 0 ] && { [ "$dry" = 0 ] || [ "${HEXSCALE_CAMPAIGN_WHEELS:-0}" = 1 ]; }; then
  site=${HEXSCALE_SITE:-/tmp/hexscale-site}
  start=$SECONDS
  "$py" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target "$site" "${wheels[@]}" || { echo "gpu_campaign: wheel install failed" >&2; exit 3; }
  export PYTHONPATH="$site:$PYTHONPATH"
  echo "gpu_campaign: installed ${#wheels[@]} wheels into $site in $((SECONDS - start)) s"
elif [ "$dry" = 0 ]; then
  echo "gpu_campaign: no .whl/ (bash scripts/device_wheels.sh): using the installed packages" >&2
fi
export PYTHONUNBUFFERED=1
exec "$py" scripts/gpu_campaign.py "$@"
