#!/usr/bin/env bash
# Carry a stopped run's results directory to a machine that keeps only the checkout:
#   bash scripts/carry_results.sh save    RESULTS_DIR ARCHIVE   # e.g. carry/cpu-perfect.tar.gz
#   bash scripts/carry_results.sh restore ARCHIVE RESULTS_DIR
# save packs everything a resume needs (runs with their checkpoints and snapshots, evaluation,
# pinned_commit, reproduction.json), not logs/, tensorboard/ or lock files; stop the run first.
# restore refuses a results directory that already holds runs, so nothing written is lost.
set -euo pipefail
usage() { echo "usage: scripts/carry_results.sh save RESULTS_DIR ARCHIVE | restore ARCHIVE RESULTS_DIR" >&2; exit 2; }
[ $# -eq 3 ] || usage
case $1 in
  save)
    [ -d "$2/runs" ] || { echo "error: $2 holds no runs/" >&2; exit 2; }
    mkdir -p "$(dirname "$3")"
    tar -C "$2" --exclude=logs --exclude=tensorboard --exclude='*.lock' --exclude=.lock \
      --sort=name --owner=0 --group=0 --numeric-owner -czf "$3.partial" .
    mv "$3.partial" "$3"
    echo "saved $2 -> $3 ($(du -h "$3" | cut -f1))";;
  restore)
    [ -f "$2" ] || { echo "error: no archive $2" >&2; exit 2; }
    if [ -d "$3/runs" ] && [ -n "$(ls -A "$3/runs")" ]; then
      echo "error: $3 already holds runs; restore into an empty results directory" >&2; exit 2
    fi
    mkdir -p "$3"
    tar -C "$3" -xzf "$2"
    echo "restored $2 -> $3";;
  *) usage;;
esac
