"""VSRD's goal check on a held-out world: the whole pipeline, as a user runs it, on full-size frames of a seed the
ablation never saw. Writes the full world's KITTI-360 part for `--seed` (skipped when `--world` already holds it),
annotates and samples it, labels every `--stride`-th sampled target (at most `--max-targets`) under torchrun with
`--nproc` CPU processes, then predicts, converts and evaluates, and prints one JSON object: the evaluation (mean 3D IoU
over every visible car of every frame of the labelled groups, unlabelled cars counting 0; KITTI's AP_3D|R40 at 0.5
and 0.3, moderate), the labelled targets, their steps and seconds, each target's mean 3D IoU of the cars it labelled,
and the commands it ran.

    python benchmarks/vsrd_heldout.py --world W1 --seed 1 --out O1 --stride 13 --max-targets 6 --nproc 2

Every step resumes: a second run relabels nothing and only evaluates again."""
import argparse, json, os, platform, shutil, subprocess, sys, time
from pathlib import Path

def run(cmd: list[str], log: list) -> None:
    "Run one command (its output to stderr: stdout is this script's JSON), record it, stop with its status when it fails."
    log.append(" ".join(cmd))
    print("+", log[-1], file=sys.stderr, flush=True)
    done = subprocess.run(cmd, stdout=sys.stderr)
    if done.returncode: sys.exit(done.returncode)

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--world", required=True, help="where the world goes (or is)")
    ap.add_argument("--seed", type=int, default=1, help="the world's seed (the ablation used 0)")
    ap.add_argument("--out", required=True, help="the labelling run's folder")
    ap.add_argument("--profile", default="full", help="VSRD profile (default full)")
    ap.add_argument("--stride", type=int, default=13, help="every k-th sampled target")
    ap.add_argument("--max-targets", type=int, default=6)
    ap.add_argument("--nproc", type=int, default=2, help="torchrun processes (one torch thread each)")
    args = ap.parse_args(argv)
    partlab = shutil.which("partlab") or str(Path(sys.executable).parent/"partlab")
    world, out, log = Path(args.world), Path(args.out), []
    root = world/"kitti360"
    meta = json.loads((world/"world.json").read_text()) if (world/"world.json").exists() else {}
    if meta.get("seed") != args.seed or meta.get("profile", "full") != "full":
        if world.exists() and any(world.iterdir()): ap.error(f"--world {world}: holds another world; give an empty folder")
        run([partlab, "world", "--out", str(world), "--profile", "full", "--only", "kitti360", "--seed", str(args.seed)], log)
    run([partlab, "vsrd", "annotate", "--root", str(root), "--no-progress"], log)
    run([partlab, "vsrd", "sample", "--root", str(root)], log)
    t0 = time.perf_counter()
    run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(args.nproc), partlab, "vsrd", "label",
         "--root", str(root), "--out", str(out), "--profile", args.profile, "--target-stride", str(args.stride),
         "--max-targets", str(args.max_targets), "--no-progress", "--threads", "1"], log)
    wall = time.perf_counter() - t0
    for step in ("predict", "convert", "evaluate"):
        run([partlab, "vsrd", step, "--root", str(root), "--out", str(out)], log)
    evaluation = json.loads((out/"evaluation.json").read_text())
    labels = [json.loads(p.read_text()) for p in sorted((out/"labels").glob("*/*.json")) if not p.name.endswith(".skip.json")]
    print(json.dumps({"benchmark": "vsrd_heldout", "seed": args.seed, "profile": args.profile,
                      "cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(), "processes": args.nproc,
                      "targets": [f"{l['sequence']}/{l['target']}" for l in labels],
                      "steps": [l["steps"] for l in labels], "seconds": [round(l["seconds"], 1) for l in labels],
                      "seconds_per_frame": sum(l["seconds"] for l in labels) / max(len(labels), 1),
                      # each label's own record: the mean 3D IoU of its cars (the target's labelled instances) at its last step
                      "labelled_cars": sum(len(l["instance_ids"]) for l in labels),
                      "labelled_mean_iou_3d": [l["history"]["iou_3d"][-1] for l in labels],
                      "label_wall_seconds_this_run": wall, "commands": log,
                      "evaluation": {k: v for k, v in evaluation.items() if k != "kitti"}}))
    return 0

if __name__ == "__main__":
    sys.exit(main())
