"GenRen: the world's truth and the model's camera agree, so every inference can be scored against the truth."
import json
import cv2, numpy as np, pytest, torch
from partlab.datasets.genren import GenRenImages, GenRenShapes
from partlab.genren.model import GenRenConfig, Pose, to_screen, make_template, render_rgba
from partlab.world.writers import write_genren

@pytest.fixture(scope="module")
def genren(tmp_path_factory):
    out = tmp_path_factory.mktemp("genren")
    for cat in ("car", "airplane"): write_genren(out, 0, cat, 8, 5 if cat == "car" else 1, 1024)
    return out

@pytest.mark.parametrize("cat", ["car", "airplane"])
def test_true_shapes_under_true_poses_cover_the_masks(genren, cat):
    truth = json.loads((genren / cat / "truth.json").read_text())
    cfg = GenRenConfig.named("quick")
    assert truth["camera"]["eye"] == cfg.eye and truth["camera"]["focal"] == cfg.focal and truth["camera"]["size"] == cfg.image_size
    images, shapes = GenRenImages(genren / cat / "images"), GenRenShapes(genren / cat / "shapes")
    assert sorted(truth["images"]) == [images[i]["name"] for i in range(len(images))]
    margins = []
    for i in range(len(images)):
        item = images[i]; rec = truth["images"][item["name"]]
        if rec["shape"] is None: continue
        points = shapes[shapes.names.index(rec["shape"])]["points"][None]
        exact = item["mask"][0].numpy() > 0
        grown = cv2.dilate(exact.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        def fit(pose):
            "share of the points landing on the (grown) mask; IoU of the mask with the (grown) pixels the points hit"
            uv = to_screen(points, pose, cfg)[0, :, :2].floor().long().clamp(0, 63)
            hit = np.zeros((64, 64), np.uint8); hit[uv[:, 1], uv[:, 0]] = 1
            hit_grown = cv2.dilate(hit, np.ones((3, 3), np.uint8)).astype(bool)
            return grown[uv[:, 1], uv[:, 0]].mean(), (hit_grown & exact).sum() / (exact | hit.astype(bool)).sum()
        pose = Pose(torch.tensor([rec["R"]]), torch.tensor([rec["t"]]), torch.zeros(1, 3))
        inside, iou = fit(pose)
        assert inside >= 0.9, (item["name"], inside)      # thin wings and rims lose pixel centres at 64 px: not every point
        # a wrong pose (the object turned by 90 degrees about its vertical axis) fits clearly worse
        _, iou_turned = fit(Pose(pose.R @ torch.tensor([[[0.0, 0, 1], [0, 1, 0], [-1, 0, 0]]]), pose.t, pose.angles))
        assert iou > iou_turned, (item["name"], iou, iou_turned)
        margins.append(iou - iou_turned)
    assert margins and np.mean(margins) > 0.1, margins

def test_rendered_template_matches_a_sphere_of_the_same_pose(genren):
    cfg = GenRenConfig.named("quick")
    template = make_template(cfg)
    pose = Pose(torch.eye(3)[None], torch.tensor([[0.3, -0.2, 0.5]]), torch.zeros(1, 3))
    r = render_rgba(template.verts[None] * 0.5, template, torch.ones(1, 3, 32, 32), pose, cfg)
    centre = to_screen(torch.zeros(1, 1, 3), pose, cfg)[0, 0, :2]
    ys, xs = torch.nonzero(r.alpha[0] > 0.5, as_tuple=True)
    assert (torch.stack([xs, ys], -1).float().mean(0) + 0.5 - centre).abs().max() < 0.5
    assert torch.equal(r.rgb[0].sum(0) > 0, r.alpha[0] > 0.5) or ((r.rgb[0].sum(0) > 0) != (r.alpha[0] > 0.5)).sum() < 10

TINY = {"batch": 4, "points": 200, "decoder": "(64,)", "vision_width": 8, "texture_width": 8, "texture_size": 16, "mesh_code": 32,
        "ae_steps": 2, "dr_steps": 2, "mode1_steps": 2, "mode2_steps": 3, "steps": 12, "checkpoint_every": 4, "log_every": 4}

def train_args(genren, out, cat="car", **over) -> list:
    p = [x for k, v in {**TINY, **over}.items() for x in ("-p", k, str(v))]
    return ["genren", "train", "--images", genren / cat / "images", "--shapes", genren / cat / "shapes", "--out", out,
            "--device", "cpu", "--no-progress", "--threads", "1", *p]

def logged(out) -> list:
    return [json.loads(l) for l in (out / "train_log.jsonl").read_text().splitlines()]

def test_kill_9_then_resume_gives_the_same_losses(genren, tmp_path):
    from conftest import run_partlab, kill_when_logged
    whole = tmp_path / "whole"
    res = run_partlab(*train_args(genren, whole))
    assert res.returncode == 0, res.stderr[-3000:]
    assert json.loads(res.stdout.strip().splitlines()[-1])["steps"] == 12
    cut = tmp_path / "cut"
    killed_at = kill_when_logged(train_args(genren, cut), cut, 6)
    assert killed_at < 12
    res = run_partlab(*train_args(genren, cut))
    assert res.returncode == 0, res.stderr[-3000:]
    s = json.loads(res.stdout.strip().splitlines()[-1])
    assert 0 < s["start"] <= killed_at and s["start"] % TINY["checkpoint_every"] == 0
    assert logged(cut) == logged(whole)                  # every step, the resumed ones too, through every stage
    assert {"critic", "adversarial", "cycle2"} <= set(logged(whole)[-1])

def _broken(genren, tmp_path, what):
    "A copy of the car folders with one thing broken -> (images, shapes, the text the error must hold)."
    import shutil
    d = tmp_path / "car"; shutil.copytree(genren / "car", d)
    if what == "png_without_alpha":
        rgb = cv2.imread(str(d / "images" / "car_000003.png"), cv2.IMREAD_UNCHANGED)[..., :3]
        cv2.imwrite(str(d / "images" / "car_000003.png"), rgb)
        return d, "car_000003.png: GenRen image (RGBA, alpha = mask) must have 4 channel(s), found 3"
    if what == "points_and_normals_differ":
        torch.save(torch.randn(100, 3), d / "shapes" / "car_0001.normals.pt")
        return d, "car_0001.PC.pt: 1024 points but 100 normals in car_0001.normals.pt"
    if what == "no_shapes":
        for p in (d / "shapes").iterdir(): p.unlink()
        return d, "shapes: shape folder has no .PC.pt files"
    raise ValueError(what)

@pytest.mark.parametrize("what", ["png_without_alpha", "points_and_normals_differ", "no_shapes"])
def test_bad_input_is_one_clear_error(genren, tmp_path, capsys, what):
    from partlab.cli import main
    d, message = _broken(genren, tmp_path, what)
    out = tmp_path / "run"
    capsys.readouterr()
    status = main([str(a) for a in train_args(tmp_path, out)])
    err = capsys.readouterr().err
    assert status != 0 and message in err and err.count("error") == 1, err
    assert not (out / "last.pt").exists()

def test_unknown_options_preset_is_one_clear_error(genren, tmp_path, capsys):
    from partlab.cli import main
    capsys.readouterr()
    status = main([str(a) for a in [*train_args(genren, tmp_path / "run"), "--options", "chiars"]])
    err = capsys.readouterr().err
    assert status != 0 and "unknown GenRen options preset 'chiars'; known: base, full, quick, planes" in err, err

def test_two_gloo_processes_see_every_image_once_and_agree(genren, tmp_path):
    from conftest import run_torchrun
    out = tmp_path / "ddp"
    res = run_torchrun(*train_args(genren, out, batch=2, steps=8), "--record-samples")
    assert res.returncode == 0, res.stderr[-3000:]
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    assert summary["world_size"] == 2 and summary["steps"] == 8
    ranks = [[json.loads(l) for l in (out / f"samples_rank{r}.jsonl").read_text().splitlines()] for r in range(2)]
    n = summary["train_images"]
    per_epoch = max(1, -(-n // 2) // 2)
    for epoch in range(8 // per_epoch):
        seen = [i for rows in ranks for row in rows[:-1] if row["epoch"] == epoch for i in row["indices"]]
        # each training image once in the epoch (DistributedSampler pads an odd count with one repeat)
        assert sorted(set(seen)) == list(range(n)) and len(seen) == 2 * -(-n // 2), (epoch, seen)
    assert ranks[0][-1]["weights_sha256"] == ranks[1][-1]["weights_sha256"]   # generators and critics alike
    banks = [json.loads((out / f"pose_bank_rank{r}.json").read_text()) for r in range(2)]
    assert banks[0] == banks[1] and banks[0]["seen"] > 0                # one pose bank, filled by both ranks' poses
    assert {"critic", "adversarial"} <= set(logged(out)[-1])          # the run reached the critics' stages

def test_the_ablations_drop_their_terms_and_the_full_run_logs_them(genren, tmp_path):
    "From mode II on the full method logs the pose-distribution and cross-pose terms; `cycle1 False` logs no cycle-1 term after pretraining."
    from conftest import run_partlab
    runs = {}
    for name, over in {"full": {}, "no_cycle1": {"cycle1": False}, "no_pose_loss": {"w_pose_distribution": 0.0}}.items():
        res = run_partlab(*train_args(genren, tmp_path / name, **over))
        assert res.returncode == 0, res.stderr[-3000:]
        runs[name] = logged(tmp_path / name)
    late = lambda rows: [r for r in rows if r["step"] > TINY["ae_steps"] + TINY["dr_steps"] + TINY["mode1_steps"]]
    assert all({"pose_distribution", "cross_pose", "cycle1"} <= set(r) for r in late(runs["full"]))
    assert all("pose_distribution" not in r and "cycle1" in r for r in late(runs["no_pose_loss"]))
    assert all("cycle1" not in r and "pose_distribution" not in r and "cross_pose" in r for r in late(runs["no_cycle1"]))
    assert any(r["step"] <= TINY["ae_steps"] + TINY["dr_steps"] and "cycle1" in r for r in runs["no_cycle1"])   # the pretraining keeps it
