"The synthetic world: every format it writes is read back by the official or standard readers."
import contextlib, csv, hashlib, io, json
from pathlib import Path
import cv2, numpy as np, pytest, torch
from partlab.world.writers import write_world, box_corners_world, BOX_VERTICES, CAR_SEMANTIC_ID

SEQ = "2013_05_28_drive_0000_sync"

@pytest.fixture(scope="module")
def world(tmp_path_factory):
    out = tmp_path_factory.mktemp("world")
    return out, write_world(out, seed=0, profile="quick", progress=False)

@pytest.fixture
def kitti360scripts(monkeypatch):
    "kitti360scripts 1.0.0 still calls np.int and matplotlib.cm.get_cmap (removed in numpy 2 / matplotlib 3.9): shim them."
    import matplotlib
    monkeypatch.setattr(np, "int", int, raising=False)
    monkeypatch.setattr(matplotlib.cm, "get_cmap", matplotlib.colormaps.get_cmap, raising=False)
    from kitti360scripts.helpers import annotation, labels
    return annotation, labels

def test_world_json(world):
    out, w = world
    saved = json.loads((out / "world.json").read_text())
    assert saved["files"] == w["files"] > 100 and saved["seed"] == 0 and saved["profile"] == "quick"
    for key in ("kitti360", "pascal3d", "cus_coco", "genren", "records"): assert (out / saved[key]["root"]).is_dir()
    assert not list(out.rglob("*.tmp"))

def test_kitti360_boxes_read_by_kitti360scripts(world, kitti360scripts):
    annotation, labels = kitti360scripts
    out, w = world
    seq = w["kitti360"]["sequences"][0]
    with contextlib.redirect_stdout(io.StringIO()):
        ann = annotation.Annotation3D(str(out / "kitti360" / "data_3d_bboxes"), SEQ)
    assert ann.num_bbox == seq["cars"] == len(ann.objects)
    assert labels.id2label[CAR_SEMANTIC_ID].name == "car" and labels.name2label["car"].id == CAR_SEMANTIC_ID
    expected = box_corners_world(seq["box_dims_wlh"], seq["box_centres"], seq["box_yaw"]).double().numpy()
    for k in range(seq["cars"]):
        obj = ann(CAR_SEMANTIC_ID, k + 1)
        assert obj.semanticId == CAR_SEMANTIC_ID and obj.instanceId == k + 1 and obj.name == "car"
        assert np.allclose(obj.vertices, expected[k], atol=1e-4)
        assert obj.faces.shape == (12, 3) and 0 <= obj.start_frame <= obj.end_frame < seq["frames"]
        w_, l_, h_ = seq["box_dims_wlh"][k]
        assert np.isclose(np.linalg.norm(obj.vertices[0] - obj.vertices[5]), l_, atol=1e-4)   # edge 0-5 runs along the length

