#!/usr/bin/env bash
# Packs the data files the synthetic world reads from installed wheels (pyvista's airplane.ply, pybullet_data's duck
# and bunny) into .gpu-pack/world-data.tar.xz for a GPU machine that lacks those packages (their wheels, with vtk and
# pybullet's 140 MB library, are too big to carry; partlab finds the files without importing the packages).
# Run from the project root after `make setup`:   bash benchmarks/gpu_pack_data.sh
set -euo pipefail
cd "$(dirname "$0")/.."
site=$(.venv/bin/python -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/pyvista/examples" "$tmp/pybullet_data" .gpu-pack
touch "$tmp/pyvista/__init__.py" "$tmp/pybullet_data/__init__.py"
cp "$site/pyvista/examples/airplane.ply" "$tmp/pyvista/examples/"
cp "$site/pybullet_data/duck.obj" "$site/pybullet_data/bunny.obj" "$tmp/pybullet_data/"
tar -C "$tmp" -cJf .gpu-pack/world-data.tar.xz pyvista pybullet_data
ls -la .gpu-pack/world-data.tar.xz
