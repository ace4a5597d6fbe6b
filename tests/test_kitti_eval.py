"""partlab's KITTI evaluator (`partlab.vsrd.kitti_eval`) against the standard one, mmdet3d's KITTI evaluation.

`test_matches_mmdet3d_on_the_fixture` compares with numbers mmdet3d gave on the checked-in label files
(`tests/fixtures/kitti_eval/`, made and scored by `tests/fixtures/kitti_eval/make_fixtures.py`); it needs nothing
but partlab. `test_matches_mmdet3d_live` runs mmdet3d itself on fresh random label sets; it is skipped unless the
environment variable PARTLAB_MMDET3D_KITTI_UTILS names a folder holding mmdet3d's `eval.py` and `rotate_iou.py`
(mmdet3d/evaluation/functional/kitti_utils/ of open-mmlab/mmdetection3d v1.4.0), for example:

    git clone --depth 1 --branch v1.4.0 https://github.com/open-mmlab/mmdetection3d /tmp/mmdetection3d
    PARTLAB_MMDET3D_KITTI_UTILS=/tmp/mmdetection3d/mmdet3d/evaluation/functional/kitti_utils \
        .venv/bin/python -m pytest tests/test_kitti_eval.py -q

(or copy the two files anywhere: `git show v1.4.0:mmdet3d/evaluation/functional/kitti_utils/eval.py > DIR/eval.py`,
likewise rotate_iou.py). They need numpy and numba only (both in partlab's environment); without a GPU their rotated
IoU kernel runs in numba's CUDA simulator (the generator sets NUMBA_ENABLE_CUDASIM=1), about half a minute a set.
"""
import json, os, subprocess, sys
from pathlib import Path
import numpy as np
import pytest
from conftest import ROOT
from partlab.io import DataError
from partlab.vsrd.kitti_eval import kitti_evaluate, kitti_report, read_kitti_labels, read_label_folder

FIXTURE = ROOT/"tests"/"fixtures"/"kitti_eval"
OVERLAPS = (0.7, 0.5, 0.3)
TOLERANCE = 0.01        # AP points


def compare(root: Path) -> tuple[float, str]:
    "partlab's numbers on `root`'s label files against `root/expected.json`: (largest difference, its key)."
    expected = json.loads((root/"expected.json").read_text())["values"]
    ours = kitti_evaluate(root/"annotations", root/"predictions", min_overlaps=OVERLAPS).to_dict()
    assert ours.keys() == expected.keys()
    worst = max(expected, key=lambda k: abs(ours[k] - expected[k]))
    return abs(ours[worst] - expected[worst]), worst


def test_matches_mmdet3d_on_the_fixture():
    diff, key = compare(FIXTURE)
    assert diff < TOLERANCE, f"{key} differs from mmdet3d by {diff}"


def test_the_fixture_exercises_the_evaluator():
    "Every difficulty counts different cars, AOS is below AP, strict thresholds score lower, frames lack predictions."
    res = kitti_evaluate(FIXTURE/"annotations", FIXTURE/"predictions", min_overlaps=OVERLAPS)
    assert res.frames == 30 and res.missing_predictions == 2
    assert len(set(res.num_gt[0].tolist())) == 3 and res.num_gt[0, 1] >= 40
    assert res.aos("bbox", "moderate", 0.5) < res.ap("bbox", "moderate", 0.5) - 5
    assert 0 < res.ap("3d", "moderate", 0.7) < res.ap("3d", "moderate", 0.5) < res.ap("3d", "moderate", 0.3) < 100
    names = " ".join(n for f in read_label_folder(FIXTURE/"annotations").values() for n in f.name)
    assert all(k in names for k in ("DontCare", "Van", "Pedestrian"))
    assert "Car, counted ground truths: 20 easy, 43 moderate, 51 hard" in kitti_report(res)


def test_the_fixture_is_small():
    assert sum(p.stat().st_size for p in FIXTURE.rglob("*") if p.is_file()) < 200_000


