"""Bad input to the dataset readers: each case is one DataError naming the file (partlab.datasets)."""
import json, tempfile
from pathlib import Path

import numpy as np
import pytest
import torch

from partlab.io import DataError
from partlab.datasets.core import write_png, read_png, read_image
from partlab.datasets import kitti360 as k360
from partlab.datasets.posefromshape import (PoseAnnotation, write_pose_annotations, read_pose_annotations,
                                            write_point_cloud, read_point_cloud)
from partlab.datasets.coco_cus import load_cus, write_cus
from partlab.datasets.genren import GenRenShapes, write_shape
from partlab.datasets.records import read_records, load_record, write_records
from partlab.datasets.manifests import check_dataset, DATASET_NAMES, load_manifest


@pytest.fixture
def tmp():
    return Path(tempfile.mkdtemp())


@pytest.fixture
def kitti(tmp):
    root = tmp/"KITTI-360"
    truth = k360.write_example_kitti360(root)
    return root, truth["sequence"]


def test_corrupt_png(tmp):
    write_png(tmp/"a.png", np.full((20, 30, 3), 7, np.uint8))
    data = (tmp/"a.png").read_bytes()
    (tmp/"a.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"a\.png: corrupt"):
        read_png(tmp/"a.png")
    with pytest.raises(DataError, match=r"a\.png: corrupt"):
        read_image(tmp/"a.png")


def test_8bit_instance_map(kitti):
    root, seq = kitti
    path = k360.instance_path(root, seq, 0)
    write_png(path, np.zeros((64, 160), np.uint8))
    with pytest.raises(DataError, match="must be a 16-bit PNG") as err:
        k360.frame_record(root, seq, 0)
    assert err.value.path == path


def test_pose_file_missing_frame(kitti):
    root, seq = kitti
    with pytest.raises(DataError, match="no pose for frame 3") as err:
        k360.frame_record(root, seq, 3)
    assert err.value.path == k360.poses_path(root, seq)
    assert k360.Kitti360(root).labelled_frames(seq) == [0, 1, 2]


def test_malformed_pose_line(kitti):
    root, seq = kitti
    path = k360.poses_path(root, seq)
    path.write_text(path.read_text() + "7 1 0 0\n")
    with pytest.raises(DataError, match=r"cam0_to_world\.txt: line 4: expected 17 numbers"):
        k360.read_poses(path)


def test_malformed_xml(kitti):
    root, seq = kitti
    path = k360.boxes_path(root, seq)
    path.write_text(path.read_text()[:-30])
    with pytest.raises(DataError, match="malformed XML") as err:
        k360.read_boxes_3d(path)
    assert err.value.path == path


def test_kitti360_frame_ok(kitti):
    root, seq = kitti
    rec = k360.frame_record(root, seq, 0)
    assert rec.image.shape == (64, 160, 3) and sorted(rec.masks) == [1, 2]
    assert [b.semantic_id for b in k360.read_boxes_3d(k360.boxes_path(root, seq))] == [26, 26]


def test_malformed_coco_json(tmp):
    write_png(tmp/"images/1.png", np.zeros((10, 10, 3), np.uint8))
    ann = {"id": 5, "image_id": 1, "category_id": 2, "bbox": [1, 1, 5, 5], "area": 25, "iscrowd": 0,
           "segmentation": [[1, 1, 6, 1, 6, 6, 1, 6]], "segmentation_part": [], "states": [1, 0, 0, 0, 0, 0]}
    write_cus(tmp/"cus.json", [{"id": 1, "file_name": "1.png", "height": 10, "width": 10}], [ann])
    assert load_cus(tmp/"cus.json")[0]["states"].tolist() == [[1, 0, 0, 0, 0, 0]]
    text = (tmp/"cus.json").read_text()
    (tmp/"cut.json").write_text(text[: len(text) // 2])
    with pytest.raises(DataError, match=r"cut\.json: malformed JSON"):
        load_cus(tmp/"cut.json")
    data = json.loads(text)
    del data["annotations"][0]["segmentation_part"]
    (tmp/"nokey.json").write_text(json.dumps(data))
    with pytest.raises(DataError, match=r"nokey\.json: annotation id 5: missing key\(s\) segmentation_part"):
        load_cus(tmp/"nokey.json")


def test_empty_point_cloud(tmp):
    write_point_cloud(tmp/"compressed.ply", np.zeros((0, 3)))
    with pytest.raises(DataError, match=r"compressed\.ply: point cloud is empty"):
        read_point_cloud(tmp/"compressed.ply")


def test_empty_mesh(tmp):
    meshes = pytest.importorskip("partlab.meshes")  # mesh files are read by partlab.meshes.load_mesh (01_meshes)
    (tmp/"empty.obj").write_text("# no vertices\n")
    with pytest.raises(DataError, match=r"empty\.obj"):
        meshes.load_mesh(tmp/"empty.obj")


def test_empty_and_unpaired_shapes(tmp):
    write_shape(tmp, "a", torch.zeros(0, 3), torch.zeros(0, 3))
    with pytest.raises(DataError, match=r"a\.PC\.pt: point set is empty"):
        GenRenShapes(tmp)[0]
    (tmp/"a.normals.pt").unlink()
    with pytest.raises(DataError, match=r"a\.PC\.pt: has no matching a\.normals\.pt"):
        GenRenShapes(tmp)


def test_pose_annotation_errors(tmp):
    write_png(tmp/"im.png", np.zeros((4, 4, 3), np.uint8))
    row = PoseAnnotation("pascal", "val", "car", "im", 1, 2, 0, 0, 0, 10, 5, 0, 0, 0, 4, 4, 1, 3, "im.png")
    write_pose_annotations(tmp/"Pascal3D.txt", [row])
    assert read_pose_annotations(tmp/"Pascal3D.txt")[0].cad_index == 2
    text = (tmp/"Pascal3D.txt").read_text()
    (tmp/"bad.txt").write_text(text.replace(",10.0,", ",ten,").replace(",10,", ",ten,"))
    with pytest.raises(DataError, match=r"bad\.txt: line 2: column azimuth is not a number"):
        read_pose_annotations(tmp/"bad.txt")
    (tmp/"noimg.txt").write_text(text.replace("im.png", "other.png"))
    with pytest.raises(DataError, match=r"noimg\.txt: line 2: image other\.png is missing"):
        read_pose_annotations(tmp/"noimg.txt")


def test_record_with_empty_mask(tmp):
    cat = tmp/"records/car"
    write_png(cat/"images/0.png", np.zeros((6, 6, 3), np.uint8))
    write_png(cat/"masks/0.png", np.zeros((6, 6), np.uint8))
    write_records(tmp, "car", [{"id": "0", "image": "images/0.png", "mask": "masks/0.png", "bbox": [0, 0, 1, 1], "category": "car"}])
    with pytest.raises(DataError, match="mask has no object pixels") as err:
        load_record(read_records(tmp, "car")[0])
    assert err.value.path == cat/"masks/0.png"


def test_check_dataset_reports_missing_folder(kitti):
    root, seq = kitti
    (root/"world.json").write_text('{"synthetic": true}')
    assert check_dataset("kitti360", root) == []
    import shutil
    shutil.rmtree(root/"data_3d_bboxes")
    problems = check_dataset("kitti360", root)
    assert any("data_3d_bboxes/train/*.xml" in p and "missing" in p for p in problems), problems
    assert any(str(k360.boxes_path(root, seq)) in p and "missing" in p for p in problems), problems
    assert check_dataset("kitti360", root/"nope") == [f"{root/'nope'}: root folder is missing"]


def test_check_dataset_real_counts_and_unknown_name(kitti):
    root, _ = kitti
    problems = check_dataset("kitti360", root)  # no world.json: the real dataset's counts apply
    assert any("need >= 9, found 1" in p for p in problems)
    with pytest.raises(KeyError):
        check_dataset("kitti", root)
    assert all(load_manifest(n)["name"] == n for n in DATASET_NAMES)


def _write_world():
    import importlib
    for module in ("partlab.world", "partlab.world.writers"):
        try:
            mod = importlib.import_module(module)
        except ImportError:
            continue
        if hasattr(mod, "write_world"):
            return mod.write_world
    pytest.skip("partlab.world.write_world is not there yet")


def test_world_output_reads_and_checks(tmp):
    write_world = _write_world()
    out = tmp/"world"
    write_world(out, seed=0, profile="quick", progress=False)
    folders = {"kitti360": "kitti360", "pascal3d": "pascal3d", "cus_coco": "cus_coco", "shapenet_genren": "genren", "records": "records",
               "objectnet3d": "objectnet3d", "pix3d": "pix3d", "apollocar3d": "apollocar3d"}
    for name, sub in folders.items():
        assert (out/sub).is_dir(), sub
        assert check_dataset(name, out/sub) == [], name
    ds = k360.Kitti360(out/"kitti360")
    seq = ds.sequences()[0]
    frames = ds.labelled_frames(seq)
    rec = ds.frame_record(seq, frames[len(frames) // 2])
    boxes = k360.boxes_at_frame(ds.boxes(seq), rec.frame)
    assert rec.masks and set(rec.masks) <= set(boxes)
    for inst, mask in rec.masks.items():  # every car mask lies inside its projected 3D box
        uv = k360.project_points(rec.K, rec.world_to_cam, boxes[inst].corners)
        rows, cols = np.nonzero(mask)
        assert cols.min() >= uv[:, 0].min() - 1 and cols.max() <= uv[:, 0].max() + 1
        assert rows.min() >= uv[:, 1].min() - 1 and rows.max() <= uv[:, 1].max() + 1
    records = read_records(out, "car")
    loaded = load_record(records[0])
    ys, xs = np.nonzero(loaded["mask"])
    assert [xs.min(), ys.min(), xs.max(), ys.max()] == records[0]["bbox"]  # the world's boxes are inclusive pixels
    cus = load_cus(out/"cus_coco"/"annotations.json")
    states = np.concatenate([cus.targets(i)["states"] for i in cus.image_ids])
    assert states.sum() > 0 and states.shape[1] == 6
    assert read_pose_annotations(out/"pascal3d"/"Pascal3D.txt")
