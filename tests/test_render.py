"fast_soft_silhouette against PyTorch3D's SoftSilhouetteShader on a small case: image, vertex gradients, finiteness."
import math
import pytest
import torch
from pytorch3d.renderer import BlendParams, SoftSilhouetteShader
from pytorch3d.structures import Meshes
from pytorch3d.utils import ico_sphere
from partlab.geometry import look_at, pinhole, project_to_screen, to_pytorch3d_cameras
from partlab.render.raster import rasterize
from partlab.render.soft import fast_soft_silhouette, ndc_soft_params

H, W = 24, 32


@pytest.fixture(scope="module")
def case():
    torch.manual_seed(0)
    sphere = ico_sphere(1)
    verts = (sphere.verts_packed() * torch.tensor([1.0, 0.7, 1.3]))[None].repeat(2, 1, 1)
    E = look_at(torch.tensor([[0.3, -1.0, -3.0], [2.5, -0.5, -2.0]]))
    K = pinhole(28.0, (H, W), 2)
    return verts, sphere.faces_packed(), K, E


def render_both(verts, faces, K, E, sigma_px=1.0, backend="auto", cull=False):
    weights = torch.rand(2, H, W, generator=torch.Generator().manual_seed(1))
    v = verts.clone().requires_grad_(True)
    ours = fast_soft_silhouette(project_to_screen(v, K, E), faces, H, W, sigma=sigma_px, backend=backend, cull_backfaces=cull)
    grad_ours, = torch.autograd.grad((ours * weights).sum(), v)
    sigma_ndc, blur_ndc = ndc_soft_params(sigma_px, (H, W))
    v = verts.clone().requires_grad_(True)
    meshes = Meshes(list(v), [faces] * 2)
    frags = rasterize(meshes, to_pytorch3d_cameras(K, E, (H, W)), (H, W), 64, blur_ndc, perspective_correct=False,
                      cull_backfaces=cull)
    assert (frags.pix_to_face[..., -1] < 0).all(), "faces_per_pixel too small for an exact comparison"
    ref = SoftSilhouetteShader(BlendParams(sigma=sigma_ndc))(frags, meshes)[..., 3]
    grad_ref, = torch.autograd.grad((ref * weights).sum(), v)
    return ours, ref, grad_ours, grad_ref


@pytest.mark.parametrize("backend", ["compiled", "tensor"])
@pytest.mark.parametrize("cull", [False, True])
def test_image_and_gradients_agree_with_pytorch3d(case, backend, cull):
    ours, ref, grad_ours, grad_ref = render_both(*case, backend=backend, cull=cull)
    assert ours.shape == ref.shape == (2, H, W)
    assert 0.05 < ref.mean() < 0.95                             # the mesh is in view, not filling it
    assert (ours - ref).abs().max() < 1e-4
    cosine = torch.nn.functional.cosine_similarity(grad_ours.flatten(), grad_ref.flatten(), dim=0)
    assert cosine > 0.9999
    assert (grad_ours - grad_ref).norm() / grad_ref.norm() < 1e-2


def test_gradients_are_finite_and_nonzero(case):
    verts, faces, K, E = case
    for sigma in (0.05, 1.0, 5.0):                              # sharp to blurry: log(1 - D) stays finite
        v = verts.clone().requires_grad_(True)
        image = fast_soft_silhouette(project_to_screen(v, K, E), faces, H, W, sigma=sigma)
        image.sum().backward()
        assert torch.isfinite(image).all() and torch.isfinite(v.grad).all()
        assert v.grad.abs().sum() > 0


def test_chunking_changes_nothing(case):
    verts, faces, K, E = case
    screen = project_to_screen(verts, K, E)
    whole = fast_soft_silhouette(screen, faces, H, W, backend="tensor")
    assert torch.allclose(fast_soft_silhouette(screen, faces, H, W, max_pairs=500, backend="tensor"), whole, atol=1e-6)


def test_culling_drops_the_back_faces_only(case):
    verts, faces, K, E = case
    screen = project_to_screen(verts, K, E)
    full = fast_soft_silhouette(screen, faces, H, W)
    culled = fast_soft_silhouette(screen, faces, H, W, cull_backfaces=True)
    assert ((full > 0.5) == (culled > 0.5)).float().mean() > 0.95       # a closed mesh: nearly the same silhouette (24x32 px)
    assert (culled <= full + 1e-6).all() and (full - culled).abs().max() > 1e-3   # fewer faces, less coverage


def test_faces_behind_the_camera_are_skipped(case):
    verts, faces, K, E = case
    screen = project_to_screen(verts, K, E)
    behind = screen.clone()
    behind[..., 2] = -1.0
    assert fast_soft_silhouette(behind, faces, H, W).abs().max() == 0