def test_a_malformed_line_names_the_file_and_line(tmp_path):
    gt, dt = tmp_path/"gt"/"s", tmp_path/"dt"/"s"
    gt.mkdir(parents=True); dt.mkdir(parents=True)
    good = "Car 0.00 0 -1.58 587.0 173.3 614.1 220.1 1.65 1.67 3.64 -0.65 1.71 46.70 -1.59"
    (gt/"000000.txt").write_text(good + "\n")
    (dt/"000000.txt").write_text(good + " 0.9\n" + "Car 0.00 0 -1.58 587.0 173.3\n")
    with pytest.raises(DataError, match=r"dt/s/000000.txt: line 2: a KITTI label line has 15 or 16 fields"):
        kitti_evaluate(tmp_path/"gt", tmp_path/"dt")
    (dt/"000000.txt").write_text(good + "\n")                                  # a prediction without a score
    with pytest.raises(DataError, match=r"000000.txt: line 1: a detection needs a score"):
        kitti_evaluate(tmp_path/"gt", tmp_path/"dt")
    (gt/"000000.txt").write_text(good.replace("1.65", "tall") + "\n")
    with pytest.raises(DataError, match=r"gt/s/000000.txt: line 1: non-numeric"):
        read_kitti_labels(gt/"000000.txt")
    with pytest.raises(DataError, match="no such folder"):
        kitti_evaluate(tmp_path/"nowhere", tmp_path/"dt")
    (dt/"000000.txt").write_text(good + " 0.9\n")
    empty = tmp_path/"empty"; empty.mkdir()
    with pytest.raises(DataError, match=r"no label files"):
        kitti_evaluate(empty, tmp_path/"dt")


def test_missing_prediction_files_are_frames_without_detections(tmp_path):
    "Ground truth with no prediction file scores like ground truth with an empty one; extra predictions are ignored."
    import shutil
    a, b = tmp_path/"a", tmp_path/"b"
    shutil.copytree(FIXTURE/"predictions", a); shutil.copytree(FIXTURE/"predictions", b)
    for name in read_label_folder(FIXTURE/"annotations"):
        if not (a/name).exists(): (a/name).write_text("")
    (b/"seq_00"/"999999.txt").write_text("Car 0 0 0 0 0 50 100 1.5 1.6 3.9 0 1.6 10 0 0.99\n")
    with_empty = kitti_evaluate(FIXTURE/"annotations", a, min_overlaps=OVERLAPS)
    with_extra = kitti_evaluate(FIXTURE/"annotations", b, min_overlaps=OVERLAPS)
    assert with_empty.missing_predictions == 0 and with_extra.missing_predictions == 2
    assert with_empty.to_dict() == with_extra.to_dict()


MMDET3D = os.environ.get("PARTLAB_MMDET3D_KITTI_UTILS")


@pytest.mark.skipif(not MMDET3D, reason="set PARTLAB_MMDET3D_KITTI_UTILS to a folder with mmdet3d's eval.py and rotate_iou.py")
@pytest.mark.parametrize("seed,frames", [(11, 40), (12, 60)])
def test_matches_mmdet3d_live(tmp_path, seed, frames):
    assert (Path(MMDET3D)/"eval.py").exists() and (Path(MMDET3D)/"rotate_iou.py").exists(), MMDET3D
    env = {**os.environ, "NUMBA_NUM_THREADS": os.environ.get("NUMBA_NUM_THREADS", "1")}
    res = subprocess.run([sys.executable, str(FIXTURE/"make_fixtures.py"), "--out", str(tmp_path), "--seed", str(seed),
                          "--frames", str(frames), "--mmdet3d", MMDET3D], capture_output=True, text=True, env=env, timeout=900)
    assert res.returncode == 0, res.stderr
    diff, key = compare(tmp_path)
    assert diff < TOLERANCE, f"seed {seed}: {key} differs from mmdet3d by {diff}"
