"""Run the original VSRD data tools (skmhrk1209/VSRD, tools/kitti_360/make_annotations.py and sample_annotations.py,
unmodified) and partlab's `vsrd annotate` / `vsrd sample` over copies of the same KITTI-360 tree, and compare what they
write, file for file. Used by the dev-only test in test_vsrd_original.py and by hand:

    python tests/vsrd_original.py --vsrd /path/to/VSRD --world quick --seed 4242 [--keep DIR]
    python tests/vsrd_original.py --vsrd /path/to/VSRD --world full-kitti --seed 0

`--vsrd` is a checkout of the original repository (its tools need numpy, opencv, pycocotools, tqdm and
kitti360scripts, which partlab's dev install has). Prints one JSON summary: counts of frames, masks, boxes, groups and
targets on each side, and every disagreement found (none is expected)."""
from __future__ import annotations
import argparse, json, shutil, subprocess, sys, tempfile
from pathlib import Path
import numpy as np

def build_tree(root: Path, world: str, seed: int) -> Path:
    "A synthetic KITTI-360 tree: the quick world's, or the full world's KITTI-360 part (written alone)."
    from partlab.world.writers import write_kitti360, PROFILES
    cfg = PROFILES["quick" if world == "quick" else "full"]
    for s in range(cfg["kitti_sequences"]):
        write_kitti360(root, seed, s, cfg["kitti_frames"], cfg["kitti_cars"], cfg["kitti_size"])
    return root

def run_original(vsrd: Path, tool: str, root: Path, *args: str) -> None:
    res = subprocess.run([sys.executable, str(vsrd/"tools"/"kitti_360"/f"{tool}.py"), "--root_dirname", str(root),
                          "--num_workers", "1", *args], capture_output=True, text=True)
    if res.returncode: raise RuntimeError(f"original {tool}.py failed:\n{res.stderr[-3000:]}")

def run_partlab(*args: str) -> None:
    res = subprocess.run([sys.executable, "-c", "import sys; from partlab.cli import main; sys.exit(main())", *args],
                         capture_output=True, text=True)
    if res.returncode: raise RuntimeError(f"partlab {' '.join(args)} failed:\n{res.stderr[-3000:]}")

def compare_annotations(orig: Path, ours: Path) -> dict:
    "Every annotation JSON of both trees: matrices, masks (RLE strings) and boxes (corners in order, then as point sets)."
    a_files = {p.relative_to(orig) for p in (orig/"annotations").rglob("*.json")}
    b_files = {p.relative_to(ours) for p in (ours/"annotations").rglob("*.json")}
    out = {"frames_original": len(a_files), "frames_partlab": len(b_files), "masks": 0, "boxes_original": 0,
           "boxes_partlab": 0, "heading_errors": 0, "differences": []}
    diff = out["differences"]
    if a_files != b_files: diff.append(f"frames only in one tree: {sorted(map(str, a_files ^ b_files))[:5]}")
    for rel in sorted(a_files & b_files):
        a, b = json.loads((orig/rel).read_text()), json.loads((ours/rel).read_text())
        missing = set(a) - set(b)
        if missing: diff.append(f"{rel}: keys missing in partlab's: {sorted(missing)}")
        for key in ("intrinsic_matrix", "extrinsic_matrix"):
            if not np.allclose(a[key], b[key], atol=1e-9): diff.append(f"{rel}: {key} differs")
        for cls in set(a["masks"]) | set(b["masks"]):
            ma, mb = a["masks"].get(cls, {}), b["masks"].get(cls, {})
            if set(ma) != set(mb): diff.append(f"{rel}: masks of {cls!r}: ids {sorted(ma)} vs {sorted(mb)}"); continue
            out["masks"] += len(ma)
            for i in ma:
                if ma[i]["counts"] != mb[i]["counts"] or list(ma[i]["size"]) != list(mb[i]["size"]):
                    diff.append(f"{rel}: mask {cls}/{i} differs")
        for cls in set(a["boxes_3d"]) | set(b["boxes_3d"]):
            ba, bb = a["boxes_3d"].get(cls, {}), b["boxes_3d"].get(cls, {})
            out["boxes_original"] += len(ba); out["boxes_partlab"] += len(bb)
            if set(ba) != set(bb): diff.append(f"{rel}: boxes of {cls!r}: ids {sorted(ba)} vs {sorted(bb)}"); continue
            for i in ba:
                ca, cb = np.asarray(ba[i]), np.asarray(bb[i])
                if np.allclose(ca, cb, atol=1e-6): continue
                same_set = np.allclose(np.sort(ca, 0), np.sort(cb, 0), atol=1e-6)
                out["heading_errors"] += int(same_set)
                diff.append(f"{rel}: box {cls}/{i} " + ("has its corners in another order" if same_set else "differs"))
    return out

