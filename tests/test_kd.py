"""The pose-distillation commands as a user runs them (partlab kd teacher|student|evaluate): two gloo processes under
torchrun (each sample once per epoch, identical weights), a run killed with kill -9 and resumed (the same later
losses), TensorBoard scalars, and bad input (one clear error naming the file, nothing written)."""
import json
from pathlib import Path
import pytest
import torch
from conftest import run_partlab, run_torchrun, kill_when_logged

TINY = {"crop": 32, "width": 8, "teacher_feature": 32, "student_feature": 32, "point_feature": 32, "embed": 16, "points": 64,
        "teacher_batch": 4, "student_batch": 4, "checkpoint_every": 5, "log_every": 5}

@pytest.fixture(scope="module")
def world(tmp_path_factory):
    "A small world's pose sets (14 categories, ObjectNet3D and Pix3D layouts) and a tiny config."
    from partlab.world.writers import write_world
    d = tmp_path_factory.mktemp("kd")
    write_world(d / "world", seed=2, progress=False, only=("pose_sets",), pose_images=8, pose_models=2, pix3d_images=2)
    (d / "tiny.json").write_text(json.dumps(TINY))
    return d

def command(d: Path, role: str, out: Path, *extra) -> list:
    return ["kd", role, "--data", d / "world" / "objectnet3d", "--out", out, "--config", d / "tiny.json", "--device", "cpu",
            "--no-progress", *extra]

def partlab_here(capsys, *args) -> tuple[int, str]:
    "`partlab ARGS` in this process (the same entry point as the command, without its start-up time) -> (status, stderr)."
    from partlab.cli import main
    capsys.readouterr()
    status = main([str(a) for a in args])
    return status, capsys.readouterr().err

def log_losses(out: Path) -> list:
    return [(r["step"], r["loss"]) for r in map(json.loads, (out / "train_log.jsonl").read_text().splitlines())]

@pytest.fixture(scope="module")
def teacher(world):
    out = world / "teacher"
    res = run_partlab(*command(world, "teacher", out, "--steps", "10", "--tensorboard", world / "tb"))
    assert res.returncode == 0, res.stderr[-3000:]
    from partlab.io import read_scalars
    scalars = read_scalars(world / "tb")
    assert [s for s, _ in scalars["teacher/train/loss"]] == [5, 10] and [s for s, _ in scalars["teacher/val/acc30"]] == [5, 10]
    return out

def test_teacher_student_evaluate_from_the_command_line(world, teacher):
    summary = json.loads((teacher / "evaluation.json").read_text())["summary"]
    assert summary["role"] == "teacher" and summary["steps"] == 10 and 0 <= summary["test_acc30"] <= 1
    for extra, mode in (([], "alone"), (["--teacher", teacher / "best.pt"], "kl"), (["--teacher", teacher / "best.pt", "--contrastive"], "kl+contrastive")):
        out = world / f"student_{mode}"
        res = run_partlab(*command(world, "student", out, "--steps", "5", *extra))
        assert res.returncode == 0, res.stderr[-3000:]
        s = json.loads(res.stdout.strip().splitlines()[-1])
        assert s["mode"] == mode and s["steps"] == 5
        keys = set(json.loads((out / "train_log.jsonl").read_text().splitlines()[-1]))
        assert ("pose_nce" in keys) == (mode == "kl+contrastive") and ("kl_heads" in keys) == (mode != "alone")
    res = run_partlab("kd", "evaluate", "--model", world / "student_kl+contrastive" / "best.pt", "--data", world / "world" / "pix3d",
                      "--dataset", "pix3d", "--out", world / "pix3d_eval.json", "--device", "cpu")
    assert res.returncode == 0, res.stderr[-3000:]
    ev = json.loads((world / "pix3d_eval.json").read_text())
    assert set(ev["categories"]) == {"bed", "bookcase", "chair", "sofa", "table"} and len(ev["errors"]) == ev["rows"] > 0

def test_few_shot_base_then_shots(world, teacher):
    base = world / "base"
    res = run_partlab(*command(world, "student", base, "--steps", "4", "--novel"))
    assert res.returncode == 0, res.stderr[-3000:]
    cats = json.loads(torch.load(base / "last.pt", weights_only=True)["categories"])
    assert not set(cats) & {"bed", "bookshelf", "stove", "wheelchair"} and len(cats) == 10
    res = run_partlab(*command(world, "student", world / "shots", "--steps", "2", "--shot", "2", "--init", base / "best.pt"))
    assert res.returncode == 0, res.stderr[-3000:]
    s = json.loads(res.stdout.strip().splitlines()[-1])
    assert s["train_rows"] == 2 * 14 and s["test_rows"] > 0                   # reported on the novel categories only