def test_kitti360_instance_pngs(world):
    out, w = world
    seq = w["kitti360"]["sequences"][0]
    files = sorted((out / "kitti360/data_2d_semantics/train" / SEQ / "image_00/instance").glob("*.png"))
    raws = sorted((out / "kitti360/data_2d_raw" / SEQ / "image_00/data_rect").glob("*.png"))
    assert len(files) == len(raws) == seq["frames"] and files[0].name == "0000000000.png"
    seen = set()
    for f, counts in zip(files, seq["visible_pixels"]):
        img = cv2.imread(str(f), cv2.IMREAD_UNCHANGED)
        assert img.dtype == np.uint16 and img.shape == tuple(seq["image_size"])
        ids = set(np.unique(img).tolist()) - {0}
        assert all(i // 1000 == CAR_SEMANTIC_ID and 1 <= i % 1000 <= seq["cars"] for i in ids)
        assert [int((img == CAR_SEMANTIC_ID * 1000 + k + 1).sum()) for k in range(seq["cars"])] == counts
        seen |= ids
    assert len(seen) >= seq["cars"] // 2
    # every box wholly in view has pixels in that frame's instance map
    calib_lines = (out / "kitti360/calibration/perspective.txt").read_text().splitlines()
    K = np.array([l.split()[1:] for l in calib_lines if l.startswith("P_rect_00:")][0], float).reshape(3, 4)[:, :3]
    lines = (out / "kitti360/data_poses" / SEQ / "cam0_to_world.txt").read_text().splitlines()
    corners = box_corners_world(seq["box_dims_wlh"], seq["box_centres"], seq["box_yaw"]).double().numpy()
    H, W = seq["image_size"]
    in_view = 0
    for line in lines:
        f, T = int(line.split()[0]), np.array(line.split()[1:], float).reshape(4, 4)
        w2c = np.linalg.inv(T)
        cam = corners @ w2c[:3, :3].T + w2c[:3, 3]
        uv = cam @ K.T
        uv = uv[..., :2] / uv[..., 2:]
        whole = (cam[..., 2] > 0.5).all(-1) & (uv[..., 0] >= 0).all(-1) & (uv[..., 0] < W).all(-1) & (uv[..., 1] >= 0).all(-1) & (uv[..., 1] < H).all(-1)
        for k in np.nonzero(whole)[0]:
            assert seq["visible_pixels"][f][k] > 0, (f, k)
            in_view += 1
    assert in_view >= seq["frames"]
    calib = (out / "kitti360/calibration/perspective.txt").read_text()
    P = [l for l in calib.splitlines() if l.startswith("P_rect_00:")]
    assert len(P) == 1 and len(P[0].split()) == 13 and "R_rect_00:" in calib and "S_rect_00:" in calib
    poses = (out / "kitti360/data_poses" / SEQ / "cam0_to_world.txt").read_text().splitlines()
    assert len(poses) == seq["frames"] and all(len(l.split()) == 17 for l in poses)

def test_cus_coco_with_pycocotools(world):
    from pycocotools.coco import COCO
    out, _ = world
    with contextlib.redirect_stdout(io.StringIO()): coco = COCO(str(out / "cus_coco/annotations.json"))
    anns = coco.loadAnns(coco.getAnnIds())
    assert len(anns) >= 10 and {a["category_id"] for a in anns} == {1, 2}
    for a in anns:
        m = coco.annToMask(a)
        assert m.sum() == a["area"] > 0
        x, y, w, h = a["bbox"]
        ys, xs = np.nonzero(m)
        assert (xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1) == (x, y, w, h)
        assert len(a["states"]) == 6 and (sum(a["states"]) > 0) == (a["category_id"] == 2)
        part = coco.annToMask({**a, "segmentation": a["segmentation_part"]})
        assert (part <= m).all() and (part.sum() == 0 or a["category_id"] == 2)
        img = coco.loadImgs(a["image_id"])[0]
        assert (out / "cus_coco/images" / img["file_name"]).is_file()
    for img_id in coco.getImgIds():                      # cars of one image: visible masks never overlap
        masks = [coco.annToMask(a) for a in coco.loadAnns(coco.getAnnIds(imgIds=img_id))]
        assert masks and sum(masks).max() == 1

def test_pascal3d_annotations_and_pointclouds(world):
    from pytorch3d.io import load_ply
    out, _ = world
    rows = list(csv.DictReader(open(out / "pascal3d/Pascal3D.txt")))
    assert list(rows[0]) == ["source", "set", "cat", "im_name", "object", "cad_index", "truncated", "occluded", "difficult",
                             "azimuth", "elevation", "inplane_rotation", "left", "upper", "right", "lower", "has_keypoints",
                             "distance", "im_path"]
    assert {r["cat"] for r in rows} == {"car", "airplane", "duck", "bunny"}
    for r in rows:
        assert (out / "pascal3d" / r["im_path"]).is_file() and 0 <= float(r["azimuth"]) < 360
        ply = out / "pascal3d/pointcloud" / r["cat"] / f"{int(r['cad_index']):02d}" / "compressed.ply"
        assert ply.is_file()
    verts, faces = load_ply(out / "pascal3d/pointcloud/car/01/compressed.ply")
    assert verts.shape == (5000, 3) and faces.numel() == 0 and torch.isfinite(verts).all()

def test_genren_folders(world):
    out, w = world
    for cat in ("car", "airplane"):
        pngs = sorted((out / "genren" / cat / "images").glob("*.png"))
        assert len(pngs) == w["genren"][cat]["images"]
        img = cv2.imread(str(pngs[0]), cv2.IMREAD_UNCHANGED)
        assert img.shape == (64, 64, 4) and 0 < (img[..., 3] == 255).mean() < 1
        shapes = sorted((out / "genren" / cat / "shapes").glob("*.PC.pt"))
        assert len(shapes) == w["genren"][cat]["shapes"]
        pc = torch.load(shapes[0]); nr = torch.load(str(shapes[0]).replace(".PC.pt", ".normals.pt"))
        assert pc.dtype == torch.float32 and pc.shape == nr.shape == (w["genren"][cat]["points"], 3)
        assert torch.allclose(nr.norm(dim=-1), torch.ones(len(nr)), atol=1e-4)

def test_records_point_at_files(world):
    out, _ = world
    for cat in ("car", "airplane", "duck", "bunny"):
        root = out / "records" / cat
        recs = json.loads((root / "records.json").read_text())
        assert len(recs) > 10
        for r in recs:
            for key in ("image", "mask", "parts"): assert (root / r[key]).is_file()
            R = np.array(r["camera"]["R"])
            assert np.allclose(R @ R.T, np.eye(3), atol=1e-5) and np.array(r["camera"]["K"]).shape == (3, 3)
        m = cv2.imread(str(root / recs[0]["mask"]), cv2.IMREAD_UNCHANGED)
        p = cv2.imread(str(root / recs[0]["parts"]), cv2.IMREAD_UNCHANGED)
        assert set(np.unique(m).tolist()) == {0, 255} and ((p > 0) == (m > 0)).all() and p.max() < len(recs[0]["part_names"])

def _hashes(root: Path) -> dict:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}

def test_determinism(tmp_path):
    small = dict(progress=False, kitti_frames=3, kitti_cars=3, n_objects=3, coco_images=2, genren_images=2, genren_shapes=1,
                 pose_images=2, pose_models=1, pix3d_images=1, edit_images=1, edit_library=1, edit_size=(48, 64), det_train_images=1, det_test_images=1, det_models=1)
    write_world(tmp_path / "a", seed=5, **small); write_world(tmp_path / "b", seed=5, **small); write_world(tmp_path / "c", seed=6, **small)
    a, b, c = _hashes(tmp_path / "a"), _hashes(tmp_path / "b"), _hashes(tmp_path / "c")
    assert a == b and len(a) > 30
    assert a.keys() == c.keys() and sum(a[k] != c[k] for k in a) > len(a) // 2

def test_bad_profile(tmp_path):
    with pytest.raises(ValueError, match="profile"): write_world(tmp_path, profile="huge", progress=False)

def test_partlab_readers_read_the_world(world):
    "partlab's own readers (chapter 04) accept every format (skipped while that chapter is not there)."
    manifests = pytest.importorskip("partlab.datasets.manifests")
    out, _ = world
    for name, sub in [("kitti360", "kitti360"), ("pascal3d", "pascal3d"), ("cus_coco", "cus_coco"), ("records", "records"),
                      ("shapenet_genren", "genren/car")]:
        assert manifests.check_dataset(name, out / sub) == [], name