def compare_samples(orig: Path, ours: Path) -> dict:
    "The sampled lists of both trees, byte for byte once each tree's root is replaced by ROOT."
    out = {"lists_original": 0, "lists_partlab": 0, "groups": 0, "targets": 0, "differences": []}
    a_files = {p.relative_to(orig) for p in (orig/"filenames").rglob("*.txt")}
    b_files = {p.relative_to(ours) for p in (ours/"filenames").rglob("*.txt")}
    out["lists_original"], out["lists_partlab"] = len(a_files), len(b_files)
    if a_files != b_files: out["differences"].append(f"lists only in one tree: {sorted(map(str, a_files ^ b_files))}")
    for rel in sorted(a_files & b_files):
        ta = (orig/rel).read_text().replace(str(orig), "ROOT")
        tb = (ours/rel).read_text().replace(str(ours), "ROOT")
        n = len(ta.splitlines())
        out["groups" if rel.name.startswith("grouped") else "targets"] += n
        if ta != tb:
            la, lb = ta.splitlines(), tb.splitlines()
            first = next((k for k in range(max(len(la), len(lb))) if k >= len(la) or k >= len(lb) or la[k] != lb[k]), None)
            out["differences"].append(f"{rel}: {len(la)} vs {len(lb)} lines; first difference at line {first}")
    return out

def compare(vsrd: Path, tree: Path, work: Path, sample_args: dict) -> dict:
    "Copy `tree` twice under `work`, run both tools, compare."
    orig, ours = work/"original", work/"partlab"
    for d in (orig, ours):
        if d.exists(): shutil.rmtree(d)
        shutil.copytree(tree, d)
    run_original(vsrd, "make_annotations", orig)
    run_partlab("vsrd", "annotate", "--root", str(ours), "--no-progress")
    run_original(vsrd, "sample_annotations", orig, "--num_instance_ratio", str(sample_args["ratio"]),
                 "--num_source_frames", str(sample_args["sources"]), "--min_mask_area", str(sample_args["area"]),
                 "--min_box_size", str(sample_args["side"]))
    run_partlab("vsrd", "sample", "--root", str(ours), "--min-overlap", str(sample_args["ratio"]),
                "--num-sources", str(sample_args["sources"]), "--min-area", str(sample_args["area"]),
                "--min-box-side", str(sample_args["side"]))
    return {"annotations": compare_annotations(orig, ours), "samples": compare_samples(orig, ours)}

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vsrd", required=True, help="a checkout of skmhrk1209/VSRD")
    ap.add_argument("--world", default="quick", choices=["quick", "full-kitti"])
    ap.add_argument("--seed", type=int, default=4242)
    ap.add_argument("--keep", default=None, help="work folder to keep (default: a temporary one)")
    ap.add_argument("--ratio", type=float, default=0.5); ap.add_argument("--sources", type=int, default=16)
    ap.add_argument("--area", type=int, default=None); ap.add_argument("--side", type=int, default=None)
    a = ap.parse_args()
    work = Path(a.keep or tempfile.mkdtemp(prefix="vsrd-original-"))
    tree = build_tree(work/"tree", a.world, a.seed)
    scale = 704 / 1408 if a.world == "quick" else 1.0                       # the quick world's images are half size
    args = {"ratio": a.ratio, "sources": a.sources, "area": a.area if a.area is not None else int(128 * scale ** 2),
            "side": a.side if a.side is not None else int(16 * scale)}
    print(json.dumps({"world": a.world, "seed": a.seed, "sampling": args, **compare(Path(a.vsrd), tree, work, args)}, indent=1))

if __name__ == "__main__":
    main()
