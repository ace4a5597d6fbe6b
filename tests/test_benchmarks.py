"""The benchmark scripts' shared parts and the prepared GPU check, without timing anything (times are never asserted)."""
import subprocess, sys

import pytest
import torch
from conftest import ROOT

sys.path.insert(0, str(ROOT/"benchmarks"))
import _common

def test_busy_processes_start_and_stop():
    with _common.busy_processes(2) as procs:
        assert len(procs) == 2 and all(p.poll() is None for p in procs)     # running
    assert all(p.poll() is not None for p in procs)                          # stopped and reaped

def test_idle_and_loaded_reports_both_and_the_ratio():
    calls = []
    def measure():
        calls.append(1); return 2.0 * len(calls)
    assert _common.idle_and_loaded(measure, 0) == {"idle": 2.0, "loaded": None, "loaded_over_idle": None}
    assert _common.idle_and_loaded(measure, 1) == {"idle": 4.0, "loaded": 6.0, "loaded_over_idle": 1.5}

def test_benchmarks_run_under_the_thread_policy(monkeypatch):
    import argparse
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    ap = argparse.ArgumentParser(); _common.add_common_arguments(ap)
    before = torch.get_num_threads()
    with _common.threads_for(ap.parse_args([])): assert torch.get_num_threads() == 1
    with _common.threads_for(ap.parse_args(["--threads", "2"])): assert torch.get_num_threads() == 2
    assert torch.get_num_threads() == before

@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal on a machine without CUDA")
def test_gpu_check_refuses_without_cuda():
    res = subprocess.run(["bash", str(ROOT/"benchmarks"/"gpu_check.sh")], capture_output=True, text=True, timeout=120)
    assert res.returncode == 3 and "no CUDA device is visible" in res.stderr and res.stdout == ""

def test_vsrd_ablation_picks_frames_and_refuses_bad_variants(tmp_path, capsys):
    sys.path.insert(0, str(ROOT/"benchmarks"))
    import vsrd_ablation
    assert vsrd_ablation.spread(77, 10) == [0, 8, 17, 25, 34, 42, 51, 59, 68, 76] and vsrd_ablation.spread(3, 10) == [0, 1, 2]
    with pytest.raises(SystemExit) as e: vsrd_ablation.main(["--root", str(tmp_path), "--variants", "nope"])
    assert e.value.code == 2 and "unknown variant 'nope'" in capsys.readouterr().err
    with pytest.raises(ValueError): vsrd_ablation.main(["--root", str(tmp_path), "--variant", 'x={"no_such_field": 1}'])
    with pytest.raises(ValueError, match="box_rounding"): vsrd_ablation.main(["--root", str(tmp_path), "--variant", 'x={"box_rounding": 0.9}'])
    with pytest.raises(SystemExit) as e: vsrd_ablation.main(["--root", str(tmp_path), "--variant", "x={bad"])
    assert e.value.code == 2 and "not NAME=JSON" in capsys.readouterr().err

def test_vsrd_heldout_refuses_a_folder_holding_another_world(tmp_path, capsys):
    sys.path.insert(0, str(ROOT/"benchmarks"))
    import vsrd_heldout
    (tmp_path/"world.json").write_text('{"seed": 0, "profile": "full"}')
    with pytest.raises(SystemExit) as e: vsrd_heldout.main(["--world", str(tmp_path), "--seed", "1", "--out", str(tmp_path/"o")])
    assert e.value.code == 2 and "holds another world" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["world.json"]          # nothing written
