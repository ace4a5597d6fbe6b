"""VSRD: milliseconds per optimisation step and seconds per frame, partlab's renderer against a reference renderer
written the way the original samples and differentiates (uniform samples over 0-100 m per ray, a Python loop over
instances, autograd normals with create_graph=True), side by side in one process on the same scene.

    python benchmarks/vsrd_step.py [--instances 1 4 8] [--steps 30] [--device cpu|cuda] [--size 188 704] [--load 1]

Prints one JSON object. The scene: N parked cars along a street, 9 views from a camera driving past; masks are the
cars' projected boxes. Seconds per frame = ms per step x the profile's steps (3000 full, 400 quick)."""
import argparse, dataclasses, json, statistics, time
import cv2, numpy as np, torch
from _common import add_common_arguments, environment, idle_and_loaded, threads_for
import torch.nn.functional as F
import partlab.vsrd.model as M
from partlab.geometry import box_corners, project_points
from partlab.vsrd.data import View, make_frame_batch, SamplingRule

def street_scene(n_instances: int, n_views: int = 9, size=(188, 704), seed: int = 0) -> list[View]:
    "Views (target first) of `n_instances` boxes parked on both sides of a street, camera moving along +z."
    g = np.random.default_rng(seed)
    H, W = size
    f = 552.55 * W / 1408
    K = np.array([[f, 0, W / 2], [0, f, H * 0.63], [0, 0, 1]])
    centers = np.stack([np.where(np.arange(n_instances) % 2 == 0, -4.3, 4.3) + g.normal(0, 0.2, n_instances),
                        np.full(n_instances, 0.85), 8 + 4.5 * np.arange(n_instances) + g.normal(0, 0.5, n_instances)], -1)
    sizes = np.stack([g.uniform(1.6, 1.9, n_instances), g.uniform(1.45, 1.7, n_instances), g.uniform(3.8, 4.8, n_instances)], -1)
    corners = box_corners(torch.tensor(centers), torch.tensor(sizes), torch.tensor(g.normal(0, 0.1, n_instances))).numpy()
    views = []
    for v in range(n_views):
        z0 = (v - n_views // 2) * 1.2
        E = np.eye(4); E[2, 3] = -z0                                          # world -> camera: a translation along z
        cam = corners + np.array([0, 0, -z0])
        order = np.argsort(-cam[:, :, 2].mean(1))                              # far to near: near cars paint over
        label = np.zeros((H, W), np.int32)
        for k in order:
            if (cam[k, :, 2] < 0.5).any(): continue
            uv = project_points(torch.as_tensor(cam[k]), torch.as_tensor(K))[:, :2].numpy()
            cv2.fillConvexPoly(label, cv2.convexHull(uv.round().astype(np.int32)), int(k + 1))
        masks = {k + 1: label == k + 1 for k in range(n_instances) if (label == k + 1).sum() > 0}
        views.append(View(v, K, E, masks, {k + 1: cam[k] for k in range(n_instances)}, (H, W)))
    return [views[n_views // 2]] + views[:n_views // 2] + views[n_views // 2 + 1:]

def reference_render(origins, dirs, boxes, state, residual_weights=None, n_samples=32, margin=1.0, generator=None,
                     jitter=True, n_uniform=200, far=100.0):
    "The original's way: uniform samples over [0, far] on every ray, one Python call per instance, autograd normals."
    R, N = origins.shape[0], boxes.center.shape[0]
    t = (torch.arange(n_uniform, device=origins.device) + torch.rand(R, n_uniform, device=origins.device, generator=generator)) * far / n_uniform
    points = (origins[:, None] + t[..., None] * dirs[:, None]).detach().requires_grad_(True)   # (R, S, 3)
    sdfs = []
    for k in range(N):                                                      # one closure per instance, as the original
        local = ((points - boxes.center[k]) @ boxes.rotation[k])
        q = local.abs() - boxes.half_size[k]
        sdfs.append(q.clamp(min=0).norm(dim=-1) + q.max(-1).values.clamp(max=0))
    sdf = torch.stack(sdfs, -1)                                             # (R, S, N)
    share = torch.softmax(-sdf / state.tau, -1)
    union = (share * sdf).sum(-1)
    (grad,) = torch.autograd.grad(union.sum(), points, create_graph=True)   # second-order graph, as the original
    cos = (dirs[:, None] * F.normalize(grad, dim=-1)).sum(-1)
    cos = -torch.lerp(F.relu(-cos * 0.5 + 0.5), F.relu(-cos), state.rho)
    delta = t[:, 1:] - t[:, :-1]
    mid, c = 0.5 * (union[:, 1:] + union[:, :-1]), 0.5 * (cos[:, 1:] + cos[:, :-1])
    p, n = torch.sigmoid((mid - c * delta / 2) / state.s), torch.sigmoid((mid + c * delta / 2) / state.s)
    alpha = F.relu((p - n) / (p + 1e-6)).clamp(max=1)
    w = torch.cumprod(torch.cat([torch.ones_like(alpha[:, :1]), 1 - alpha[:, :-1] + 1e-7], -1), -1) * alpha
    masks = (w[..., None] * 0.5 * (share[:, 1:] + share[:, :-1])).sum(1)
    return M.Silhouettes(masks, w.sum(-1), points[:, :1], torch.zeros(R, dtype=torch.long))

def time_steps(batch, config, renderer, steps: int, device: str, repeats: int = 3) -> float:
    "Milliseconds per optimisation step of `optimize_frame` rendering with `renderer`: the median of `repeats` runs."
    M.optimize_frame(batch, dataclasses.replace(config, steps=3, eval_every=10**9), renderer=renderer)   # warm-up
    runs = []
    for _ in range(repeats):
        if device == "cuda": torch.cuda.synchronize()
        t0 = time.perf_counter()
        out = M.optimize_frame(batch, dataclasses.replace(config, steps=steps, eval_every=10**9, early_stop_after=2.0), renderer=renderer)
        if device == "cuda": torch.cuda.synchronize()
        runs.append(1000 * (time.perf_counter() - t0) / out.steps)
    return round(statistics.median(runs), 2)

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--instances", type=int, nargs="+", default=[1, 4, 8])
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--size", type=int, nargs=2, default=[188, 704], metavar=("H", "W"))
    ap.add_argument("--profile", default="quick", choices=["quick", "full"])
    ap.add_argument("--repeats", type=int, default=3, help="timed runs of --steps steps (median reported)")
    ap.add_argument("--skip-reference", action="store_true", help="time partlab's renderer only")
    add_common_arguments(ap)
    args = ap.parse_args()
    with threads_for(args): main_in(args)

def main_in(args):
    config = M.VSRDConfig.named(args.profile)
    rows = []
    for n in args.instances:
        views = street_scene(n, size=tuple(args.size))
        scale = args.size[1] / 1408
        batch = make_frame_batch(views, rule=SamplingRule(min_area=int(128 * scale ** 2), min_box_side=int(16 * scale)), device=args.device)
        timed = idle_and_loaded(lambda: time_steps(batch, config, M.render_instances, args.steps, args.device, args.repeats), args.load)
        ours = timed["idle"]
        ref = None if args.skip_reference else time_steps(batch, config, reference_render, max(3, args.steps // 3), args.device, 1)
        rows.append({"instances": int(batch.instance_ids.numel()), "rays_per_step": config.rays,
                     "partlab_ms_per_step": ours, "partlab_ms_per_step_loaded": timed["loaded"],
                     "loaded_over_idle": timed["loaded_over_idle"], "reference_ms_per_step": None if ref is None else round(ref, 2),
                     "speedup": None if ref is None else round(ref / ours, 2),
                     "partlab_s_per_frame_quick": round(ours * M.VSRDConfig.named("quick").steps / 1000, 1),
                     "partlab_s_per_frame_full_steps": round(ours * M.VSRDConfig.named("full").steps / 1000, 1)})
    print(json.dumps({"benchmark": "vsrd_step", **environment(args, args.device), "profile": args.profile,
                      "image_size": args.size, "steps": args.steps, "repeats": args.repeats, "results": rows}, indent=1))

if __name__ == "__main__":
    main()
