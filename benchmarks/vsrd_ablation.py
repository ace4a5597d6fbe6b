"""VSRD at full size: what limits the quality. Runs named variants of the original's settings (profile `paper`) on the
same target frames of an annotated and sampled KITTI-360 root and prints one JSON object: per variant the mean 3D IoU,
the share of boxes at IoU >= 0.5, each instance's error split into centre (depth along the target camera's axis,
lateral, height), size and yaw (mod 180 degrees), the IoU by distance, the seconds per frame, and each frame's
IoU-against-steps curve.

    partlab world --out W --profile full --only kitti360              # ~5 min on 2 cores
    partlab vsrd annotate --root W/kitti360 && partlab vsrd sample --root W/kitti360
    python benchmarks/vsrd_ablation.py --root W/kitti360 --frames 10 --variants paper init_masks init_masks_rounded --jobs 2 > ablation.json

Frames are spread evenly over the sampled targets of every sequence (`--frames N`), or named (`--targets 0,12,40`,
indices into the sampled list). `--jobs N` runs frames in N processes of one torch thread each (a frame takes about
6 minutes at one thread on a 2024 laptop core). `--variant NAME='{"steps": 2000}'` adds a variant of your own
(VSRDConfig fields over the paper profile, checked by VSRDConfig.from_overrides); `--merge FILE` keeps the other variants
of an earlier result on the same targets. Partlab's `full` profile is the variant `init_masks_rounded`."""
import argparse, json, math, os, platform, sys, time
from concurrent.futures import ProcessPoolExecutor
import multiprocessing as mp
import numpy as np

VARIANTS = {
    "paper": {},                                                 # the original's settings (profile paper)
    "init_masks": {"init": "masks"},                             # boxes started in front of their masks, not at 50 m
    "no_residual": {"residual_start": 10 ** 9},                  # boxes only: the residual SDF never switches on
    "match_every_1": {"match_every": 1},                         # re-match boxes to masks every step
    "rays_2000": {"rays": 2000},                                 # twice the rays per step
    "samples_64": {"samples_per_box": 64},                       # twice the samples per ray-box pair
    "no_early_stop": {"early_stop_after": 2.0},                  # never stop early: run every step
    "sharp_from_start": {"tau": (0.1, 0.1), "s": (0.1, 0.1)},    # no annealing of the silhouette temperature
    "box_losses_third": {"box_losses_until": 1 / 3},             # 2D box losses off from the residual's start (step 1000)
    "init_masks_box_losses_third": {"init": "masks", "box_losses_until": 1 / 3},
    "rounded": {"box_rounding": 0.3},                            # boxes with edges of radius 0.3 m (silhouettes and 2D boxes)
    "init_masks_rounded": {"init": "masks", "box_rounding": 0.3},
}

