"""Where GenRen's most probable pose hypothesis goes wrong, and whether the hypothesis probabilities should learn from
cycle 2's image L1 (`GenRenConfig.recon_trains_probability`). For each variant, the whole schedule of the preset is
trained (`partlab.genren.train.fit_genren`) and paused at the end of each stage (domain-randomised pretraining, modes
I and II, the last step) to score the world's held-out images (`evaluate`): Acc30 of the most probable hypothesis, of
the nearest of the four, of the one with the lowest re-rendering L1, the mask IoU and the Chamfer ratio to the medoid.
Pausing resumes exactly (`last.pt`), so each variant's last row is its uninterrupted run.

Prints ONE JSON object to stdout.

    python benchmarks/genren_probability.py                            # writes a world of 400 car images into a temp folder
    python benchmarks/genren_probability.py --world runs/genren/genren/world --threads 2
"""
from __future__ import annotations
import argparse, json, sys, tempfile, time
from dataclasses import replace
import torch
from _common import add_common_arguments, environment, threads_for
from partlab.genren.model import GenRenConfig, OPTIONS, rotation_error_deg
from partlab.genren.train import fit_genren, evaluate, cycle2
from genren_hypothesis_loss import held_out_world

VARIANTS = {"L1 trains p (the original)": {}, "only cycle 1 trains p": {"recon_trains_probability": False}}


@torch.no_grad()
def choices(model, images: torch.Tensor, R: torch.Tensor) -> dict:
    "Acc30 on `images` (true rotations `R`) of the most probable, the nearest and the lowest-L1 hypothesis."
    model.eval()
    out, poses, *_, renders = cycle2(model, images)
    model.train()
    err = rotation_error_deg(poses.R, R[:, None].expand(-1, model.cfg.hypotheses, -1, -1))     # (N, H)
    l1 = (renders - images[:, None]).abs().mean((2, 3, 4))
    ar = torch.arange(len(images))
    acc = lambda e: round(float((e <= 30).float().mean()), 4)
    return {"acc30_most_probable": acc(err[ar, out.logits.argmax(1)]), "acc30_nearest": acc(err.min(1).values),
            "acc30_lowest_l1": acc(err[ar, l1.argmin(1)]),
            "flipped_most_probable": acc((180 - err[ar, out.logits.argmax(1)]).abs())}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--options", default="quick", choices=list(OPTIONS))
    ap.add_argument("--world", default=None, help="a world folder with genren/car (default: write one, 400 images, 12 shapes)")
    add_common_arguments(ap)
    args = ap.parse_args(argv)
    base = GenRenConfig.named(args.options)
    data, truth, test, R_true = held_out_world(args.world, base)
    ends = {"randomised": base.ae_steps + base.dr_steps}
    ends["mode1"] = ends["randomised"] + base.mode1_steps
    ends["mode2"] = ends["mode1"] + base.mode2_steps
    ends["last"] = base.steps
    results = {}
    with threads_for(args):
        for name, changes in VARIANTS.items():
            cfg, rows, t0 = replace(base, **changes), [], time.perf_counter()
            with tempfile.TemporaryDirectory() as tmp:
                for stage, step in ends.items():
                    if step > base.steps: continue
                    model, _ = fit_genren(data, replace(cfg, steps=step), tmp, progress=False, resume=True)
                    s = evaluate(model, data, truth, test)
                    rows.append({"stage": stage, "step": step, **choices(model, data.images[test], R_true),
                                 **{k: round(s[k], 4) for k in ("mask_iou", "chamfer_ratio_medoid", "median_rotation_error_deg")}})
                    print(json.dumps({"variant": name, **rows[-1]}), flush=True, file=sys.stderr)
            results[name] = {"changes": changes, "seconds": round(time.perf_counter() - t0, 1), "stages": rows}
    print(json.dumps({"benchmark": "genren_probability", **environment(args), "options": args.options,
                      "held_out_images": len(test), "variants": results}))


if __name__ == "__main__":
    main()
