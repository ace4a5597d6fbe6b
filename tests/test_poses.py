"""`partlab poses step1|step2` as a user runs them: outputs, logged skips and clear errors on bad input."""
import json, shutil
from pathlib import Path
import numpy as np
import pytest
import torch
from conftest import run_partlab
from partlab.meshes import uv_sphere
from partlab.textured.remesh import save_remeshed
from partlab.world.writers import write_world

N_IMAGES = 4


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    "A quick synthetic world cut down to a few car records, and a car-like sphere template file."
    d = tmp_path_factory.mktemp("poses")
    write_world(d / "world", seed=3, profile="quick", progress=False, only=("objects",))
    rec_file = d / "world" / "records" / "car" / "records.json"
    everything = json.loads(rec_file.read_text())
    records = everything[:N_IMAGES]
    rec_file.write_text(json.dumps(records))
    for r in everything[N_IMAGES:]: (rec_file.parent / r["image"]).unlink()      # no orphans but the test's own
    v, f, _ = uv_sphere()
    tpl = save_remeshed(d / "templates.pt", (v * torch.tensor([0.22, 0.18, 0.5]))[None], ["car"], {})
    return d, records


def test_step1_then_step2_write_their_records(setup, tmp_path):
    d, records = setup
    res = run_partlab("poses", "step1", "--data", d / "world", "--templates", d / "templates.pt", "--out", tmp_path, "--no-progress",
                      "--tensorboard", tmp_path / "tb")
    assert res.returncode == 0, res.stderr
    from partlab.io import read_scalars
    from partlab.textured.poses import PoseConfig
    logged = read_scalars(tmp_path / "tb")                                           # one point per optimisation step
    assert {"car/step1/loss_mean", "car/step1/active", "car/step1/size"} <= set(logged)
    assert [s for s, _ in logged["car/step1/loss_mean"]] == list(range(PoseConfig.named("quick").steps))
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    assert summary["images"] == N_IMAGES and summary["skipped"] == 0 and 0 <= summary["acc30"] <= 1
    step1 = json.loads((tmp_path / "car_step1.json").read_text())
    assert [r["id"] for r in step1["images"]] == [r["id"] for r in records]
    first = step1["images"][0]
    assert len(first["hypotheses"]) == 40 and 0 <= first["ambiguity"] <= 1
    assert max(h["iou"] for h in first["hypotheses"]) == first["hypotheses"][first["best"]]["iou"] > 0.5
    assert len(list(tmp_path.glob("*.tmp*"))) == 0                                   # nothing half-written
    res = run_partlab("poses", "step2", "--data", d / "world", "--templates", d / "templates.pt", "--out", tmp_path, "--no-progress")
    if res.returncode == 2:                      # four images may hold no unambiguous side view: then it must say so
        assert "no unambiguous side-view image" in res.stderr
    else:
        assert res.returncode == 0, res.stderr
        poses = json.loads((tmp_path / "car_poses.json").read_text())
        assert len(poses["images"]) == N_IMAGES and all(0 <= p["hypothesis"] < 40 for p in poses["images"])
        assert all("error_deg" in p for p in poses["images"])


def test_empty_mask_and_orphan_image_are_skipped_with_their_names(setup, tmp_path):
    d, records = setup
    world = tmp_path / "world"
    shutil.copytree(d / "world" / "records", world / "records")
    mask = world / "records" / "car" / records[1]["mask"]
    import cv2
    cv2.imwrite(str(mask), np.zeros_like(cv2.imread(str(mask), cv2.IMREAD_GRAYSCALE)))
    shutil.copy(world / "records" / "car" / records[0]["image"], world / "records" / "car" / "images" / "stray.png")
    res = run_partlab("poses", "step1", "--data", world, "--templates", d / "templates.pt", "--out", tmp_path / "out",
                      "--max-images", "2", "--no-progress")
    assert res.returncode == 0, res.stderr
    assert str(mask) in res.stderr and "no object pixels" in res.stderr                      # the skip names the file
    assert "without a record" in res.stderr and "stray.png" in res.stderr
    assert json.loads(res.stdout.strip().splitlines()[-1])["skipped"] == 1


def test_bad_inputs_exit_2_naming_the_file(setup, tmp_path):
    d, _ = setup
    res = run_partlab("poses", "step2", "--data", d / "world", "--templates", d / "templates.pt", "--out", tmp_path)
    assert res.returncode == 2 and "car_step1.pt" in res.stderr and "step1" in res.stderr      # step 2 before step 1
    res = run_partlab("poses", "step1", "--data", d / "world", "--templates", d / "templates.pt", "--out", tmp_path,
                      "--categories", "airplane")
    assert res.returncode == 2 and "no template for category 'airplane'" in res.stderr
    bad = tmp_path / "not_templates.pt"; bad.write_text("hello")
    res = run_partlab("poses", "step1", "--data", d / "world", "--templates", bad, "--out", tmp_path)
    assert res.returncode == 2 and str(bad) in res.stderr
    res = run_partlab("poses", "step1", "--data", tmp_path / "nowhere", "--templates", d / "templates.pt", "--out", tmp_path)
    assert res.returncode == 2 and "records.json" in res.stderr


def test_textured_spelling_and_unknown_setting(setup, tmp_path):
    "`partlab textured poses` is the same command; an unknown PoseConfig name is refused with exit 2."
    d, _ = setup
    res = run_partlab("textured", "poses", "step2", "--data", d / "world", "--templates", d / "templates.pt", "--out", tmp_path)
    assert res.returncode == 2 and "car_step1.pt" in res.stderr
    (tmp_path / "bad.json").write_text('{"step": 3}')
    res = run_partlab("poses", "step1", "--data", d / "world", "--templates", d / "templates.pt", "--out", tmp_path,
                      "--config", tmp_path / "bad.json")
    assert res.returncode == 2 and "'step'" in res.stderr and "bad.json" in res.stderr
