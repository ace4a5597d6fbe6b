"""How GenRen's vision network learns poses from domain-randomised renders under the two cycle-1 pose terms
(`GenRenConfig.hypothesis_loss`): the original's probability-weighted angle and partlab's softmin. The mesh autoencoder is
trained first (the preset's `ae_steps`, `partlab.genren.train.fit_genren`); then, for each loss, a fresh vision network
(same seed) sees the same domain-randomised batches (random poses, two-colour textures of real pixels, the decoded real
shapes) and is scored every `--every` steps on the world's held-out images against their true rotations: Acc30 of the
most probable hypothesis and of the nearest of the four.

Prints ONE JSON object to stdout.

    python benchmarks/genren_hypothesis_loss.py                           # writes a world of 400 car images into a temp folder
    python benchmarks/genren_hypothesis_loss.py --world runs/notebooks/genren/world --steps 1000
"""
from __future__ import annotations
import argparse, json, tempfile, time
from dataclasses import replace
from pathlib import Path
import torch
from _common import add_common_arguments, environment, threads_for
from partlab.genren.model import GenRenConfig, OPTIONS, pose_from_params, rotation_error_deg
from partlab.genren.train import (GenRen, load_genren, held_out, fit_genren, random_pose_params, random_textures, render_image,
                                  _pose_recovery)


def held_out_acc30(model: GenRen, images: torch.Tensor, R: torch.Tensor) -> dict:
    "Acc30 of the most probable and of the nearest hypothesis on `images` whose true rotations are `R`."
    vision, H = model.vision, model.cfg.hypotheses
    vision.eval()
    with torch.no_grad():
        o = vision(images)
        err = rotation_error_deg(pose_from_params(o.params, model.cfg).R, R[:, None].expand(-1, H, -1, -1))
    vision.train()
    best = err[torch.arange(len(images)), o.logits.argmax(1)]
    return {"acc30_most_probable": round(float((best <= 30).float().mean()), 4),
            "acc30_nearest": round(float((err.min(1).values <= 30).float().mean()), 4), "median_error_deg": round(float(best.median()), 2)}


def held_out_world(world: str | None, cfg: GenRenConfig):
    """The world's GenRen cars (`world`, or a world of 400 images and 12 shapes of 8192 points written to a temp folder)
    -> (data, truth by image, held-out indices, their true rotations)."""
    world = Path(world) if world else Path(tempfile.mkdtemp()) / "world"
    if not (world / "genren" / "car" / "truth.json").is_file():
        from partlab.world.writers import write_world
        write_world(world, seed=0, profile="quick", progress=False, only=("genren",), genren_images=400, genren_shapes=12, genren_points=8192)
    root = world / "genren" / "car"
    data = load_genren(root / "images", root / "shapes", cfg)
    truth = json.loads((root / "truth.json").read_text())["images"]
    test = torch.nonzero(held_out(data.names))[:, 0]
    return data, truth, test, torch.tensor([truth[data.names[i]]["R"] for i in test.tolist()])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--options", default="quick", choices=list(OPTIONS))
    ap.add_argument("--world", default=None, help="a world folder with genren/car (default: write one, 400 images, 12 shapes)")
    ap.add_argument("--steps", type=int, default=1000, help="domain-randomised steps of each loss")
    ap.add_argument("--every", type=int, default=100)
    add_common_arguments(ap)
    args = ap.parse_args(argv)
    base = GenRenConfig.named(args.options)
    data, truth, test, R_true = held_out_world(args.world, base)
    with threads_for(args), tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        ae, _ = fit_genren(data, replace(base, steps=base.ae_steps), tmp, progress=False, resume=False)
        ae_seconds = time.perf_counter() - t0
        ae.eval()
        with torch.no_grad(): verts_all = ae.decoder(ae.encoder(data.points[:, :base.points], data.normals[:, :base.points]))[0]
        curves = {}
        for loss in ("weighted", "softmin"):
            cfg = replace(base, hypothesis_loss=loss)
            torch.manual_seed(cfg.seed)
            model = GenRen(cfg)
            opt = torch.optim.Adam(model.vision.parameters(), cfg.lr, betas=(0.5, 0.99), weight_decay=1e-6)
            g, B, H, rows, t0 = torch.Generator().manual_seed(1), cfg.batch, cfg.hypotheses, [], time.perf_counter()
            for step in range(args.steps):
                verts = verts_all[torch.randint(len(verts_all), (B,), generator=g)]
                pose = random_pose_params(B, cfg, g)
                with torch.no_grad(): img = render_image(model, verts, random_textures(B, data.images, cfg, g), pose)
                out = model.vision(img)
                hyp = pose_from_params(out.params, cfg)
                rot = torch.deg2rad(rotation_error_deg(hyp.R, pose.R[:, None].expand(-1, H, -1, -1)))
                trans = ((hyp.t - pose.t[:, None]) ** 2).sum(-1)
                opt.zero_grad(); _pose_recovery(rot, trans, out.logits.softmax(-1), cfg).backward(); opt.step()
                if (step + 1) % args.every == 0: rows.append({"step": step + 1, **held_out_acc30(model, data.images[test], R_true)})
            curves[loss] = {"seconds": round(time.perf_counter() - t0, 1), "curve": rows,
                            "best_acc30_most_probable": max(r["acc30_most_probable"] for r in rows),
                            "last": rows[-1]}
    print(json.dumps({"benchmark": "genren_hypothesis_loss", **environment(args), "options": args.options, "steps": args.steps,
                      "held_out_images": len(test), "autoencoder_steps": base.ae_steps, "autoencoder_seconds": round(ae_seconds, 1),
                      "losses": curves}))


if __name__ == "__main__":
    main()
