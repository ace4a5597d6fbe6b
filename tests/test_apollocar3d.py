"""ApolloCar3D (partlab.datasets.apollocar3d): the world's layout passes `partlab data check`, converts into the editing
chapter's COCO records and is edited from the command line; bad files are one clear error each; and, where a checkout of
the toolkit (ApolloScapeAuto/dataset-api) is given, its own projection of the world's labels lands where partlab's does."""
import json, os, pickle, sys
from pathlib import Path
import numpy as np
import pytest
from conftest import copy_tree, run_partlab
from partlab.io import DataError
from partlab.datasets.apollocar3d import ApolloCar3D, apollo_facts, to_cus_coco

@pytest.fixture(scope="module")
def apollo(tmp_path_factory):
    "`partlab world --only apollocar3d` (quick: 6 images, 3 models)."
    world = tmp_path_factory.mktemp("apollo")
    res = run_partlab("world", "--out", world, "--only", "apollocar3d", "--no-progress")
    assert res.returncode == 0, res.stderr[-2000:]
    return world / "apollocar3d"

def iou(a, b): return (a & b).sum() / max(1, (a | b).sum())

def test_data_check_convert_and_edit_from_the_command_line(apollo, tmp_path):
    import cv2
    from pycocotools.coco import COCO
    from partlab.datasets.coco_cus import segmentation_mask
    res = run_partlab("data", "check", "apollocar3d", "--root", apollo)
    assert res.returncode == 0, res.stdout + res.stderr
    out = tmp_path / "apollo_cus.json"
    res = run_partlab("editing", "from-apollo", "--root", apollo, "--part-models", apollo / "part_models", "--out", out, "--no-progress")
    assert res.returncode == 0, res.stderr[-2000:]
    summary = json.loads(res.stdout)
    coco = COCO(str(out))
    anns = coco.loadAnns(coco.getAnnIds())
    assert summary["images"] == 6 and summary["cars"] == len(anns) == summary["with_part_model"] >= 5
    for img in coco.loadImgs(coco.getImgIds()):
        truth = cv2.imread(str(apollo / "truth/instances" / (Path(img["file_name"]).stem + ".png")), cv2.IMREAD_UNCHANGED)
        poses = json.loads((apollo / "sample_data/car_poses" / (Path(img["file_name"]).stem + ".json")).read_text())
        for a in coco.loadAnns(coco.getAnnIds(imgIds=img["id"])):
            k = [p["pose"] for p in poses].index(a["apollo"]["pose"])          # which car of the pose file
            assert iou(segmentation_mask(a["segmentation"], img["height"], img["width"]), truth == k + 1) > 0.98
    res = run_partlab("editing", "edit", "--coco", out, "--images", apollo / "sample_data/images", "--out", tmp_path / "edited",
                      "--no-progress")
    assert res.returncode == 0, res.stderr[-2000:]
    edited = json.loads((tmp_path / "edited/edits.json").read_text())
    assert edited["made"] >= 3, edited
    data = json.loads((tmp_path / "edited/cus_editing_data.json").read_text())
    firsts = [a for a in data["annotations"] if "edit" in a]
    assert len(firsts) == edited["made"] and all(a["category_id"] == 2 and sum(a["states"]) == 1 for a in firsts)

@pytest.mark.parametrize("what, expect", [   # the first from the command line
    ("pose5", "pose wants six finite numbers"), ("car_id", "car_id 99 is not one of the 79 models"),
    ("faces0", "face indices must be 1-based"), ("code", "is not allowed in a car model file"),
    ("camera", "names no camera"), ("image", "image is missing on disk")])
