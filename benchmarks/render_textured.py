"""Time the renderer the mesh estimation network trains with (`render_uv` for texture + parts, `fast_soft_silhouette` for
alpha) against PyTorch3D's textured soft rasteriser (`MeshRasterizer` with a blur radius and K faces per pixel,
`TexturesUV`, `SoftSilhouetteShader`) on the same batch, forward + backward; and one training step of the network.

Both renderers get the same displaced UV spheres under the same poses (the chapter's camera), the same texture
`(B, 3 + parts, t, t)` and the same sigma. Prints ONE JSON object to stdout.

    python benchmarks/render_textured.py                  # CPU, 64 and 128 px, batch 8
    python benchmarks/render_textured.py --sizes 256 --batch 32 --device cuda
"""
from __future__ import annotations
import argparse, json, math, time
import torch
from _common import add_common_arguments, environment, threads_for, idle_and_loaded
from pytorch3d.renderer import (BlendParams, FoVOrthographicCameras, MeshRasterizer, RasterizationSettings,
                                SoftSilhouetteShader, TexturesUV)
from pytorch3d.structures import Meshes
from partlab.geometry import random_rotations, matrix_to_quaternion
from partlab.render.soft import fast_soft_silhouette, ndc_soft_params
from partlab.render.textures import render_uv
from partlab.textured.poses import project_template, to_screen
from partlab.textured.reconstruct import ReconstructConfig, ReconstructionNet, SphereMaps, displaced_verts, mirror_half


