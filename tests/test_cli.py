"""`partlab repro` and friends, run for real through the installed command and papermill."""
import json, shutil
from pathlib import Path
import pytest
from conftest import ROOT, run_partlab, write_notebook

PARAMS = 'profile = "quick"\ndevice = "auto"\nseed = 0\ndata_root = ""\nout_dir = ""\nscale = 1.0\nseconds = 1.0'

@pytest.fixture(scope="module")
def toy_nbs(tmp_path_factory):
    "A notebook folder with one good paper notebook, one that fails in its third cell, and one without parameters."
    d = tmp_path_factory.mktemp("nbs")
    write_notebook(d/"00_good.ipynb", PARAMS,
        "import matplotlib; matplotlib.use('Agg'); import matplotlib.pyplot as plt\n"
        "from partlab.io import Metric, write_metrics, run_dir, save_figure\nout = run_dir(out_dir, 'good')",
        "fig, ax = plt.subplots(); ax.plot([0, 1], [0, scale]); save_figure(fig, out, 'line')",
        "write_metrics(out, {'good_scale': Metric(scale, 1.0, True, ''), 'good_seed': Metric(seed, None),\n"
        "                  'good_seconds': Metric(seconds, 60.0, False, 's', 'time')})")
    write_notebook(d/"01_broken.ipynb", PARAMS, "x = 1", "raise ValueError('the data is not there')")
    (d/"02_plain.ipynb").write_text((d/"00_good.ipynb").read_text().replace('"parameters"', '"other"'))
    return d

def test_repro_reports_success_and_failure(toy_nbs, tmp_path):
    out = tmp_path/"run"
    res = run_partlab("repro", "--nbs", toy_nbs, "--out", out, "--no-progress", "-p", "good.scale", "2.5", "-p", "seed", "7")
    assert res.returncode == 1, res.stderr                     # one notebook failed -> non-zero
    run = json.loads((out/"run.json").read_text())
    by_name = {r["name"]: r for r in run["runs"]}
    assert set(by_name) == {"good", "broken"}                  # 02_plain has no parameters cell: not a paper notebook
    assert by_name["good"]["status"] == "ok" and by_name["broken"]["status"] == "failed"
    assert "ValueError: the data is not there" in by_name["broken"]["error"] and "cell" in by_name["broken"]["error"]
    metrics = json.loads((out/"good"/"metrics.json").read_text())
    assert metrics["good_scale"]["value"] == 2.5 and metrics["good_seed"]["value"] == 7   # overrides reached the kernel
    assert (out/"good.ipynb").exists() and (out/"broken.ipynb").exists() and (out/"good"/"line.png").exists()
    page = (out/"report.html").read_text()
    assert "good_scale" in page and "<img src='good/line.png'" in page and "ValueError: the data is not there" in page
    md = (out/"report.md").read_text()
    assert "| good_scale | 2.5 | 1 |  | higher | pass |" in md and "| good_seed | 7 | — |" in md

def test_repro_only_good_passes(toy_nbs, tmp_path):
    res = run_partlab("repro", "--nbs", toy_nbs, "--only", "good", "--out", tmp_path/"r", "--no-progress")
    assert res.returncode == 0, res.stderr
    assert [r["name"] for r in json.loads((tmp_path/"r"/"run.json").read_text())["runs"]] == ["good"]

def test_missed_time_target_is_a_warning_not_a_failure(toy_nbs, tmp_path):
    res = run_partlab("repro", "--nbs", toy_nbs, "--only", "good", "--out", tmp_path/"r", "--no-progress", "-p", "seconds", "99")
    assert res.returncode == 0, res.stderr                     # a slow machine does not fail the run
    assert "warning: time targets missed" in res.stderr and "good:good_seconds" in res.stderr
    assert "| good_seconds | 99 | 60 | s | lower | slow |" in (tmp_path/"r"/"report.md").read_text()