def test_bad_input_is_one_clear_error_and_writes_nothing(apollo, tmp_path, what, expect):
    root = copy_tree(apollo, tmp_path / "a")
    name = sorted((root / "sample_data/car_poses").glob("*.json"))[1].stem
    poses = root / "sample_data/car_poses" / f"{name}.json"
    model = root / "car_models" / f"{apollo_facts()['car_models'][json.loads(poses.read_text())[0]['car_id']]}.pkl"
    named = poses
    if what in ("pose5", "car_id"):
        cars = json.loads(poses.read_text())
        if what == "pose5": cars[0]["pose"] = cars[0]["pose"][:5]
        else: cars[0]["car_id"] = 99
        poses.write_text(json.dumps(cars))
    elif what == "faces0":
        data = pickle.loads(model.read_bytes()); data["faces"] = data["faces"] - 1
        model.write_bytes(pickle.dumps(data)); named = model
    elif what == "code":
        model.write_bytes(pickle.dumps({"vertices": np.zeros((3, 3)), "faces": Path("x")})); named = model
    elif what == "camera":
        for sub, ext in (("car_poses", ".json"), ("images", ".jpg")):
            (root / "sample_data" / sub / f"{name}{ext}").rename(root / "sample_data" / sub / f"{name.replace('_Camera_5', '')}{ext}")
        for lst in (root / "sample_data/split").glob("*.txt"): lst.write_text(lst.read_text().replace(name, name.replace("_Camera_5", "")))
        named = name.replace("_Camera_5", "")
    elif what == "image":
        (root / "sample_data/images" / f"{name}.jpg").unlink(); named = root / "sample_data/images" / f"{name}.jpg"
    out = tmp_path / "cus.json"
    if what == "pose5":                      # from the command line: exit status 2 and one line naming the file
        res = run_partlab("editing", "from-apollo", "--root", root, "--part-models", root / "part_models", "--out", out, "--no-progress")
        assert res.returncode == 2, res.stdout + res.stderr
        assert str(named) in res.stderr and expect in res.stderr and res.stderr.count("\n") <= 2, res.stderr
    else:                                    # the others through the same function, in this process
        with pytest.raises(DataError) as e: to_cus_coco(root, out, part_models=root / "part_models")
        assert str(named) in str(e.value) and expect in str(e.value), str(e.value)
    assert not out.exists() and not list(tmp_path.glob("*.tmp*"))

def test_the_toolkits_projection_agrees(apollo):
    """Dev only: ApolloScapeAuto/dataset-api's utils (euler angles, `project`, the Camera_5 intrinsics of data.py) and
    car_models.py, unmodified, over the world's files: pixels of every model vertex as partlab reads them."""
    repo = os.environ.get("PARTLAB_APOLLO_API_REPO")
    if not repo: pytest.skip("dev only: set PARTLAB_APOLLO_API_REPO to an ApolloScapeAuto/dataset-api checkout")
    sys.path[:0] = [str(Path(repo) / "utils"), str(Path(repo) / "car_instance")]
    try:
        import utils as uts, data as apollo_data, car_models
    finally: del sys.path[:2]
    assert [m.name for m in car_models.models] == apollo_facts()["car_models"]
    ds, config, checked = ApolloCar3D(apollo), apollo_data.ApolloScape(), 0
    for i in range(len(ds)):
        item = ds[i]
        H, W = item["hw"]
        K_theirs = uts.intrinsic_vec_to_mat(config.get_intrinsic(item["name"]), (H, W))
        assert np.allclose(K_theirs, item["K"].numpy(), rtol=1e-6)
        for car in item["cars"]:
            raw = pickle.loads((apollo / "car_models" / f"{car.name}.pkl").read_bytes())
            verts = raw["vertices"].copy(); verts[:, [0, 1]] *= -1                     # as their load_car_models does
            X = uts.project(np.array(car.pose.double()), np.ones(3), verts)            # their pose convention
            uv_theirs = X @ K_theirs.T.astype(np.float64); uv_theirs = uv_theirs[:, :2] / uv_theirs[:, 2:]
            ours = ds.model(car.name).verts.double() @ car.R.double().T + car.t.double()
            uv_ours = (ours @ item["K"].double().T); uv_ours = uv_ours[:, :2] / uv_ours[:, 2:]
            assert np.abs(uv_theirs - uv_ours.numpy()).max() < 1e-2
            checked += 1
    assert checked >= 5