def timed(fn, repeats: int, device: str):
    times, out = [], None
    for _ in range(repeats):
        if device == "cuda": torch.cuda.synchronize()
        t0 = time.perf_counter(); out = fn()
        if device == "cuda": torch.cuda.synchronize()
        times.append(1e3 * (time.perf_counter() - t0))
    return sorted(times)[len(times) // 2], out


def bench(size: int, args) -> dict:
    dev, B, P = args.device, args.batch, args.parts
    g = torch.Generator().manual_seed(0)
    maps = SphereMaps.build()
    disp = mirror_half(0.05 * torch.randn(B, 3, 32, 16, generator=g), negate=1)
    verts0 = displaced_verts(disp, maps).to(dev)
    q = matrix_to_quaternion(random_rotations(B, g)).to(dev)
    scale, trans, z0 = torch.full((B,), 1.5, device=dev), torch.zeros(B, 2, device=dev), torch.full((B,), 2.0, device=dev)
    texture0 = torch.rand(B, 3 + P, args.texture, args.texture, generator=g).to(dev)
    faces, cuv = maps.faces.to(dev), maps.corner_uvs.to(dev)
    w = torch.rand(B, 3 + P + 1, size, size, generator=g).to(dev)
    sigma_ndc, blur_ndc = ndc_soft_params(args.sigma, (size, size))

    def ours():
        v, t = verts0.clone().requires_grad_(True), texture0.clone().requires_grad_(True)
        xy, depth = project_template(v, q, scale, trans, z0)
        screen = to_screen(xy, depth, size)
        r = render_uv(screen, faces, cuv, t, size, size)
        alpha = fast_soft_silhouette(screen, faces, size, size, args.sigma)
        loss = (torch.cat([r.image, alpha[:, None]], 1) * w).sum()
        return torch.autograd.grad(loss, [v, t])

    cams = FoVOrthographicCameras(R=torch.eye(3, device=dev)[None].expand(B, 3, 3), T=torch.zeros(B, 3, device=dev), device=dev)
    idx = torch.arange(3 * len(maps.faces), device=dev).view(-1, 3)
    corner = (cuv.reshape(-1, 2) * torch.tensor([1.0, -1.0], device=dev) + torch.tensor([0.0, 1.0], device=dev))

    def pytorch3d():
        v, t = verts0.clone().requires_grad_(True), texture0.clone().requires_grad_(True)
        xy, depth = project_template(v, q, scale, trans, z0)
        ndc = torch.cat([-xy, depth[..., None]], -1)                       # PyTorch3D's NDC: x left, y up
        tex = TexturesUV(t.permute(0, 2, 3, 1), idx[None].expand(B, -1, -1), corner[None].expand(B, -1, -1), align_corners=False)
        meshes = Meshes(ndc, faces[None].expand(B, -1, -1), tex)
        frags = MeshRasterizer(cams, RasterizationSettings(image_size=size, blur_radius=blur_ndc, faces_per_pixel=args.faces_per_pixel,
                                                           perspective_correct=False))(meshes)
        feats = tex.sample_textures(frags)[..., 0, :] * (frags.pix_to_face[..., :1] >= 0)
        alpha = SoftSilhouetteShader(BlendParams(sigma=sigma_ndc))(frags, meshes)[..., 3]
        loss = (torch.cat([feats.permute(0, 3, 1, 2), alpha[:, None]], 1) * w).sum()
        return torch.autograd.grad(loss, [v, t])

    ours()
    timing = idle_and_loaded(lambda: timed(ours, args.repeats, dev)[0], args.load)
    _, g_ours = timed(ours, 1, dev)
    p3d_ms, g_p3d = timed(pytorch3d, args.pytorch3d_repeats, dev)
    cos = lambda a, b: float(torch.nn.functional.cosine_similarity(a.flatten(), b.flatten(), dim=0))
    return {"size": size, "batch": B, "texture": args.texture, "channels": 3 + P, "faces": len(maps.faces),
            "partlab_ms": round(timing["idle"], 2), "pytorch3d_ms": round(p3d_ms, 2), "speedup": round(p3d_ms / timing["idle"], 2),
            "partlab_ms_loaded": None if timing["loaded"] is None else round(timing["loaded"], 2),
            "loaded_over_idle": timing["loaded_over_idle"],
            "texture_grad_cosine": cos(g_ours[1], g_p3d[1]), "vertex_grad_cosine": cos(g_ours[0], g_p3d[0])}


def network_step(args) -> dict:
    "Images per second of one training step of the quick-profile network (forward, render, backward, Adam)."
    from partlab.textured.reconstruct import render_prediction, reconstruction_losses
    cfg = ReconstructConfig.named(args.profile)
    B, dev = args.batch, args.device
    torch.manual_seed(0)
    maps = SphereMaps.build()
    net = ReconstructionNet(cfg, args.parts).to(dev); opt = torch.optim.Adam(net.parameters(), 1e-4)
    x = torch.randn(B, 4, cfg.image_size, cfg.image_size, device=dev)
    masks = (torch.rand(B, cfg.image_size, cfg.image_size, device=dev) > 0.5).float()
    parts = torch.randint(0, args.parts + 1, (B, cfg.image_size, cfg.image_size), device=dev)
    q = matrix_to_quaternion(random_rotations(B)).to(dev)
    def step():
        d, t, l = net(x)
        r = render_prediction(d, t, l, maps, q, torch.full((B,), 1.5, device=dev), torch.zeros(B, 2, device=dev), torch.full((B,), 2.0, device=dev),
                              cfg.image_size, cfg.sigma)
        out = reconstruction_losses(r, x[:, :3], masks, parts, torch.ones(B, device=dev), maps, cfg, 0, maps.base)
        opt.zero_grad(); out["loss"].backward(); opt.step()
    step()
    ms = timed(step, args.repeats, dev)[0]
    return {"profile": args.profile, "image_size": cfg.image_size, "batch": B, "step_ms": round(ms, 2), "images_per_second": round(1e3 * B / ms, 1)}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[64, 128])
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--texture", type=int, default=32, help="texture side (texels)")
    ap.add_argument("--parts", type=int, default=5, help="part channels besides RGB")
    ap.add_argument("--sigma", type=float, default=0.5, help="soft silhouette sigma (px^2)")
    ap.add_argument("--faces-per-pixel", type=int, default=8, help="PyTorch3D's K")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--pytorch3d-repeats", type=int, default=3)
    ap.add_argument("--profile", default="quick", help="network profile of the training-step figure")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    add_common_arguments(ap)
    args = ap.parse_args(argv)
    with threads_for(args):
        print(json.dumps({"benchmark": "render_textured", **environment(args, args.device),
                          "renderer": [bench(s, args) for s in args.sizes], "network_step": network_step(args)}))


if __name__ == "__main__":
    main()
