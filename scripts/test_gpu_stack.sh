#!/usr/bin/env bash
# Run the search, training and evaluation tests on the GPU image's software stack: Python 3.12,
# jax/jaxlib 0.11.2, numpy 2.5.2, every other package at its pyproject.toml pin (docs/install.md).
# CI runs it after scripts/test.sh. Extra arguments go to pytest. Then the GPU campaign's dry run (below).
#
# The venv holds third-party packages only, built from pyproject.toml's dependencies and dev extra
# with the lines below swapped in (pip cannot override an == pin of an installed project), and is
# rebuilt only when that list changes. The checkout is put on PYTHONPATH rather than installed, so
# one venv serves every checkout. It lives outside the work tree on purpose: a venv in the repo
# would be walked by tests/test_search.py's scan of **/*.py (only `.venv/` is skipped there).
set -euo pipefail
cd "$(dirname "$0")/.."

OVERRIDES=(jax==0.11.2 jaxlib==0.11.2 numpy==2.5.2 chex==0.1.92)  # chex: mctx's, as in .venv/
TESTS=(tests/test_search.py tests/test_agents.py tests/test_static_loops.py tests/test_train.py
       tests/test_evaluate.py)
VENV=${HEXSCALE_VENV312:-${HEXSCALE_CACHE:-${HOME:-/tmp}/.cache/hexscale}/venv-py312-jax0.11.2}

python312() {  # $PYTHON312, else python3.12 on PATH if it runs, else pyenv's 3.12.x
  local c
  for c in "${PYTHON312:-}" python3.12 "$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")"/versions/3.12*/bin/python3.12 /usr/bin/python3.12; do
    if [ -n "$c" ] && "$c" -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null; then
      echo "$c"
      return
    fi
  done
  echo "test_gpu_stack: no Python 3.12 found (set PYTHON312=/path/to/python3.12)" >&2
  return 1
}

if [ ! -x "$VENV/bin/python" ]; then
  mkdir -p "$(dirname "$VENV")"
  "$(python312)" -m venv "$VENV"
fi
wanted=$("$VENV/bin/python" - "${OVERRIDES[@]}" <<'EOF'
import re, sys, tomllib
project = tomllib.load(open("pyproject.toml", "rb"))["project"]
over = dict(a.split("==") for a in sys.argv[1:])
norm = lambda r: re.match(r"[A-Za-z0-9._-]+", r)[0].lower().replace("_", "-")
reqs = [f"{norm(r)}=={over.pop(norm(r))}" if norm(r) in over else r
        for r in project["dependencies"] + project["optional-dependencies"]["dev"]]
print("\n".join(reqs + [f"{n}=={v}" for n, v in over.items()]))
EOF
)
if [ ! -f "$VENV/requirements.txt" ] || [ "$wanted" != "$(cat "$VENV/requirements.txt")" ]; then
  start=$SECONDS
  rm -f "$VENV/requirements.txt"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  printf '%s\n' "$wanted" > "$VENV/requirements.in"
  "$VENV/bin/python" -m pip install -q -r "$VENV/requirements.in"
  "$VENV/bin/python" -m pip check
  mv "$VENV/requirements.in" "$VENV/requirements.txt"
  echo "test_gpu_stack: installed $VENV in $((SECONDS - start)) s"
fi
"$VENV/bin/python" - "${OVERRIDES[@]}" <<'EOF'
import importlib.metadata as md, sys
got = {a.split("==")[0]: md.version(a.split("==")[0]) for a in sys.argv[1:]}
assert got == dict(a.split("==") for a in sys.argv[1:]), got
print(f"test_gpu_stack: Python {sys.version.split()[0]}, " + ", ".join(f"{n} {v}" for n, v in got.items()))
EOF
PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" "$VENV/bin/python" -m pytest -q \
  -n "${HEXSCALE_TEST_WORKERS:-2}" --dist worksteal "${TESTS[@]}" "$@"

# The GPU command's dry run (issue 28: CI runs it), on this stack, with the carried wheels
# installed as on the GPU (pip --no-index --no-deps --target): every stage must end "ok".
bash scripts/device_wheels.sh
campaign=$(mktemp -d)
PYTHON="$VENV/bin/python" HEXSCALE_CAMPAIGN_WHEELS=1 HEXSCALE_SITE="$campaign/site" \
  OUT="$campaign/out" bash scripts/gpu_campaign.sh --dry-run
rm -rf "$campaign"
