"""The state-aware detector as a user runs it (partlab editing train|evaluate|infer): two gloo processes under torchrun
(each training image once per epoch, identical weights), kill -9 and resume (the same later losses), the original's
inference outputs, and bad input (one clear error naming the file)."""
import json
from pathlib import Path
import pytest
import torch
from conftest import run_partlab, run_torchrun, kill_when_logged

TINY = {"width": 8, "fpn_channels": 16, "representation": 32, "mask_channels": 16, "min_size": 96, "max_size": 128,
        "rpn_pre_nms_train": 200, "rpn_post_nms_train": 100, "rpn_post_nms_test": 100, "box_batch_per_image": 32,
        "batch": 2, "checkpoint_every": 2, "log_every": 2, "warmup": 2}

@pytest.fixture(scope="module")
def world(tmp_path_factory):
    "A tiny world's detector sets and one edit of each training image."
    from partlab.world.writers import write_world
    from partlab.editing.edit import edit_dataset, EditConfig
    d = tmp_path_factory.mktemp("detector")
    write_world(d / "world", seed=5, progress=False, only=("editing_detector",), det_train_images=6, det_test_images=3, det_models=2,
                edit_size=(96, 128))
    root = d / "world" / "editing_detector"
    edit_dataset(root / "train_common" / "annotations.json", None, d / "edited", EditConfig(), progress=False)
    (d / "tiny.json").write_text(json.dumps(TINY))
    return d

def train_args(d: Path, out: Path, *extra) -> list:
    root = d / "world" / "editing_detector"
    return ["editing", "train", "--train", f"{root / 'train_common' / 'annotations.json'},{d / 'edited' / 'cus_editing_data.json'}",
            "--out", out, "--config", d / "tiny.json", "--device", "cpu", "--no-progress", *extra]

def log_losses(out: Path) -> list:
    return [(r["step"], r["loss"]) for r in map(json.loads, (out / "train_log.jsonl").read_text().splitlines())]

def test_train_evaluate_infer_from_the_command_line(world, tmp_path):
    out = tmp_path / "b"
    res = run_partlab(*train_args(world, out, "--steps", "4", "--tensorboard", tmp_path / "tb"))
    assert res.returncode == 0, res.stderr[-3000:]
    s = json.loads(res.stdout.strip().splitlines()[-1])
    assert s["steps"] == 4 and s["backbones"] == "from scratch" and (out / "last.pt").is_file() and (out / "best.pt").is_file()
    assert torch.load(out / "last.pt", weights_only=True)["kind"] == "editing-state-rcnn"
    assert list((tmp_path / "tb").rglob("events.out.tfevents.*"))
    test = world / "world" / "editing_detector" / "test"
    res = run_partlab("editing", "evaluate", "--weights", out / "last.pt", "--coco", test / "annotations.json", "--device", "cpu")
    assert res.returncode == 0, res.stderr[-3000:]
    ev = json.loads(res.stdout.strip().splitlines()[-1])
    assert ev["images"] == 3 and {"box_ap_uncommon", "mask_ap_uncommon", "part_mask_ap", "state_f1_trunk"} <= set(ev)
    res = run_partlab("editing", "infer", "--weights", out / "last.pt", "--input-dir", test / "images", "--output-dir", tmp_path / "inf",
                      "--score-thresh", "0.0", "--device", "cpu")
    assert res.returncode == 0, res.stderr[-3000:]
    results = json.loads((tmp_path / "inf" / "results.json").read_text())
    assert len(list((tmp_path / "inf").glob("*.png"))) == 3
    assert all(len(r["states"]) == 6 and r["category_id"] in (1, 2) and len(r["bbox"]) == 4 for r in results)

def test_two_gloo_processes_see_every_image_once_and_agree(world, tmp_path):
    out = tmp_path / "ddp"
    res = run_torchrun(*train_args(world, out, "--steps", "4", "--record-samples"))
    assert res.returncode == 0, res.stderr[-3000:]
    s = json.loads(res.stdout.strip().splitlines()[-1])
    assert s["world_size"] == 2 and s["steps"] == 4
    ranks = [[json.loads(l) for l in (out / f"samples_rank{r}.jsonl").read_text().splitlines()] for r in range(2)]
    n = s["train_images"]
    per_epoch = max(1, -(-n // 2) // TINY["batch"])
    for epoch in range(4 // per_epoch):
        seen = [i for rows in ranks for row in rows[:-1] if row["epoch"] == epoch for i in row["indices"]]
        assert sorted(set(seen)) == list(range(n)), epoch                             # each training image in the epoch
    assert ranks[0][-1]["weights_sha256"] == ranks[1][-1]["weights_sha256"]

def test_kill_9_then_resume_gives_the_same_losses(world, tmp_path):
    whole = tmp_path / "whole"
    res = run_partlab(*train_args(world, whole, "--steps", "10"))
    assert res.returncode == 0, res.stderr[-3000:]
    cut = tmp_path / "cut"
    killed_at = kill_when_logged(train_args(world, cut, "--steps", "10"), cut, 4)
    assert killed_at < 10
    res = run_partlab(*train_args(world, cut, "--steps", "10"))
    assert res.returncode == 0, res.stderr[-3000:]
    s = json.loads(res.stdout.strip().splitlines()[-1])
    assert 0 < s["resumed_from"] <= killed_at
    assert log_losses(cut) == log_losses(whole)

def here(capsys, *args):
    from partlab.cli import main
    capsys.readouterr()
    status = main([str(a) for a in args])
    return status, capsys.readouterr().err

def test_bad_input_is_one_clear_error(world, tmp_path, capsys):
    test = world / "world" / "editing_detector" / "test" / "annotations.json"
    other = tmp_path / "other.pt"
    from partlab.train import save_checkpoint
    save_checkpoint(other, "kd-teacher", 0, torch.nn.Linear(2, 2), None)             # a partlab checkpoint of another model
    status, err = here(capsys, "editing", "evaluate", "--weights", other, "--coco", test, "--device", "cpu")
    assert status == 2 and "other.pt: a checkpoint of 'kd-teacher', not of the editing chapter's state R-CNN" in err, err
    bad = tmp_path / "resnet.pth"; bad.write_bytes(b"not a file torch reads")
    status, err = here(capsys, *train_args(world, tmp_path / "w", "--steps", "1", "--backbone-weights", bad))
    assert status == 2 and "resnet.pth: not a readable weights file" in err and not (tmp_path / "w" / "last.pt").exists(), err
    status, err = here(capsys, "editing", "infer", "--weights", other, "--input-dir", tmp_path / "empty", "--output-dir", tmp_path / "o")
    assert status == 2 and "other.pt" in err, err
    status, err = here(capsys, "editing", "train", "--train", tmp_path / "none.json", "--out", tmp_path / "n", "--steps", "1")
    assert status == 2 and "none.json: annotation file is missing" in err, err
