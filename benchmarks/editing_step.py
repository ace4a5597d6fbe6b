"""Speed of the part guided editing chapter: edits per second (`partlab editing edit`: one car opened, closed and
opened scenes rendered, lighting fitted, colours lifted, composited; on the CPU) on the world's editing pairs, and
the state-aware detector's training images per second (`partlab editing train`: one SGD step of the double-backbone
Mask R-CNN on random images with one to three box-and-mask targets), side by side in one process.

Prints ONE JSON object to stdout.

    python benchmarks/editing_step.py                                  # CPU, quick profile
    python benchmarks/editing_step.py --profile full --device cuda --repeats 10
"""
from __future__ import annotations
import argparse, json, tempfile
from pathlib import Path
import torch
from _common import add_common_arguments, environment, threads_for, idle_and_loaded, step_ms
from partlab.editing.edit import EditConfig, Car, edit_car
from partlab.editing.detector import DetectorConfig, build_detector
from partlab.datasets.coco_cus import load_cus
from partlab.datasets.part_models import read_part_model


def edit_bench(args, size) -> dict:
    from partlab.world.writers import write_edit_pairs
    root = Path(tempfile.mkdtemp()) / "editing"
    write_edit_pairs(root, 0, 4, 1, size)
    ds = load_cus(root / "common" / "annotations.json")
    items = []
    for k, image_id in enumerate(ds.image_ids):
        a = ds.annotations(image_id)[0]
        cam = a["camera"]
        car = Car(read_part_model(root / "common" / a["model"]), torch.tensor(cam["K"]), torch.tensor(cam["R"]), torch.tensor(cam["t"]), a)
        items.append((ds[k]["image"], car, ds[k]["masks"][0]))
    cfg = EditConfig(min_part_pixels=1)
    k = [0]
    def step():
        image, car, mask = items[k[0] % len(items)]; k[0] += 1
        edit_car(image, [car], 0, "bonnet", 45.0, cfg, mask)
    step()
    timing = idle_and_loaded(lambda: step_ms(step, args.repeats), args.load)
    return {"image_hw": list(size), "edit_ms": round(timing["idle"], 2), "edits_per_second": round(1e3 / timing["idle"], 2),
            "edit_ms_loaded": None if timing["loaded"] is None else round(timing["loaded"], 2), "loaded_over_idle": timing["loaded_over_idle"]}


def detector_bench(cfg: DetectorConfig, args) -> dict:
    dev = args.device
    g = torch.Generator().manual_seed(0)
    H, W = cfg.min_size, cfg.max_size
    def sample():
        n = int(torch.randint(1, 4, (1,), generator=g))
        x1 = torch.rand(n, generator=g) * W * 0.5; y1 = torch.rand(n, generator=g) * H * 0.5
        boxes = torch.stack([x1, y1, x1 + W * 0.3, y1 + H * 0.3], -1)
        masks = torch.zeros(n, H, W, dtype=torch.uint8)
        for j, (a, b, c, d) in enumerate(boxes.long().tolist()): masks[j, b:d, a:c] = 1
        labels = 1 + torch.randint(2, (n,), generator=g)
        return (torch.rand(3, H, W, generator=g).to(dev),
                {"boxes": boxes.to(dev), "labels": labels.to(dev), "masks": masks.to(dev), "part_masks": masks.to(dev),
                 "states": (torch.rand(n, 6, generator=g) < 0.2).long().to(dev)})
    batch = [sample() for _ in range(cfg.batch)]
    torch.manual_seed(0)
    net = build_detector(cfg).to(dev).train()
    opt = torch.optim.SGD(net.parameters(), lr=1e-3, momentum=0.9)
    def step():
        losses = net([b[0] for b in batch], [b[1] for b in batch])
        opt.zero_grad(set_to_none=True); sum(losses.values()).backward(); opt.step()
        if dev == "cuda": torch.cuda.synchronize()
    step()
    timing = idle_and_loaded(lambda: step_ms(step, args.repeats), args.load)
    return {"image_hw": [H, W], "batch": cfg.batch, "backbone": cfg.backbone, "step_ms": round(timing["idle"], 2),
            "images_per_second": round(1e3 * cfg.batch / timing["idle"], 2),
            "step_ms_loaded": None if timing["loaded"] is None else round(timing["loaded"], 2), "loaded_over_idle": timing["loaded_over_idle"]}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--profile", default="quick", choices=list(DetectorConfig.PROFILES))
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--edit-size", type=int, nargs=2, default=(192, 256), metavar=("H", "W"))
    add_common_arguments(ap)
    args = ap.parse_args(argv)
    cfg = DetectorConfig.named(args.profile)
    with threads_for(args):
        edit, det = edit_bench(args, tuple(args.edit_size)), detector_bench(cfg, args)
    print(json.dumps({"benchmark": "editing_step", **environment(args, args.device), "profile": args.profile,
                      "edit": edit, "detector": det}))


if __name__ == "__main__":
    main()
