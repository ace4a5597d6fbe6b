"""Pose step 1 throughput: hypothesis-steps per second with partlab's renderer against PyTorch3D's soft silhouette.

One hypothesis-step = project the template under one camera hypothesis, render its soft silhouette, the loss
against the image's mask, backward, one Adam step: `partlab.textured.poses.hypothesis_losses` (the pure step of
`fit_hypotheses`) with the renderer passed in, then the loop's Adam step and `constrain_hypotheses_`. The same
template (the 962-vertex UV sphere deformed into a car-like blob, 1920 faces), the same masks, the same
hypotheses, the same resolution and sigma run through three renderers, side by side in one process:

- `pytorch3d`: MeshRasterizer + SoftSilhouetteShader (sigma and blur radius from `ndc_soft_params`, enough faces
  per pixel that none is dropped), all faces, as PyTorch3D does by default;
- `partlab_tensor`: `fast_soft_silhouette(backend="tensor")` (the GPU path), all faces;
- `partlab_compiled`: `fast_soft_silhouette(backend="compiled", cull_backfaces=True)`, what step 1 runs on a CPU.

The first step of each is a warm-up (compilation) and is not timed. The losses of the first step are printed
so that agreement is visible. Prints ONE JSON object to stdout.

    python benchmarks/poses_step1.py                      # CPU, 64 px, 8 hypotheses, 3 timed steps
    python benchmarks/poses_step1.py --size 128 --hypotheses 40 --device cuda
"""
from __future__ import annotations
import argparse, json, statistics, time
import torch
from _common import add_common_arguments, environment, idle_and_loaded, threads_for
from pytorch3d.renderer import BlendParams, SoftSilhouetteShader, FoVOrthographicCameras
from pytorch3d.structures import Meshes
from partlab.meshes import uv_sphere
from partlab.render.soft import fast_soft_silhouette, ndc_soft_params
from partlab.render.raster import rasterize
from partlab.geometry import matrix_to_quaternion
from partlab.textured.poses import (project_template, to_screen, hypothesis_rotations, initial_scale, hypothesis_losses,
                                    constrain_hypotheses_)


def blob(device):
    "A car-like, mirror-symmetric deformation of the UV sphere (V = 962, F = 1920)."
    v, f, _ = uv_sphere()
    v = v * torch.tensor([0.22, 0.17, 0.5])
    v[:, 1] -= 0.08 * (v[:, 1] < 0) * (v[:, 2].abs() < 0.2)            # a cabin on top
    return v.to(device), f.to(device)


def pytorch3d_silhouette(screen, faces, size, sigma_px):
    "PyTorch3D soft silhouette of screen pixels `(B, V, 3)` = (u, v, depth), the renderer signature of step 1 -> (B, size, size)."
    sigma, blur = ndc_soft_params(sigma_px, (size, size))
    xy = screen[..., :2] / (size / 2) - 1                                # back to crop coordinates (x right, y down)
    verts = torch.cat([-xy, screen[..., 2:]], -1)                        # PyTorch3D NDC: +x left, +y up
    meshes = Meshes(list(verts), [faces] * len(verts))
    cams = FoVOrthographicCameras(device=xy.device)
    frags = rasterize(meshes, cams, (size, size), 60, blur, perspective_correct=False)
    return SoftSilhouetteShader(BlendParams(sigma=sigma))(frags, meshes)[..., 3]


RENDERERS = {   # name -> step 1's renderer signature: render(screen (B, V, 3), faces, size, sigma) -> (B, size, size)
    "pytorch3d": pytorch3d_silhouette,
    "partlab_tensor": lambda screen, faces, size, sigma: fast_soft_silhouette(screen, faces, size, size, sigma, backend="tensor"),
    "partlab_compiled": lambda screen, faces, size, sigma: fast_soft_silhouette(screen, faces, size, size, sigma,
                                                                                cull_backfaces=True, backend="compiled"),
}


def run(render, verts, faces, masks, q0, s0, steps, sigma):
    "`steps` + 1 hypothesis steps (the first untimed) with `render` -> median seconds per step, the first step's losses."
    params = torch.cat([q0, s0[:, None], torch.zeros(len(q0), 2, device=q0.device), torch.full((len(q0), 1), 2.0, device=q0.device)], 1).requires_grad_(True)
    frozen, active = params.detach().clone(), torch.ones(len(q0), dtype=torch.bool, device=q0.device)
    opt = torch.optim.Adam([params], lr=0.1, betas=(0.9, 0.95))
    times, first_loss = [], None
    for step in range(steps + 1):
        if verts.is_cuda: torch.cuda.synchronize()
        t0 = time.perf_counter()
        loss = hypothesis_losses(params, verts, faces, masks, sigma, render).total
        opt.zero_grad(); loss.sum().backward(); opt.step()
        constrain_hypotheses_(params, frozen, active)
        if verts.is_cuda: torch.cuda.synchronize()
        if step: times.append(time.perf_counter() - t0)
        else: first_loss = loss.detach().cpu().tolist()
    return statistics.median(times), first_loss


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--hypotheses", type=int, default=8)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--sigma", type=float, default=0.5, help="squared pixels")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--renderers", default="pytorch3d,partlab_tensor,partlab_compiled")
    add_common_arguments(ap)
    a = ap.parse_args()
    with threads_for(a): main_in(a)

def main_in(a):
    verts, faces = blob(a.device)
    R = hypothesis_rotations()[: a.hypotheses].to(a.device)
    q0, s0 = matrix_to_quaternion(R), initial_scale(verts, R)
    # masks: the blob itself seen from other poses (as if images), hard
    R_img = hypothesis_rotations()[torch.arange(a.hypotheses) * 7 % 40].to(a.device)
    xy, depth = project_template(verts, matrix_to_quaternion(R_img), initial_scale(verts, R_img) * 0.95, torch.zeros(a.hypotheses, 2, device=a.device), torch.full((a.hypotheses,), 2.0, device=a.device))
    masks = (fast_soft_silhouette(to_screen(xy, depth, a.size), faces, a.size, a.size, 0.05, backend="tensor") > 0.5).float()
    result = {"benchmark": "poses_step1", **environment(a, a.device), "size": a.size, "hypotheses": a.hypotheses,
              "faces": int(faces.shape[0]), "sigma_px2": a.sigma, "timed_steps": a.steps, "renderers": {}}
    for name in a.renderers.split(","):
        first = {}
        def measure():
            seconds, first["loss"] = run(RENDERERS[name], verts, faces, masks, q0, s0, a.steps, a.sigma)
            return seconds
        timed = idle_and_loaded(measure, a.load if name != "pytorch3d" else 0)   # PyTorch3D's CPU step takes seconds: idle only
        seconds = timed["idle"]
        result["renderers"][name] = {"seconds_per_step": seconds, "hypothesis_steps_per_second": a.hypotheses / seconds,
                                     "seconds_per_step_loaded": timed["loaded"], "loaded_over_idle": timed["loaded_over_idle"],
                                     "first_step_losses": [round(x, 6) for x in first["loss"]]}
    base = result["renderers"].get("pytorch3d")
    if base:
        for name, r in result["renderers"].items():
            r["speedup_vs_pytorch3d"] = r["hypothesis_steps_per_second"] / base["hypothesis_steps_per_second"]
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