def run_frame(job: tuple) -> dict:
    "One (variant, target) pair in a worker: optimise, then score every instance with ground truth."
    root, name, overrides, index, threads = job
    import torch
    from pathlib import Path
    from partlab.io import cpu_threads
    from partlab.vsrd.model import VSRDConfig, optimize_frame, matched_iou
    from partlab.vsrd.data import (SamplingRule, pick_sources, annotation_path, read_annotation, load_view,
                                   make_frame_batch, canonical_boxes)
    from partlab.vsrd.pipeline import load_samples
    rule = SamplingRule(num_sources=16)
    seq, rec = load_samples(Path(root), rule)[index]
    views = [load_view(read_annotation(annotation_path(root, seq, f)), f) for f in [rec["target"], *pick_sources(rec["sources"], 16)]]
    batch = make_frame_batch(views, rec["instance_ids"], rule, temperature=10.0 * views[0].image_size[1] / 1408)
    cfg = VSRDConfig.from_overrides("paper", overrides)
    with cpu_threads("steps", threads):
        t0 = time.perf_counter()
        res = optimize_frame(batch, cfg, seed=rec["target"])
        seconds = time.perf_counter() - t0
    ids = batch.instance_ids.tolist()
    order = torch.tensor([ids.index(i) for i in res.instance_ids.tolist()])
    iou = matched_iou(res.boxes.corners, order, batch)
    ok = batch.gt_valid[order]
    pc, ps, py = canonical_boxes(res.boxes.corners.double())
    gc, gs, gy = canonical_boxes(batch.gt_corners[order].double().nan_to_num())
    target_px = (batch.soft_targets[batch.pixel_view == 0] > 0.5).sum(0)
    rows = []
    for n in torch.nonzero(ok).flatten().tolist():
        dyaw = (float(py[n] - gy[n]) + math.pi / 2) % math.pi - math.pi / 2
        rows.append({"iou": float(iou[n]), "center_error": float((pc[n] - gc[n]).norm()), "depth_error": float(pc[n, 2] - gc[n, 2]),
                     "lateral_error": float(pc[n, 0] - gc[n, 0]), "height_error": float(pc[n, 1] - gc[n, 1]),
                     "size_error": [float(x) for x in ps[n] - gs[n]], "yaw_error_deg": abs(dyaw) * 180 / math.pi,
                     "distance": float(gc[n, [0, 2]].norm()), "views_visible": int(batch.visible[:, order[n]].sum()),
                     "target_pixels": int(target_px[order[n]])})
    h = res.history.to_json()
    return {"variant": name, "frame": f"{seq}/{rec['target']}", "steps": res.steps, "seconds": seconds, "instances": rows,
            "curve": {"step": h.get("iou_step"), "iou_3d": h.get("iou_3d")}}

def summarise(frames: list[dict]) -> dict:
    "The table row of one variant."
    rows = [r for f in frames for r in f["instances"]]
    if not rows: return {"frames": len(frames), "instances": 0}
    col = lambda k: np.array([np.nan if r.get(k) is None else r[k] for r in rows], float)     # None: not recorded
    med = lambda x: float(np.nanmedian(x)) if np.isfinite(x).any() else None
    dist, iou = col("distance"), col("iou")
    bins = {"0-15m": dist < 15, "15-30m": (dist >= 15) & (dist < 30), "30m+": dist >= 30}
    size = np.abs(np.array([r["size_error"] for r in rows]))
    return {"frames": len(frames), "instances": len(rows), "mean_iou_3d": float(iou.mean()),
            "mean_of_frame_means": float(np.mean([np.mean([r["iou"] for r in f["instances"]]) for f in frames if f["instances"]])),
            "share_iou_50": float((iou >= 0.5).mean()),
            "median_center_error_m": med(col("center_error")),
            "median_abs_depth_error_m": med(np.abs(col("depth_error"))),
            "mean_depth_error_m": float(col("depth_error").mean()),
            "median_abs_lateral_error_m": med(np.abs(col("lateral_error"))),
            "median_abs_height_error_m": med(np.abs(col("height_error"))),
            "median_abs_size_error_m": {"width": med(size[:, 0]), "height": med(size[:, 1]), "length": med(size[:, 2])},
            "median_yaw_error_deg": med(col("yaw_error_deg")),
            "iou_by_distance": {k: (float(iou[m].mean()) if m.any() else None) for k, m in bins.items()},
            "instances_by_distance": {k: int(m.sum()) for k, m in bins.items()},
            "seconds_per_frame": float(np.mean([f["seconds"] for f in frames])),
            "steps_per_frame": float(np.mean([f["steps"] for f in frames]))}

