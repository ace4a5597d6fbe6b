"""Training speed of the UV GAN (`partlab textured gan train`): one generator step (`cfg.d_steps` discriminator
steps on real + fake, the generator's step, Adam, the EMA update) of `partlab.textured.gan.gan_step`, unconditional
and class-conditional (the all-class model, projection discriminators), on the same random pseudo-GT batch.

No renderer is in the loop (the GAN trains in UV space), so the figure is real samples per second: the pseudo-GT
samples the discriminators see per second (`batch x d_steps` per generator step). Prints ONE JSON object to stdout.

    python benchmarks/gan_step.py                              # CPU, quick profile, 5 timed steps each
    python benchmarks/gan_step.py --profile full --batch 32 --device cuda --repeats 10
"""
from __future__ import annotations
import argparse, json
import torch
from _common import add_common_arguments, environment, threads_for, idle_and_loaded, step_ms
from partlab.textured.gan import ClassMaps, GANConfig, GANOptimizers, UVData, UVGAN, gan_step


def random_data(cfg: GANConfig, n: int, classes: int, g: torch.Generator) -> UVData:
    "n pseudo-GT-shaped samples of `classes` classes (random textures, alphas and displacement maps)."
    T = cfg.texture_size
    alpha = (torch.rand(n, 1, T, T, generator=g) > 0.4).float()
    return UVData((torch.rand(n, 3, T, T, generator=g) * 2 - 1) * alpha, alpha, 0.02 * torch.randn(n, 3, 32, 32, generator=g),
                  torch.rand(n, 3, 8, 8, generator=g), torch.tensor([[1.0, 0, 0, 0]]).repeat(n, 1), torch.ones(n), torch.zeros(n, 2),
                  torch.full((n,), 2.0), {"category": "c0"}, torch.arange(n) % classes, tuple(f"c{k}" for k in range(classes)))


def bench(cfg: GANConfig, args, classes: int) -> dict:
    dev = args.device
    g = torch.Generator().manual_seed(0)
    data = random_data(cfg, 4 * cfg.batch * cfg.d_steps, classes, g)
    maps = ClassMaps.build([None] * classes)
    torch.manual_seed(0)
    model = UVGAN(cfg).to(dev); opt = GANOptimizers(model, cfg)
    per_step = cfg.batch * cfg.d_steps

    def step():
        idx = torch.randperm(len(data.disp), generator=g)[:per_step]
        out = gan_step(model, opt, data, maps, cfg, idx, g, dev)
        opt.g.zero_grad(set_to_none=True); out["loss"].backward(); opt.step()
        if dev == "cuda": torch.cuda.synchronize()

    measure = lambda: step_ms(step, args.repeats)

    step()                                                              # warm-up, untimed
    timing = idle_and_loaded(measure, args.load)
    return {"classes": classes, "batch": cfg.batch, "d_steps": cfg.d_steps, "texture_size": cfg.texture_size, "width": cfg.width,
            "step_ms": round(timing["idle"], 2), "samples_per_second": round(1e3 * per_step / timing["idle"], 1),
            "generator_steps_per_second": round(1e3 / timing["idle"], 2),
            "step_ms_loaded": None if timing["loaded"] is None else round(timing["loaded"], 2),
            "loaded_over_idle": timing["loaded_over_idle"]}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--profile", default="quick", choices=list(GANConfig.PROFILES))
    ap.add_argument("--batch", type=int, default=0, help="real samples per discriminator step (default: the profile's)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    add_common_arguments(ap)
    args = ap.parse_args(argv)
    cfg = GANConfig.named(args.profile)
    if args.batch: cfg = GANConfig.from_overrides(cfg, {"batch": args.batch}, source="--batch")
    with threads_for(args):
        plain = bench(cfg, args, 1)
        conditional = bench(GANConfig.from_overrides(cfg, {"classes": ("c0", "c1")}, source="the all-class model"), args, 2)
    print(json.dumps({"benchmark": "gan_step", **environment(args, args.device), "profile": args.profile,
                      "unconditional": plain, "conditional": conditional,
                      "conditional_over_unconditional": round(conditional["step_ms"] / plain["step_ms"], 3)}))


if __name__ == "__main__":
    main()