def test_two_gloo_processes_see_every_sample_once_and_agree(world, tmp_path):
    out = tmp_path / "ddp"
    res = run_torchrun(*command(world, "teacher", out, "--steps", "8", "--record-samples"))
    assert res.returncode == 0, res.stderr[-3000:]
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    assert summary["world_size"] == 2 and summary["steps"] == 8
    ranks = [[json.loads(l) for l in (out / f"samples_rank{r}.jsonl").read_text().splitlines()] for r in range(2)]
    n = summary["train_rows"]
    per_epoch = max(1, -(-n // 2) // TINY["teacher_batch"])
    for epoch in range(8 // per_epoch):
        seen = [i for rows in ranks for row in rows[:-1] if row["epoch"] == epoch for i in row["indices"]]
        assert sorted(seen) == list(range(n)), epoch                            # each training row once in the epoch
    assert ranks[0][-1]["weights_sha256"] == ranks[1][-1]["weights_sha256"]

def test_kill_9_then_resume_gives_the_same_losses(world, teacher, tmp_path):
    extra = ["--steps", "20", "--teacher", teacher / "best.pt", "--contrastive"]
    whole = tmp_path / "whole"
    res = run_partlab(*command(world, "student", whole, *extra))
    assert res.returncode == 0, res.stderr[-3000:]
    cut = tmp_path / "cut"
    killed_at = kill_when_logged(command(world, "student", cut, *extra), cut, 8)
    assert killed_at < 20
    res = run_partlab(*command(world, "student", cut, *extra))
    assert res.returncode == 0, res.stderr[-3000:]
    s = json.loads(res.stdout.strip().splitlines()[-1])
    assert 0 < s["resumed_from"] <= killed_at and s["resumed_from"] % TINY["checkpoint_every"] == 0
    assert log_losses(cut) == log_losses(whole)                                 # every step, the resumed ones too

def _damage(world: Path, tmp_path: Path, what: str) -> tuple[Path, str]:
    "A copy of the world's objectnet3d/ with one thing broken -> (its folder, the file the error must name)."
    import shutil
    d = tmp_path / "objectnet3d"
    shutil.copytree(world / "world" / "objectnet3d", d)
    ann = d / "ObjectNet3D.txt"
    lines = ann.read_text().splitlines()
    if what == "missing_column": lines[3] = ",".join(lines[3].split(",")[:-2])
    if what == "angle_out_of_range":
        f = lines[3].split(","); f[10] = "120.0"; lines[3] = ",".join(f)
    if what == "image_does_not_decode":
        (d / lines[3].split(",")[-1]).write_bytes(b"not a png")
        return d, lines[3].split(",")[-1].split("/")[-1]
    if what == "missing_point_cloud":
        f = lines[3].split(",")
        shutil.rmtree(d / "pointcloud" / f[2])
        return d, "compressed.ply"
    ann.write_text("\n".join(lines) + "\n")
    return d, "ObjectNet3D.txt"

@pytest.mark.parametrize("what, message", [
    ("missing_column", "line 4: 17 fields, the header has 19"), ("angle_out_of_range", "line 4: elevation 120.0 is out of [-90, 90]"),
    ("image_does_not_decode", "corrupt or unreadable image"), ("missing_point_cloud", "point cloud file is missing"),
])
def test_bad_data_is_one_clear_error(world, tmp_path, capsys, what, message):
    data, name = _damage(world, tmp_path, what)
    args = command(world, "teacher", tmp_path / "out", "--steps", "2")
    args[args.index("--data") + 1] = data
    status, err = partlab_here(capsys, *args)
    assert status == 2 and name in err and message in err, err[-2000:]
    assert not (tmp_path / "out" / "evaluation.json").exists() and not (tmp_path / "out" / "last.pt").exists()

def test_bad_data_from_the_installed_command(world, tmp_path):
    "The same, as a user's shell sees it: exit status 2, one line, no traceback."
    data, name = _damage(world, tmp_path, "angle_out_of_range")
    args = command(world, "teacher", tmp_path / "out", "--steps", "2")
    args[args.index("--data") + 1] = data
    res = run_partlab(*args)
    assert res.returncode == 2 and "ObjectNet3D.txt: line 4: elevation 120.0" in res.stderr and "Traceback" not in res.stderr, res.stderr[-2000:]

def test_bad_checkpoints_and_categories_are_one_clear_error(world, teacher, tmp_path, capsys):
    bad = tmp_path / "last.pt"; bad.write_bytes(b"PK\x03\x04" + b"\0" * 40)
    status, err = partlab_here(capsys, "kd", "evaluate", "--model", bad, "--data", world / "world" / "objectnet3d", "--device", "cpu")
    assert status == 2 and "last.pt: not a readable checkpoint" in err, err
    assert partlab_here(capsys, *command(world, "student", tmp_path / "alone", "--steps", "2"))[0] == 0
    status, err = partlab_here(capsys, *command(world, "student", tmp_path / "s", "--steps", "2", "--teacher", tmp_path / "alone" / "best.pt"))
    assert status == 2 and "a kd student, not a kd teacher" in err and not (tmp_path / "s" / "last.pt").exists(), err
    status, err = partlab_here(capsys, "kd", "evaluate", "--model", teacher / "best.pt", "--data", world / "world" / "objectnet3d",
                               "--category", "toaster", "--device", "cpu")
    assert status == 2 and "ObjectNet3D.txt: has no category 'toaster'" in err, err
    status, err = partlab_here(capsys, *command(world, "teacher", tmp_path / "t", "--steps", "2", "--config", tmp_path / "none.json"))
    assert status == 2 and "none.json" in err, err
