"""The paper's claim of chapter 21 under variants of the training data: the state-aware detector trained on the world's
common-state images alone (a) and with their 3D part guided edits (b), scored on the held-out test cars (COCO box AP
of the uncommon-state cars, ...), each variant set by `--hflip P` (the probability that a training image is mirrored,
`DetectorConfig.hflip`) and `--per-image K` (edits of each image, `EditConfig.per_image`). The same code path as the
chapter's `#| slow` run: `edit_dataset`, `fit`, `best.pt` by validation box AP, `evaluate_items`; (c) is left out.

Prints ONE JSON object to stdout (about 10 minutes a detector on 2 CPU cores at the quick profile).

    python benchmarks/editing_detector_variants.py --seed 0 --hflip 0.5 --threads 2
    python benchmarks/editing_detector_variants.py --seed 0 --hflip 0 --per-image 3 --sets b --out runs/bench_k3
"""
from __future__ import annotations
import argparse, json, sys, tempfile, time
from pathlib import Path
from _common import add_common_arguments, environment, threads_for
from partlab.editing.edit import EditConfig, edit_dataset
from partlab.editing.detector import DetectorConfig, DetectionSet, fit, load_detector, evaluate_items

KEYS = ("box_ap_uncommon", "box_ap50_uncommon", "mask_ap_uncommon", "box_ap_common", "part_mask_ap", "state_f1_mean", "state_top1")


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=0, help="the world's and the edits' seed (the detector's stays the profile's)")
    ap.add_argument("--hflip", type=float, default=DetectorConfig().hflip)
    ap.add_argument("--per-image", type=int, default=1)
    ap.add_argument("--sets", default="a,b", help="which of a (common only) and b (common + edited), comma-separated")
    ap.add_argument("--out", default=None, help="folder for the world, the edits and the detectors (default: a temp folder)")
    add_common_arguments(ap)
    args = ap.parse_args(argv)
    out = Path(args.out or tempfile.mkdtemp(prefix="editing_variants_"))
    from partlab.world.writers import write_world
    world = out / "world"
    if not (world / "editing_detector" / "test" / "annotations.json").is_file():
        write_world(world, seed=args.seed, profile="quick", progress=False, only=("editing_detector",))
    root = world / "editing_detector"
    common = root / "train_common" / "annotations.json"
    result = {"benchmark": "editing_detector_variants", "seed": args.seed, "hflip": args.hflip, "per_image": args.per_image, "sets": {}}
    with threads_for(args):
        result["environment"] = environment(args)
        edits = edit_dataset(common, None, out / "edited", EditConfig(per_image=args.per_image), args.seed, progress=False)
        result["edits"] = {"images": edits["requests"], "made": edits["made"]}
        files = {"a": [common], "b": [common, out / "edited" / "cus_editing_data.json"]}
        cfg = DetectorConfig.from_overrides("quick", {"checkpoint_every": 150, "hflip": args.hflip})
        test = DetectionSet([(root / "test" / "annotations.json", None)])
        for name in args.sets.split(","):
            t0 = time.perf_counter()
            net, _, best = fit(DetectionSet([(f, None) for f in files[name]]), cfg, out / name, "cpu", progress=False)
            if best["step"]: net, _ = load_detector(out / name / "best.pt", "cpu")
            s = evaluate_items(net, test, device="cpu")
            result["sets"][name] = {**{k: round(100 * s[k], 2) for k in KEYS}, "best_step": best["step"],
                                    "seconds": round(time.perf_counter() - t0, 1)}
            print(name, json.dumps(result["sets"][name]), file=sys.stderr, flush=True)
    if {"a", "b"} <= set(result["sets"]):
        result["b_minus_a_box_ap_uncommon"] = round(result["sets"]["b"]["box_ap_uncommon"] - result["sets"]["a"]["box_ap_uncommon"], 2)
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
