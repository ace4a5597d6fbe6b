"""VSRD's command line on a tiny KITTI-360-layout sequence: every step, resume, bad frames, and torchrun sharding."""
import json, os, shutil, subprocess, sys
from pathlib import Path
import numpy as np
import pytest
from conftest import run_partlab
from partlab.datasets.kitti360 import write_example_kitti360, instance_path, read_instance_map
from partlab.datasets.core import write_png
from partlab.geometry import parse_kitti_label_line
from partlab.vsrd.data import pick_sources

RULE = ["--num-sources", "3", "--min-area", "20", "--min-box-side", "4"]

@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    "Two parked cars over 12 frames (frame 11 has no pose); a short config file."
    root = tmp_path_factory.mktemp("k360")
    truth = write_example_kitti360(root, n_frames=12, size=(94, 352), unposed=(11,))
    cfg = root.parent/"short.json"; cfg.write_text(json.dumps({"steps": 30, "eval_every": 10}))
    res = run_partlab("vsrd", "annotate", "--root", root, "--no-progress")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout.strip().splitlines()[-1])["skipped"] == {"no pose": 1}
    res = run_partlab("vsrd", "sample", "--root", root, *RULE)
    assert res.returncode == 0, res.stderr
    return root, truth, cfg

def label_files(out):
    return sorted(p.relative_to(out).as_posix() for p in (Path(out)/"labels").rglob("*.json"))

def test_the_whole_pipeline(tiny, tmp_path):
    root, truth, cfg = tiny
    out = tmp_path/"out"
    res = run_partlab("vsrd", "label", "--root", root, "--out", out, "--profile", "quick", "--config", cfg, "--device", "cpu", "--no-progress",
                      "--tensorboard", tmp_path/"tb", *RULE)
    assert res.returncode == 0, res.stderr
    counts = json.loads(res.stdout.strip().splitlines()[-1])
    assert counts["labelled"] >= 1 and counts["resumed"] == 0
    from partlab.io import read_scalars
    logged = read_scalars(tmp_path/"tb")                      # one run per frame; steps 0, 10, 20 and the last (29)
    frames = {k.split("/frame/")[0] for k in logged}
    assert len(frames) == counts["labelled"] and all(f.startswith(truth["sequence"] + "/") for f in frames)
    some = next(iter(frames))
    assert [s for s, _ in logged[f"{some}/frame/loss"]] == [0, 10, 20, 29] and f"{some}/frame/iou_3d" in logged
    lab = json.loads((out/"labels"/truth["sequence"]/f"{json.loads((root/'filenames'/'R50-N3-M20-B4'/truth['sequence']/'samples.json').read_text())[0]['target']:010d}.json").read_text())
    assert np.asarray(lab["corners_cam"]).shape[1:] == (8, 3) and lab["steps"] <= 30
    for step in ("predict", "convert", "evaluate", "visualize"):
        res = run_partlab("vsrd", step, "--root", root, "--out", out, *RULE)
        assert res.returncode == 0, (step, res.stderr)
    ev = json.loads((out/"evaluation.json").read_text())
    assert ev["boxes"] > 0 and 0.0 <= ev["mean_iou_3d"] <= 1.0 and "ap3d_r40_50" in ev
    line = next((out/"kitti_labels"/"predictions").rglob("*.txt")).read_text().splitlines()[0]
    parsed = parse_kitti_label_line(line)
    assert parsed["type"] == "Car" and parsed["score"] is not None and len(parsed["dimensions"]) == 3
    assert list((out/"visualize").rglob("*.png"))

def test_resume_skips_finished_frames_and_gives_the_same_labels(tiny, tmp_path):
    root, truth, cfg = tiny
    args = ["--root", root, "--profile", "quick", "--config", cfg, "--device", "cpu", "--no-progress", *RULE]
    first = tmp_path/"a"
    assert run_partlab("vsrd", "label", "--out", first, "--max-targets", "1", *args).returncode == 0   # "killed" after 1
    done = label_files(first)
    stamp = {f: (first/f).stat().st_mtime_ns for f in done}
    res = run_partlab("vsrd", "label", "--out", first, *args)
    counts = json.loads(res.stdout.strip().splitlines()[-1])
    assert counts["resumed"] == len(done) and all((first/f).stat().st_mtime_ns == stamp[f] for f in done)
    fresh = tmp_path/"b"
    assert run_partlab("vsrd", "label", "--out", fresh, *args).returncode == 0
    assert label_files(first) == label_files(fresh)
    for f in label_files(fresh):
        a, b = json.loads((first/f).read_text()), json.loads((fresh/f).read_text())
        if "corners_cam" in b: np.testing.assert_allclose(a["corners_cam"], b["corners_cam"], atol=1e-4)

