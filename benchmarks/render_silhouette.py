"""Time PyTorch3D's soft silhouette against partlab's `fast_soft_silhouette`, forward + backward, at equal output.

Both renderers get the same batch (an icosphere ellipsoid seen by `--views` cameras), the same sigma (in squared pixels;
converted to PyTorch3D's squared NDC units by `ndc_soft_params`) and the same cut-off probability `eps`.
PyTorch3D keeps only `faces_per_pixel` faces per pixel, so before timing it we rasterise once without gradients
with a generous K and then use the smallest K that drops no face (its last slot is empty everywhere): the two
renderers then compute the same image, and `max_abs_diff` says how closely. Prints ONE JSON object to stdout.

    python benchmarks/render_silhouette.py                        # CPU, sizes 64 128 256, 320 and 5120 faces, 1 view
    python benchmarks/render_silhouette.py --device cuda --repeats 10 --views 8
"""
from __future__ import annotations
import argparse, json, math, sys, time
import torch
from _common import add_common_arguments, busy_processes, environment, threads_for
from pytorch3d.renderer import BlendParams, SoftSilhouetteShader
from pytorch3d.structures import Meshes
from pytorch3d.utils import ico_sphere
from partlab.geometry import look_at, pinhole, project_to_screen, to_pytorch3d_cameras
from partlab.render.raster import rasterize
from partlab.render.soft import fast_soft_silhouette, ndc_soft_params

LEVEL_OF_FACES = {20 * 4 ** level: level for level in range(7)}      # icosphere level -> 20 * 4^level faces


def scene(n_faces: int, size: int, views: int, device: str):
    "Ellipsoid icosphere with `n_faces` faces seen by `views` cameras around it: verts (B, V, 3), faces (F, 3), K, E."
    sphere = ico_sphere(LEVEL_OF_FACES[n_faces])
    verts = (sphere.verts_packed() * torch.tensor([1.0, 0.8, 1.2]))[None].repeat(views, 1, 1)
    angle = torch.linspace(0, 2 * math.pi, views + 1)[:views]
    eyes = torch.stack([3.2 * angle.sin(), -1.0 - 0.5 * angle.cos(), -3.2 * angle.cos()], -1)
    E, K = look_at(eyes), pinhole(1.1 * size, (size, size), views)
    return verts.to(device), sphere.faces_packed().to(device), K.to(device), E.to(device)


def sync(device: str):
    if device == "cuda": torch.cuda.synchronize()


def timed(fn, repeats: int, device: str) -> tuple[float, torch.Tensor]:
    "Median wall time in ms of `fn()` over `repeats` runs, and its last result."
    times = []
    for _ in range(repeats):
        sync(device); t0 = time.perf_counter()
        result = fn()
        sync(device); times.append(1e3 * (time.perf_counter() - t0))
    return sorted(times)[len(times) // 2], result


def bench(n_faces: int, size: int, args) -> dict:
    verts, faces, K, E = scene(n_faces, size, args.views, args.device)
    sigma_ndc, blur_ndc = ndc_soft_params(args.sigma, (size, size), args.eps)
    cams = to_pytorch3d_cameras(K, E, (size, size))
    weights = torch.rand(args.views, size, size, device=args.device, generator=None)

    probe_k = args.probe_faces_per_pixel           # find the smallest faces_per_pixel that keeps every face
    while True:
        with torch.no_grad():
            probe = rasterize(Meshes(list(verts), [faces] * args.views), cams, (size, size), probe_k, blur_ndc,
                              perspective_correct=False)
        needed = int((probe.pix_to_face >= 0).sum(-1).max())
        if needed < probe_k: break
        probe_k *= 2
    faces_per_pixel = max(needed + 1, 2)

    def pytorch3d_fb():
        v = verts.clone().requires_grad_(True)
        meshes = Meshes(list(v), [faces] * args.views)
        frags = rasterize(meshes, cams, (size, size), faces_per_pixel, blur_ndc, perspective_correct=False)
        image = SoftSilhouetteShader(BlendParams(sigma=sigma_ndc))(frags, meshes)[..., 3]
        grad, = torch.autograd.grad((image * weights).sum(), v)
        return image.detach(), grad

    def ours_fb():
        v = verts.clone().requires_grad_(True)
        image = fast_soft_silhouette(project_to_screen(v, K, E), faces, size, size, args.sigma, args.eps)
        grad, = torch.autograd.grad((image * weights).sum(), v)
        return image.detach(), grad

    ours_fb()                                                              # warm-up (allocations)
    ours_ms, (ours_image, ours_grad) = timed(ours_fb, args.repeats, args.device)
    loaded_ms = None
    if args.load:                                                          # the same timing, with N busy processes
        with busy_processes(args.load): loaded_ms = timed(ours_fb, args.repeats, args.device)[0]
    p3d_ms, (p3d_image, p3d_grad) = timed(pytorch3d_fb, args.pytorch3d_repeats or args.repeats, args.device)
    return {
        "faces": n_faces, "views": args.views, "size": size,
        "pytorch3d_ms": round(p3d_ms, 2), "fast_ms": round(ours_ms, 2), "speedup": round(p3d_ms / ours_ms, 2),
        "fast_ms_loaded": None if loaded_ms is None else round(loaded_ms, 2),
        "fast_loaded_over_idle": None if loaded_ms is None else round(loaded_ms / ours_ms, 3),
        "max_abs_diff": float((ours_image - p3d_image).abs().max()),
        "grad_cosine": float(torch.nn.functional.cosine_similarity(ours_grad.flatten(), p3d_grad.flatten(), dim=0)),
        "pytorch3d_faces_per_pixel": faces_per_pixel,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 256], help="square image sizes (pixels)")
    parser.add_argument("--faces", type=int, nargs="+", default=[320, 5120], choices=sorted(LEVEL_OF_FACES),
                        help="icosphere face counts (20 * 4^level)")
    parser.add_argument("--views", type=int, default=1, help="views rendered per call (the batch of both renderers)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each renderer (median reported)")
    parser.add_argument("--pytorch3d-repeats", type=int, default=1,
                        help="timed runs of PyTorch3D if not --repeats (0: --repeats); its CPU backward takes seconds")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--sigma", type=float, default=1.0, help="SoftRas sigma in squared pixels")
    parser.add_argument("--eps", type=float, default=1e-4, help="faces with coverage probability below eps are cut off")
    parser.add_argument("--probe-faces-per-pixel", type=int, default=64,
                        help="first K of the probe rasterisation (doubled until some slot stays empty)")
    add_common_arguments(parser)
    args = parser.parse_args(argv)
    with threads_for(args): main_in(args)


def main_in(args):
    torch.manual_seed(0)
    results = []
    for n_faces in args.faces:
        for size in args.sizes:
            t0 = time.perf_counter()
            results.append(bench(n_faces, size, args))
            print(f"{n_faces} faces, {size} px: {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    print(json.dumps({
        "benchmark": "soft silhouette forward+backward: PyTorch3D SoftSilhouetteShader vs partlab.render.fast_soft_silhouette",
        **environment(args, args.device), "sigma_px2": args.sigma, "eps": args.eps, "repeats": args.repeats,
        "pytorch3d_repeats": args.pytorch3d_repeats or args.repeats, "results": results,
    }, indent=1))


if __name__ == "__main__":
    main()