def test_missed_target_is_a_failure(toy_nbs, tmp_path):
    res = run_partlab("repro", "--nbs", toy_nbs, "--only", "good", "--out", tmp_path/"r", "--no-progress", "-p", "scale", "0.5")
    assert res.returncode == 1 and "good:good_scale" in res.stderr
    assert "| good_scale | 0.5 | 1 |  | higher | FAIL |" in (tmp_path/"r"/"report.md").read_text()

@pytest.mark.parametrize("args, message", [
    (["--only", "nosuch"], "unknown notebook 'nosuch'"),
    (["--profile", "huge"], "invalid choice: 'huge'"),
    (["-p", "nosuchparam", "3"], "declares no parameter 'nosuchparam'"),
    (["--device", "tpu"], "invalid choice: 'tpu'"),
])
def test_bad_requests_exit_2_before_running(toy_nbs, tmp_path, args, message):
    out = tmp_path/"never"
    res = run_partlab("repro", "--nbs", toy_nbs, "--out", out, "--no-progress", *args)
    assert res.returncode == 2 and message in res.stderr, res.stderr
    assert not out.exists()                                    # nothing ran, nothing was written

def test_unwritable_out_exits_2(toy_nbs, tmp_path):
    blocker = tmp_path/"file"; blocker.write_text("not a folder")
    res = run_partlab("repro", "--nbs", toy_nbs, "--out", blocker/"sub", "--no-progress")
    assert res.returncode == 2 and "cannot write to the output folder" in res.stderr and str(blocker) in res.stderr

def test_repro_runs_the_projects_geometry_chapter(geometry_repro):
    metrics = json.loads((geometry_repro/"geometry"/"metrics.json").read_text())
    assert metrics, "the geometry chapter wrote no metrics"
    for name, m in metrics.items():
        if m["target"] is not None:
            assert (m["value"] >= m["target"]) if m["higher_is_better"] else (m["value"] <= m["target"]), (name, m)
    assert "geometry" in (geometry_repro/"report.html").read_text()

def test_check_export_catches_a_notebook_changed_without_export(tmp_path):
    from partlab.cli import check_export
    for name in ("nbs", "partlab"): shutil.copytree(ROOT/name, tmp_path/name, ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    shutil.copy(ROOT/"settings.ini", tmp_path/"settings.ini")
    assert check_export(tmp_path) == []
    nb = tmp_path/"nbs"/"06_io.ipynb"
    nb.write_text(nb.read_text().replace("def atomic_write_text(", "def atomic_write_text2("))
    problems = check_export(tmp_path)
    assert any("partlab/io.py: differs" in p for p in problems), problems
    (tmp_path/"partlab"/"stray.py").write_text("x = 1\n")
    assert any("partlab/stray.py: not made by any notebook" in p for p in check_export(tmp_path))

def test_doctor_checks_the_stack():
    res = run_partlab("doctor")
    assert res.returncode == 0, res.stderr
    assert "torch       2.11.0" in res.stdout and "pytorch3d   0.7.9" in res.stdout

def test_world_command_and_data_check(tmp_path):
    out = tmp_path/"world"
    res = run_partlab("world", "--out", out, "--seed", "3", "--profile", "quick", "--no-progress", "--only", "kitti360,editing")
    assert res.returncode == 0, res.stderr[-2000:]
    summary = json.loads((out/"world.json").read_text())      # the whole world is written by tests/test_world.py
    assert summary["synthetic"] is True and summary["parts"] == ["kitti360", "editing"] and (out/"editing"/"truth"/"annotations.json").is_file()
    res = run_partlab("data", "check", "kitti360", "--root", out/"kitti360")
    assert res.returncode == 0 and "looks complete" in res.stderr, res.stdout + res.stderr
    (out/"kitti360"/"calibration"/"perspective.txt").unlink()                # break it: named in the report, exit 1
    res = run_partlab("data", "check", "kitti360", "--root", out/"kitti360")
    assert res.returncode == 1 and "perspective.txt" in res.stdout, res.stdout + res.stderr
    res = run_partlab("data", "check", "nosuchset", "--root", out)
    assert res.returncode == 2 and "unknown dataset 'nosuchset'" in res.stderr