def test_an_unknown_config_setting_is_refused_by_name(tiny, tmp_path):
    root, truth, cfg = tiny
    typo = tmp_path/"typo.json"; typo.write_text(json.dumps({"steps": 30, "stpes": 30}))
    out = tmp_path/"out"
    res = run_partlab("vsrd", "label", "--root", root, "--out", out, "--profile", "quick", "--config", typo, "--device", "cpu",
                      "--no-progress", *RULE)
    assert res.returncode == 2 and "typo.json" in res.stderr and "stpes" in res.stderr, res.stderr
    assert not (out/"labels").exists()                      # refused before any work

@pytest.mark.parametrize("damage", ["no car in the target", "source annotations missing"])
def test_bad_frames_are_skipped_with_a_reason(tiny, tmp_path, damage):
    root, truth, cfg = tiny
    broken = tmp_path/"broken"; shutil.copytree(root, broken)
    first = json.loads((broken/"filenames"/"R50-N3-M20-B4"/truth["sequence"]/"samples.json").read_text())[0]
    if damage == "no car in the target":                   # the target's car pixels become road: empty masks
        path = instance_path(broken, truth["sequence"], first["target"])
        imap = read_instance_map(path); imap[imap // 1000 == 26] = 7000; write_png(path, imap.astype(np.uint16))
        assert run_partlab("vsrd", "annotate", "--root", broken, "--overwrite", "--no-progress").returncode == 0
        expected = "no car instance large enough"
    else:                                                  # fewer source frames than required
        for f in pick_sources(first["sources"], 3)[:2]:     # two of the 3 the loader takes from the candidates
            (broken/"annotations"/truth["sequence"]/"image_00"/"data_rect"/f"{f:010d}.json").unlink()
        expected = "source frames, 3 needed"
    out = tmp_path/"out"
    res = run_partlab("vsrd", "label", "--root", broken, "--out", out, "--profile", "quick", "--config", cfg,
                      "--device", "cpu", "--no-progress", "--max-targets", "1", *RULE)
    assert res.returncode == 0, res.stderr
    counts = json.loads(res.stdout.strip().splitlines()[-1])
    assert counts["labelled"] == 0 and expected in counts["skipped"][f"{truth['sequence']}/{first['target']}"], counts
    skip = json.loads((out/"labels"/truth["sequence"]/f"{first['target']:010d}.skip.json").read_text())
    assert expected in skip["reason"]
    assert "skipped" in res.stderr                          # and the reason is logged

def test_two_torchrun_processes_label_the_same_frames_as_one(tiny, tmp_path):
    root, truth, cfg = tiny
    args = ["vsrd", "label", "--root", str(root), "--profile", "quick", "--config", str(cfg), "--device", "cpu", "--no-progress", *RULE]
    one = tmp_path/"one"
    assert run_partlab(*args, "--out", one).returncode == 0
    two = tmp_path/"two"
    torchrun = Path(sys.executable).parent/"torchrun"
    env = {k: v for k, v in os.environ.items() if k != "IN_TEST"} | {"OMP_NUM_THREADS": "1"}
    res = subprocess.run([str(torchrun), "--standalone", "--nproc_per_node", "2", str(Path(sys.executable).parent/"partlab"), *args, "--out", str(two)],
                         capture_output=True, text=True, timeout=900, env=env)
    assert res.returncode == 0, res.stderr[-3000:]
    ranks = [json.loads(l) for l in res.stdout.splitlines() if l.startswith("{")]
    assert sorted(r["rank"] for r in ranks) == [0, 1] and all(r["world_size"] == 2 for r in ranks)
    assert label_files(one) == label_files(two) and label_files(one)
