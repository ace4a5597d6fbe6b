"Shared helpers for partlab's pytest suite."
import os, subprocess, sys
from pathlib import Path
import nbformat, pytest

ROOT = Path(__file__).resolve().parent.parent
PARTLAB = [str(Path(sys.executable).parent / "partlab")]

def run_partlab(*args, cwd=None, timeout=900):
    "Run the installed `partlab` command as a user would; returns the CompletedProcess."
    env = {k: v for k, v in os.environ.items() if k != "IN_TEST"}
    return subprocess.run([*PARTLAB, *map(str, args)], cwd=cwd or ROOT, capture_output=True, text=True, timeout=timeout, env=env)

def run_torchrun(*args, processes: int = 2, timeout: int = 600):
    "`torchrun --standalone --nproc_per_node N partlab ARGS` (one CPU thread a process); returns the CompletedProcess."
    bin_ = Path(sys.executable).parent
    return subprocess.run([str(bin_ / "torchrun"), "--standalone", "--nproc_per_node", str(processes), str(bin_ / "partlab"),
                           *map(str, args)], capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})

def kill_when_logged(args, out: Path, lines: int, timeout: float = 300) -> int:
    """Start `partlab ARGS`, kill it with SIGKILL once `out/last.pt` exists and `out/train_log.jsonl` has `lines` lines
    (a run cut mid-training); -> the lines logged when it died. Fails if the run ended before it could be killed."""
    import signal, time
    env = {k: v for k, v in os.environ.items() if k != "IN_TEST"}
    proc = subprocess.Popen([*PARTLAB, *map(str, args)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline, log = time.time() + timeout, out / "train_log.jsonl"
    while time.time() < deadline and proc.poll() is None:
        if (out / "last.pt").is_file() and log.is_file() and len(log.read_text().splitlines()) >= lines: break
        time.sleep(0.02)
    assert proc.poll() is None, "the run ended before it could be killed"
    proc.send_signal(signal.SIGKILL); proc.wait()
    return len(log.read_text().splitlines())

def copy_tree(src: Path, dst: Path) -> Path:
    "A copy of the folder `src` at `dst` (a test damages the copy, never the shared fixture) -> `dst`."
    import shutil
    shutil.copytree(src, dst)
    return dst

def write_notebook(path: Path, parameters: str, *cells: str) -> Path:
    "A notebook with a `parameters` cell followed by code cells."
    nb = nbformat.v4.new_notebook()
    p = nbformat.v4.new_code_cell(parameters); p.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {path.stem}"), p, *map(nbformat.v4.new_code_cell, cells)]
    nb.metadata["kernelspec"] = {"name": "partlab", "display_name": "partlab", "language": "python"}
    nbformat.write(nb, str(path))
    return path

@pytest.fixture(scope="session")
def geometry_repro(tmp_path_factory):
    "`partlab repro --only geometry` run once for the session (its report is checked by the CLI and browser tests)."
    out = tmp_path_factory.mktemp("repro")/"g"
    res = run_partlab("repro", "--only", "geometry", "--out", out, "--no-progress")
    assert res.returncode == 0, res.stderr[-3000:]
    return out
