#!/usr/bin/env bash
# The one prepared GPU check: every benchmark with --device cuda, then the paper notebooks at the full profile on a
# bounded slice (`partlab repro --profile full --device cuda`, a few VSRD frames, a few hundred training steps);
# prints ONE JSON summary (also written to $OUT/gpu_check.json when OUT is set) and finishes in under 8 minutes on
# one H100. Without a CUDA device it stops at once, says so, and exits with status 3.
#
# Whoever has a GPU at hand runs it as it is. On this project's device machine (torch 2.11 + CUDA 13 on Python 3.12,
# no PyTorch3D), first pack PyTorch3D here, once:   ../shared/tools/gpu-bundle
# then run, from the project root, carrying the pack:
#     run(command="bash benchmarks/gpu_check.sh", carry=[".gpu-pack"], timeout_s=560)
# The header below unpacks .gpu-pack into /tmp/site and puts it and the project on PYTHONPATH. Python packages that
# partlab needs and the machine lacks are named in the summary ("missing"); the steps that need them are skipped
# and say why. Record the summary and the card's name in benchmarks/README.md.
#
#     bash benchmarks/gpu_check.sh [--smoke]      # --smoke: tiny sizes, CPU allowed (checks this script itself)
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ -x .venv/bin/python ] && [ -z "${PYTHON:-}" ]; then PY=.venv/bin/python; fi
if [ -f .gpu-pack/pytorch3d-cp312.tar.xz ] && ! "$PY" -c "import pytorch3d" 2>/dev/null; then
    mkdir -p /tmp/site && tar -xJf .gpu-pack/pytorch3d-cp312.tar.xz -C /tmp/site
    export PYTHONPATH="/tmp/site:$PWD${PYTHONPATH:+:$PYTHONPATH}"
else
    export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
fi
exec "$PY" benchmarks/gpu_check.py "$@"
