"""Bad input to mesh files and label lines: one clear error naming the file or the problem (partlab.meshes, partlab.geometry)."""
import tempfile
from pathlib import Path

import pytest
import torch

from partlab.io import DataError
from partlab.meshes import load_mesh, save_mesh, uv_sphere, mirror_index, is_watertight
from partlab.geometry import parse_kitti_label_line, kitti_label_line


@pytest.fixture
def tmp():
    return Path(tempfile.mkdtemp())


@pytest.mark.parametrize("name,content,problem", [
    ("empty.obj", b"", "empty mesh"),
    ("empty.ply", b"", "cannot read mesh"),
    ("points.obj", b"v 0 0 0\nv 1 0 0\nv 0 1 0\n", "empty mesh"),
    ("short_vertex.obj", b"v 0 0\nf 1 2 3\n", "cannot read mesh"),
    ("binary_junk.ply", bytes(range(256)), "cannot read mesh"),
    ("mesh.stl", b"solid x\n", "unsupported mesh format"),
])
def test_bad_mesh_files(tmp, name, content, problem):
    (tmp/name).write_bytes(content)
    with pytest.raises(DataError) as err:
        load_mesh(tmp/name)
    assert name in str(err.value) and problem in str(err.value)


def test_missing_mesh(tmp):
    with pytest.raises(DataError, match="not found"):
        load_mesh(tmp/"nothing.ply")


def test_mesh_roundtrip_and_no_temp_files(tmp):
    v, f, _ = uv_sphere()
    for name in ("s.obj", "s.ply"):
        v2, f2 = load_mesh(save_mesh(tmp/name, v, f))
        assert torch.allclose(v2, v, atol=1e-5) and torch.equal(f2, f) and is_watertight(f2)
    assert sorted(p.name for p in tmp.iterdir()) == ["s.obj", "s.ply"]


def test_asymmetric_mesh_refused():
    v, _, _ = uv_sphere()
    with pytest.raises(ValueError, match="not mirror-symmetric"):
        mirror_index(v + torch.tensor([0.1, 0.0, 0.0]))


@pytest.mark.parametrize("line", ["", "Car 0 0", "Car " + "x " * 14, "Car " + "1 " * 16])
def test_bad_kitti_lines(line):
    with pytest.raises(ValueError):
        parse_kitti_label_line(line)


def test_kitti_class_must_be_one_word():
    with pytest.raises(ValueError):
        kitti_label_line("Big Car", (0, 0, 1, 1), (1, 1, 1), (0, 0, 5), 0.0)
