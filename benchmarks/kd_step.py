"""Training speed of the pose-distillation networks (`partlab kd teacher|student`): one optimiser step of the teacher
(image + point cloud, pose loss + InfoNCE_KD) and of the student alone, KL-distilled and KL + contrastive (three views
per image, the frozen teacher's forward included), on the same random crops and clouds, side by side in one process.

Prints ONE JSON object to stdout: images per second of each (the student's count the three views as one image, as a
user's epoch does).

    python benchmarks/kd_step.py                                  # CPU, quick profile, 5 timed steps each
    python benchmarks/kd_step.py --profile full --device cuda --repeats 10
"""
from __future__ import annotations
import argparse, json
from pathlib import Path
import torch
from _common import add_common_arguments, environment, threads_for, idle_and_loaded, step_ms
from partlab.kd.model import KDConfig, ViewpointNet
from partlab.kd.train import PoseSet, TRAIN, teacher_step, student_step


def random_set(cfg: KDConfig, n: int, g: torch.Generator) -> PoseSet:
    "n random crops of the profile's size with random viewpoints, 4 CAD models' clouds."
    angles = torch.stack([torch.rand(n, generator=g) * 360, torch.rand(n, generator=g) * 60 - 10, torch.rand(n, generator=g) * 20 - 10], -1)
    return PoseSet(Path("."), "random", [], torch.randint(0, 256, (n, 3, cfg.crop, cfg.crop), dtype=torch.uint8, generator=g), angles,
                   ["c"] * n, torch.full((n,), TRAIN), torch.rand(4, 2 * cfg.points, 3, generator=g), torch.arange(n) % 4, ())


def bench(cfg: KDConfig, args, role: str, mode: str) -> dict:
    dev = args.device
    g = torch.Generator().manual_seed(0)
    batch = cfg.teacher_batch if role == "teacher" else cfg.student_batch
    data = random_set(cfg, 4 * batch, g)
    torch.manual_seed(0)
    net = ViewpointNet(cfg, role == "teacher").to(dev)
    teacher = ViewpointNet(cfg, True).to(dev).eval().requires_grad_(False) if mode in ("kl", "kl+contrastive") else None
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)

    def step():
        idx = torch.randperm(len(data.angles), generator=g)[:batch]
        out = (teacher_step(net, data, idx, cfg, g, dev) if role == "teacher" else
               student_step(net, teacher, data, idx, cfg, g, dev, mode == "kl+contrastive"))
        opt.zero_grad(set_to_none=True); out["loss"].backward(); opt.step()
        if dev == "cuda": torch.cuda.synchronize()

    measure = lambda: step_ms(step, args.repeats)

    step()                                                              # warm-up, untimed
    timing = idle_and_loaded(measure, args.load)
    return {"role": role, "mode": mode, "batch": batch, "step_ms": round(timing["idle"], 2),
            "images_per_second": round(1e3 * batch / timing["idle"], 1),
            "step_ms_loaded": None if timing["loaded"] is None else round(timing["loaded"], 2), "loaded_over_idle": timing["loaded_over_idle"]}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--profile", default="quick", choices=list(KDConfig.PROFILES))
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    add_common_arguments(ap)
    args = ap.parse_args(argv)
    cfg = KDConfig.named(args.profile)
    with threads_for(args):
        runs = [bench(cfg, args, "teacher", "teacher")] + [bench(cfg, args, "student", m) for m in ("alone", "kl", "kl+contrastive")]
    alone = runs[1]["step_ms"]
    print(json.dumps({"benchmark": "kd_step", **environment(args, args.device), "profile": args.profile, "crop": cfg.crop,
                      "runs": runs, "student_kl_contrastive_over_alone": round(runs[3]["step_ms"] / alone, 3)}))


if __name__ == "__main__":
    main()
