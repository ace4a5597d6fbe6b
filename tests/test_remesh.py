"Bad input for the remeshing chapter: open meshes, unknown specs, broken remeshed-template files."
import json, tempfile
from pathlib import Path
import pytest
import torch
import partlab.world.writers  # registers the built-in templates (car, airplane, duck, bunny)
from partlab.io import DataError
from partlab.meshes import save_mesh, uv_sphere
from partlab.textured.remesh import (boundary_edges, close_holes, weld_vertices, resolve_template, check_closed,
                            save_remeshed, load_remeshed)

def _cube(drop_last_face: bool = True):
    v = torch.tensor([[x, y, z] for x in (-0.5, 0.5) for y in (-0.5, 0.5) for z in (-0.5, 0.5)])
    f = torch.tensor([[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
                      [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]])
    return v, (f[:10] if drop_last_face else f)

def test_open_cube_fails_then_closes():
    v, f = _cube()
    assert len(boundary_edges(f)) == 4
    with pytest.raises(DataError, match="4 boundary edges"): check_closed("cube.obj", f)
    v2, f2 = close_holes(v, f)
    assert len(boundary_edges(f2)) == 0 and len(f2) == 14
    check_closed("cube.obj", f2)

def test_closed_cube_unchanged_and_weld():
    v, f = _cube(drop_last_face=False)
    assert len(boundary_edges(f)) == 0
    assert close_holes(v, f)[1].shape == f.shape
    split_v, split_f = v[f.reshape(-1)], torch.arange(36).reshape(12, 3)       # one vertex per face corner
    assert len(boundary_edges(split_f)) == 36
    wv, wf = weld_vertices(split_v, split_f)
    assert len(wv) == 8 and len(boundary_edges(wf)) == 0

def test_resolve_template_files():
    tmp = Path(tempfile.mkdtemp())
    v, f = _cube()
    save_mesh(tmp / "open.obj", v, f)
    with pytest.raises(DataError, match="open.obj.*not a closed mesh.*close_holes"): resolve_template(str(tmp / "open.obj"))
    name, rv, rf = resolve_template(str(tmp / "open.obj"), close_holes=True)
    assert name == "open" and len(rf) == 14 and abs(float((rv.max(0).values - rv.min(0).values).max()) - 1) < 1e-6
    with pytest.raises(DataError, match="missing.ply"): resolve_template(str(tmp / "missing.ply"))
    (tmp / "bad.obj").write_text("this is not a mesh\n")
    with pytest.raises(DataError, match="bad.obj"): resolve_template(str(tmp / "bad.obj"))
    with pytest.raises(DataError, match="teapot"): resolve_template("teapot")
    with pytest.raises(DataError, match="car:x"): resolve_template("car:x")

def test_airplane_is_closed_by_resolve():
    name, v, f = resolve_template("airplane")
    assert name == "airplane" and len(boundary_edges(f)) == 0

def test_load_remeshed_bad_input():
    tmp = Path(tempfile.mkdtemp())
    sv = uv_sphere()[0]
    good = save_remeshed(tmp / "good.pt", torch.stack([sv, sv * 0.5]), ["a", "b"], {"a": {"iou": 1.0}})
    data = load_remeshed(good)
    assert data["verts"].shape == (2, 962, 3) and data["faces"].shape == (1920, 3) and data["names"] == ["a", "b"]
    raw = torch.load(good)
    (tmp / "junk.pt").write_bytes(b"\x00garbage")
    torch.save([1, 2, 3], tmp / "list.pt")
    torch.save({k: v for k, v in raw.items() if k != "names"}, tmp / "nonames.pt")
    torch.save({**raw, "verts": torch.zeros(2, 100, 3)}, tmp / "shape.pt")
    torch.save({**raw, "faces": torch.zeros(10, 3, dtype=torch.long)}, tmp / "faces.pt")
    torch.save({**raw, "names": ["only_one"]}, tmp / "names.pt")
    torch.save({**raw, "format": "other/9"}, tmp / "format.pt")
    torch.save({**raw, "verts": torch.full((2, 962, 3), float("nan"))}, tmp / "nan.pt")
    for bad in ("junk.pt", "list.pt", "nonames.pt", "shape.pt", "faces.pt", "names.pt", "format.pt", "nan.pt", "absent.pt"):
        with pytest.raises(DataError, match=bad): load_remeshed(tmp / bad)
    with pytest.raises(ValueError): save_remeshed(tmp / "x.pt", torch.zeros(2, 5, 3), ["a", "b"], {})


def test_cli_refuses_open_mesh_and_unknown_template(tmp_path):
    from conftest import run_partlab
    v, f = _cube()
    save_mesh(tmp_path / "open.obj", v, f)
    res = run_partlab("remesh", "--templates", tmp_path / "open.obj", "--out", tmp_path / "t.pt", "--no-progress")
    assert res.returncode == 2 and "open.obj" in res.stderr and "not a closed mesh" in res.stderr and "--close-holes" in res.stderr
    res = run_partlab("remesh", "--templates", "teapot", "--out", tmp_path / "t.pt", "--no-progress")
    assert res.returncode == 2 and "teapot" in res.stderr
    assert not (tmp_path / "t.pt").exists()


def test_textured_spelling_and_unknown_setting(tmp_path):
    "`partlab textured remesh` is the same command; a settings file with an unknown name is refused before any work."
    from conftest import run_partlab
    res = run_partlab("textured", "remesh", "--templates", "teapot", "--out", tmp_path / "t.pt", "--no-progress")
    assert res.returncode == 2 and "teapot" in res.stderr
    (tmp_path / "bad.json").write_text('{"steps": 10}')
    res = run_partlab("remesh", "--templates", "car", "--out", tmp_path / "t.pt", "--config", tmp_path / "bad.json")
    assert res.returncode == 2 and "'steps'" in res.stderr and "bad.json" in res.stderr
    assert not (tmp_path / "t.pt").exists()


def test_cli_writes_every_steps_losses_to_tensorboard(tmp_path):
    "A short remesh with --tensorboard: one scalar per step of each stage, read back with tensorboard's reader."
    from conftest import run_partlab
    from partlab.io import read_scalars
    cfg = {"n_views": 4, "view_batch": 2, "resolution": 32, "chamfer_steps": 3, "silhouette_steps": 2, "n_points": 200,
           "eval_views": 2, "eval_resolution": 32}
    (tmp_path / "short.json").write_text(json.dumps(cfg))
    res = run_partlab("remesh", "--templates", "car", "--out", tmp_path / "t.pt", "--config", tmp_path / "short.json",
                      "--no-progress", "--tensorboard", tmp_path / "tb")
    assert res.returncode == 0, res.stderr
    logged = read_scalars(tmp_path / "tb")
    assert {"chamfer/total", "chamfer/chamfer", "silhouette/total", "silhouette/silhouette"} <= set(logged)
    assert [s for s, _ in logged["chamfer/total"]] == [0, 1, 2] and [s for s, _ in logged["silhouette/total"]] == [0, 1]