def spread(n_targets: int, n: int) -> list[int]:
    "n indices spread evenly over 0..n_targets-1."
    return sorted({int(round(x)) for x in np.linspace(0, n_targets - 1, min(n, n_targets))})

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", required=True, help="an annotated and sampled KITTI-360 root (partlab vsrd annotate, sample)")
    ap.add_argument("--variants", nargs="+", default=None,
                    help=f"of {', '.join(VARIANTS)} (default: paper init_masks, or none when --variant gives some)")
    ap.add_argument("--variant", action="append", default=[], metavar="NAME=JSON", help="a variant of your own (repeatable)")
    ap.add_argument("--frames", type=int, default=10, help="target frames, spread over the sampled list")
    ap.add_argument("--targets", default="", help="comma-separated indices into the sampled list (instead of --frames)")
    ap.add_argument("--jobs", type=int, default=1, help="worker processes, one torch thread each")
    ap.add_argument("--threads", type=int, default=1, help="torch threads per worker")
    ap.add_argument("--out", default="", help="also write the JSON here (rewritten after every frame)")
    ap.add_argument("--merge", default="", help="an earlier result on the same root and targets: its other variants are kept")
    args = ap.parse_args(argv)
    from pathlib import Path
    from partlab.vsrd.data import SamplingRule
    from partlab.vsrd.model import VSRDConfig
    from partlab.vsrd.pipeline import load_samples
    variants = {}
    for name in args.variants if args.variants is not None else ([] if args.variant else ["paper", "init_masks"]):
        if name not in VARIANTS: ap.error(f"unknown variant {name!r}; the variants are {', '.join(VARIANTS)}")
        variants[name] = VARIANTS[name]
    for text in args.variant:
        name, _, js = text.partition("=")
        try: variants[name] = json.loads(js)
        except json.JSONDecodeError as e: ap.error(f"--variant {text!r}: not NAME=JSON ({e})")
    for name, ov in variants.items(): VSRDConfig.from_overrides("paper", ov)          # bad overrides fail before any work
    targets = load_samples(Path(args.root), SamplingRule(num_sources=16))
    chosen = [int(x) for x in args.targets.split(",")] if args.targets else spread(len(targets), args.frames)
    jobs = [(args.root, name, ov, i, args.threads) for name, ov in variants.items() for i in chosen]
    names = [f"{targets[i][0]}/{targets[i][1]['target']}" for i in chosen]
    kept = {}                                                     # variant -> (overrides, frames) of the --merge file
    if args.merge:
        old = json.loads(Path(args.merge).read_text())
        if old.get("targets") != names or Path(old.get("root", "")).name != Path(args.root).resolve().name:
            ap.error(f"--merge {args.merge}: measured on other targets or another root; nothing merged")
        kept = {n: (v["overrides"], [f for f in old["frames"] if f["variant"] == n]) for n, v in old["variants"].items() if n not in variants}
    done, t0 = [], time.perf_counter()
    result = lambda: {"benchmark": "vsrd_ablation", "root": str(Path(args.root).resolve()), "cpu": platform.processor() or platform.machine(),
                      "cores": os.cpu_count(), "jobs": args.jobs, "threads_per_job": args.threads, "targets": names,
                      "variants": {n: {"overrides": ov, **summarise(fr)} for n, (ov, fr) in kept.items()}
                                  | {n: {"overrides": ov, **summarise([f for f in done if f["variant"] == n])} for n, ov in variants.items()},
                      "frames": [f for _, fr in kept.values() for f in fr] + done, "wall_seconds": time.perf_counter() - t0}
    with ProcessPoolExecutor(args.jobs, mp_context=mp.get_context("spawn")) as pool:
        for frame in pool.map(run_frame, jobs):
            done.append(frame)
            print(f"{frame['variant']} {frame['frame']}: mean 3D IoU {np.mean([r['iou'] for r in frame['instances']]):.3f} "
                  f"in {frame['seconds']:.0f} s, {frame['steps']} steps", file=sys.stderr, flush=True)
            if args.out:                                          # a temporary name, then rename: never half-written
                tmp = Path(args.out).with_suffix(".tmp")
                tmp.write_text(json.dumps(result())); tmp.replace(args.out)
    print(json.dumps(result()))
    return 0

if __name__ == "__main__":
    sys.exit(main())
