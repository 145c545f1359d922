#!/usr/bin/env bash
# Build .whl/ (git-ignored): the pure-Python wheels the GPU image lacks, for scripts/gpu_campaign.sh
# (docs/gpu_campaign.md). The image has Python 3.12, jax 0.11.2 + jax-cuda13-plugin, numpy, pandas,
# pyarrow, scipy, matplotlib, msgpack, tqdm, pyyaml, cloudpickle, protobuf, typing-extensions,
# absl-py, toolz and flax/optax/chex at versions nobody pinned, and no registry. So .whl/ holds
#   - what it lacks: mctx, hydra-core, omegaconf, submitit, hydra-submitit-launcher, tensorboardX
#     at their pyproject.toml pins, and antlr4-python3-runtime 4.9.3 (hydra's pin; no wheel on
#     PyPI, so built here from its sdist with `pip wheel --no-deps`);
#   - the project's own flax and optax (pyproject.toml) and chex (mctx's, as in .venv/ and
#     scripts/test_gpu_stack.sh), so the GPU runs the versions CI tested;
#   - chex's floors absl-py>=2.3.1 and typing_extensions>=4.15.0 at .venv/'s versions, so the
#     image's unread versions of the two cannot break the import (both only add API).
# Every wheel must be py3-none-any (pure Python): the script fails otherwise. On the GPU:
#   pip install --no-index --no-deps --target /tmp/hexscale-site .whl/*.whl
#   PYTHONPATH=/tmp/hexscale-site:$PWD python3 -m pipeline.train ...
# (scripts/gpu_campaign.sh does this). Prints the total size: the device carries at most 64 MiB.
set -euo pipefail
cd "$(dirname "$0")/.."

PIP=${PIP:-.venv/bin/python -m pip}
DEST=.whl
CHEX=0.1.92  # not a direct dependency: mctx's, at the version .venv/ and CI resolve
FLOORS=(absl-py==2.5.1 typing_extensions==4.16.0)  # chex's floors, at .venv/'s versions

pin() {  # pin NAME: NAME==VERSION from pyproject.toml's dependencies
  .venv/bin/python - "$1" <<'EOF'
import re, sys, tomllib
deps = tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]
norm = lambda s: s.lower().replace("_", "-")
for d in deps:
    name = re.match(r"[A-Za-z0-9._-]+", d)[0]
    if norm(name) == norm(sys.argv[1]):
        print(d.replace(" ", ""))
        break
else:
    sys.exit(f"device_wheels: {sys.argv[1]} is not pinned in pyproject.toml")
EOF
}

WANT=(
  "$(pin mctx)" "$(pin hydra-core)" "$(pin omegaconf)" "$(pin submitit)"
  "$(pin hydra-submitit-launcher)" "$(pin tensorboardX)"
  "$(pin flax)" "$(pin optax)" "chex==$CHEX" "${FLOORS[@]}"
)
ANTLR=antlr4-python3-runtime==4.9.3  # hydra-core 1.3 and omegaconf 2.3 pin it; sdist only

rm -rf "$DEST"
mkdir -p "$DEST"
$PIP download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation py \
  --abi none --platform any -d "$DEST" "${WANT[@]}"
$PIP wheel -q --no-deps -w "$DEST" "$ANTLR"

shopt -s nullglob
status=0
for w in "$DEST"/*.whl; do
  case "$(basename "$w")" in
    *-py3-none-any.whl | *-py2.py3-none-any.whl) ;;
    *) echo "device_wheels: $(basename "$w") is not pure Python (py3-none-any)" >&2; status=1 ;;
  esac
done
wheels=("$DEST"/*.whl)
expected=$((${#WANT[@]} + 1))
if [ "${#wheels[@]}" -ne "$expected" ]; then
  echo "device_wheels: expected $expected wheels, found ${#wheels[@]}" >&2
  status=1
fi
ls -l "$DEST"
bytes=$(du -cb "$DEST"/*.whl | tail -1 | cut -f1)
echo "device_wheels: ${#wheels[@]} wheels, $bytes bytes ($((bytes / 1024)) KiB) in $DEST/" \
     "(device carry limit: 64 MiB with the working tree)"
exit $status
