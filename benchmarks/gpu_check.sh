#!/usr/bin/env bash
# The one prepared GPU check: every benchmark with --device cuda, then the paper notebooks at the full profile on a
# bounded slice (`partlab repro --profile full --device cuda`, a few VSRD frames, a few hundred training steps);
# prints ONE JSON summary (also written to $OUT/gpu_check.json when OUT is set) and finishes in under 8 minutes on
# one H100. Without a CUDA device it stops at once, says so, and exits with status 3.
#
# Whoever has a GPU at hand runs it as it is. On this project's device machine (torch 2.11 + CUDA 13 on Python 3.12,
# no PyTorch3D, no network), pack here, once: ../shared/tools/gpu-bundle; bash benchmarks/gpu_pack_data.sh; and the
# missing pure-Python packages as cp312 wheels into .whl (benchmarks/README.md, "gpu_check.sh"); then run
#     run(command="pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl && PYTHONPATH=/tmp/site \
#                  bash benchmarks/gpu_check.sh", carry=[".gpu-pack", ".whl"], timeout_s=560)
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
# The data files the synthetic world reads from pyvista and pybullet_data (their wheels are too big to carry; the
# world finds the files without importing either package), packed by benchmarks/gpu_pack_data.sh when present.
if [ -f .gpu-pack/world-data.tar.xz ] && ! "$PY" -c "import importlib.util as u, sys; sys.exit(u.find_spec('pyvista') is None)" 2>/dev/null; then
    mkdir -p /tmp/site-data && tar -xJf .gpu-pack/world-data.tar.xz -C /tmp/site-data
    export PYTHONPATH="$PYTHONPATH:/tmp/site-data"
fi
exec "$PY" benchmarks/gpu_check.py "$@"
