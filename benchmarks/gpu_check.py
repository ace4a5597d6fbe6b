"""The steps of benchmarks/gpu_check.sh (run that, not this): each benchmark and a bounded full-profile repro on CUDA,
each under its own time limit, collected into one JSON summary. Exit 3 without CUDA, 1 when a step failed."""
from __future__ import annotations
import importlib.util, json, os, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NEEDED = ["torch", "numpy", "scipy", "cv2", "numba", "pytorch3d", "matplotlib", "tqdm", "papermill", "ipykernel", "nbformat",
          "pycocotools", "pyvista", "pybullet_data"]   # the last two: only the data files the world reads from them

def steps(device: str, smoke: bool) -> list[tuple[str, list[str], int]]:
    "(name, command, time limit in s) of every step; --smoke: tiny sizes to check the plumbing anywhere."
    py, b = sys.executable, str(ROOT/"benchmarks")
    if smoke:
        return [("render_silhouette", [py, f"{b}/render_silhouette.py", "--device", device, "--sizes", "32", "--faces", "320",
                                       "--repeats", "2"], 120),
                ("vsrd_step", [py, f"{b}/vsrd_step.py", "--device", device, "--instances", "1", "--steps", "3", "--repeats", "1",
                               "--skip-reference", "--size", "94", "352"], 120),
                ("repro_full_slice", [py, "-c", "import sys; from partlab.cli import main; sys.exit(main())", "repro", "--profile",
                                      "quick", "--device", device, "--no-progress", "--only", "geometry", "--out", "{out}/repro"], 300)]
    return [
        ("render_silhouette", [py, f"{b}/render_silhouette.py", "--device", device, "--sizes", "128", "256", "--faces", "320", "5120",
                               "--views", "8", "--repeats", "10", "--pytorch3d-repeats", "3"], 90),
        ("poses_step1", [py, f"{b}/poses_step1.py", "--device", device, "--size", "128", "--hypotheses", "40", "--steps", "10",
                         "--renderers", "pytorch3d,partlab_tensor"], 60),   # the compiled renderer is CPU-only
        ("remesh_step", [py, f"{b}/remesh_step.py", "--device", device, "--profile", "full", "--steps", "20"], 60),
        ("render_textured", [py, f"{b}/render_textured.py", "--device", device, "--sizes", "128", "256", "--batch", "32",
                             "--repeats", "10"], 90),
        ("gan_step", [py, f"{b}/gan_step.py", "--device", device, "--profile", "full", "--batch", "8", "--repeats", "5"], 90),
        ("kd_step", [py, f"{b}/kd_step.py", "--device", device, "--profile", "full", "--repeats", "5"], 90),
        ("editing_step", [py, f"{b}/editing_step.py", "--device", device, "--profile", "full", "--repeats", "5"], 120),
        ("genren_step", [py, f"{b}/genren_step.py", "--device", device, "--options", "full", "--repeats", "5"], 90),
        ("vsrd_step", [py, f"{b}/vsrd_step.py", "--device", device, "--profile", "full", "--size", "376", "1408",
                       "--instances", "1", "4", "8", "--steps", "30"], 90),
        ("repro_full_slice", [py, "-c", "import sys; from partlab.cli import main; sys.exit(main())", "repro", "--profile", "full", "--device", device, "--no-progress",
                              "--only", "remesh,vsrd", "-p", "vsrd.max_targets", "2",
                              "-p", "remesh.settings", '{"chamfer_steps": 300, "silhouette_steps": 300}',
                              "--out", "{out}/repro"], 240),   # poses: their benchmark (the notebook is launch-bound on a GPU)
    ]

def run_step(name: str, cmd: list[str], limit: int, out: Path) -> dict:
    cmd = [c.replace("{out}", str(out)) for c in cmd]
    t0 = time.perf_counter()
    try:
        res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=limit)
        rc, stdout, stderr = res.returncode, res.stdout, res.stderr
    except subprocess.TimeoutExpired as e:
        rc, stdout, stderr = "timeout", e.stdout or "", e.stderr or ""
        stdout = stdout.decode() if isinstance(stdout, bytes) else stdout
        stderr = stderr.decode() if isinstance(stderr, bytes) else stderr
    row = {"step": name, "rc": rc, "seconds": round(time.perf_counter() - t0, 1), "limit_s": limit}
    try: row["result"] = json.loads(stdout)
    except json.JSONDecodeError: row["stdout_tail"] = stdout[-1500:]
    if rc != 0: row["stderr_tail"] = stderr[-2500:]
    if name.startswith("repro") and (out/"repro"/"run.json").exists():
        run = json.loads((out/"repro"/"run.json").read_text())
        row["result"] = {r["name"]: {"status": r["status"], "seconds": r["seconds"],
                                     "metrics": {k: m["value"] for k, m in r["metrics"].items()}} for r in run["runs"]}
    return row

def main() -> int:
    smoke = "--smoke" in sys.argv[1:]
    import torch
    cuda = torch.cuda.is_available()
    if not cuda and not smoke:
        print("gpu_check: no CUDA device is visible (torch.cuda.is_available() is False); this check needs a GPU, "
              "so nothing was run. On a CPU, run the benchmarks themselves, e.g. python benchmarks/vsrd_step.py --load 1.",
              file=sys.stderr)
        return 3
    device = "cuda" if cuda else "cpu"
    missing = [m for m in NEEDED if importlib.util.find_spec(m) is None]
    out = Path(os.environ.get("OUT") or tempfile.mkdtemp(prefix="gpu_check-"))
    out.mkdir(parents=True, exist_ok=True)
    summary = {"check": "gpu_check", "smoke": smoke, "device": device,
               "gpu": torch.cuda.get_device_name() if cuda else None, "torch": torch.__version__,
               "python": sys.version.split()[0], "missing": missing, "steps": []}
    t0 = time.perf_counter()
    for name, cmd, limit in steps(device, smoke):
        needs = {"repro_full_slice": ["papermill", "ipykernel", "pyvista", "pybullet_data"]}.get(name, []) + ["pytorch3d", "numba", "cv2", "pycocotools"]
        lacking = [m for m in needs if m in missing]
        if lacking: summary["steps"].append({"step": name, "rc": "skipped", "why": f"not importable here: {', '.join(lacking)}"}); continue
        summary["steps"].append(run_step(name, cmd, limit, out))
        print(f"gpu_check: {name}: {summary['steps'][-1]['rc']} in {summary['steps'][-1]['seconds']} s", file=sys.stderr, flush=True)
    summary["seconds"] = round(time.perf_counter() - t0, 1)
    text = json.dumps(summary, indent=1)
    (out/"gpu_check.json").write_text(text)
    print(text)
    return 0 if all(s["rc"] == 0 for s in summary["steps"]) else 1

if __name__ == "__main__":
    sys.exit(main())
