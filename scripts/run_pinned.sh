#!/usr/bin/env bash
# A long reproduction pinned to one commit and run from a clean clone, resumable:
#   bash scripts/run_pinned.sh PRESET COMMIT [overrides]
# Clones this repository at COMMIT into $HEXSCALE_CLONES/<commit> (default ~/hexscale-clones),
# sets it up and runs scripts/reproduce.sh PRESET there. The preset's results directory records
# the commit in pinned_commit on the first run; a later run with another commit is refused, so
# every record of the run comes from the same code. Stop it at any point; rerun to resume.
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: scripts/run_pinned.sh PRESET COMMIT [overrides]" >&2
  exit 2
fi
preset=$1 commit=$2
shift 2
repo=$(cd "$(dirname "$0")/.." && pwd)
full=$(git -C "$repo" rev-parse --verify --quiet "$commit^{commit}") || {
  echo "error: $commit is not a commit of $repo" >&2; exit 2; }
clone=${HEXSCALE_CLONES:-$HOME/hexscale-clones}/${full:0:12}
if [ ! -d "$clone/.git" ]; then
  git clone -q --no-local "$repo" "$clone.partial"
  git -C "$clone.partial" checkout -q --detach "$full"
  mv "$clone.partial" "$clone"
fi
if [ "$(git -C "$clone" rev-parse HEAD)" != "$full" ] || [ -n "$(git -C "$clone" status --porcelain)" ]; then
  echo "error: $clone is not a clean checkout of $full" >&2
  exit 2
fi
cd "$clone"
bash scripts/setup.sh
results=$(.venv/bin/python -c 'import sys; from pipeline.infra.config import compose
print(compose(*sys.argv[1:]).results_dir)' "+experiment=$preset" "$@")
mkdir -p "$results"
if [ -f "$results/pinned_commit" ] && [ "$(cat "$results/pinned_commit")" != "$full" ]; then
  echo "error: $results was started at commit $(cat "$results/pinned_commit"), not $full" >&2
  exit 2
fi
echo "$full" > "$results/pinned_commit"
echo "pinned run: $preset at ${full:0:12} from $clone -> $results"
exec .venv/bin/python -m pipeline.reproduce "+experiment=$preset" "$@"
