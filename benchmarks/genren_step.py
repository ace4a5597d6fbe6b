"""Speed of GenRen's training: one step of each stage of the schedule (`partlab.genren.train.genren_step`: the mesh
autoencoder; domain-randomised pretraining; mode I with cycle 2; modes II and III with the three critics' step and the
adversarial terms: the full cycle) on random images and shapes of the preset's size, side by side in one process.

Prints ONE JSON object to stdout.

    python benchmarks/genren_step.py                                  # CPU, quick preset
    python benchmarks/genren_step.py --options full --device cuda --repeats 10
"""
from __future__ import annotations
import argparse, json
import torch
from _common import add_common_arguments, environment, threads_for, idle_and_loaded, step_ms
from partlab.genren.model import GenRenConfig, OPTIONS
from partlab.genren.train import GenRen, GenRenOptimizers, GenRenData, genren_step, stage_at


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--options", default="quick", choices=list(OPTIONS))
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    add_common_arguments(ap)
    args = ap.parse_args(argv)
    cfg = GenRenConfig.named(args.options)
    dev, S, B = args.device, cfg.image_size, cfg.batch
    g = torch.Generator().manual_seed(0)
    images = torch.rand(4 * B, 4, S, S, generator=g); images[:, 3] = (images[:, 3] > 0.5).float()
    points = torch.nn.functional.normalize(torch.randn(8, 2 * cfg.points, 3, generator=g), dim=-1)
    data = GenRenData([f"i{k:04d}" for k in range(4 * B)], images, [f"s{k}" for k in range(8)], points, points.clone())
    firsts = {"autoencoder": 0, "randomised": cfg.ae_steps, "mode1": cfg.ae_steps + cfg.dr_steps + cfg.mode1_steps // 2,
              "mode2": cfg.ae_steps + cfg.dr_steps + cfg.mode1_steps + 1, "mode3": cfg.steps - 1}
    with threads_for(args):
        torch.manual_seed(0)
        model = GenRen(cfg).to(dev)
        opt = GenRenOptimizers(model, cfg)
        train_idx = torch.arange(len(images))
        stages = {}
        for name, step in firsts.items():
            assert stage_at(step, cfg)[0] == name, (name, step)
            def one(step=step):
                losses = genren_step(model, opt, data, train_idx, torch.arange(B), step, torch.Generator().manual_seed(step), dev)
                opt.zero_grad(); losses["loss"].backward(); opt.step()
                if dev == "cuda": torch.cuda.synchronize()
            one()
            t = idle_and_loaded(lambda: step_ms(one, args.repeats), args.load)
            stages[name] = {"step_ms": round(t["idle"], 2), "images_per_second": round(1e3 * B / t["idle"], 2),
                            "step_ms_loaded": None if t["loaded"] is None else round(t["loaded"], 2), "loaded_over_idle": t["loaded_over_idle"]}
    print(json.dumps({"benchmark": "genren_step", **environment(args, dev), "options": args.options, "batch": B,
                      "image_size": S, "template_vertices": int(model.template.verts.shape[0]), "stages": stages,
                      "full_cycle_iterations_per_second": round(1e3 / stages["mode3"]["step_ms"], 3)}))


if __name__ == "__main__":
    main()
