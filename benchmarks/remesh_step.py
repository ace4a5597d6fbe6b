"""Remeshing: milliseconds per optimisation step of `partlab.textured.remesh.fit_templates`, Chamfer stage and
silhouette stage apart, at the quick profile (or --profile full), on the built-in templates.

One step: deform the UV sphere, sample it, the Chamfer term (and, in the silhouette stage, render `view_batch` soft
silhouettes per template with partlab's renderer and compare them with the template's), backward, Adam, the
left/right symmetrisation. A first fit of 2 + 2 steps is an untimed warm-up (numba compilation, caches).

    python benchmarks/remesh_step.py [--templates car airplane] [--steps 20] [--load 1] [--threads 0]

Prints one JSON object."""
import argparse, dataclasses, json, statistics, time
from _common import add_common_arguments, environment, idle_and_loaded, threads_for
from partlab.textured.remesh import RemeshConfig, fit_templates, resolve_template
import partlab.world.writers  # registers the built-in templates (car, airplane, duck, bunny)

def ms_per_step(verts, faces, cfg, stage: str, steps: int, device: str, repeats: int) -> float:
    "Median over `repeats` fits of the milliseconds per step of one stage (the other stage given 0 steps)."
    other = "silhouette_steps" if stage == "chamfer" else "chamfer_steps"
    run_cfg = dataclasses.replace(cfg, rigid_steps=0, **{f"{stage}_steps": steps, other: 0})
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fit_templates(verts, faces, run_cfg, device=device, progress=False)
        runs.append(1000 * (time.perf_counter() - t0) / steps)
    return round(statistics.median(runs), 2)

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--templates", nargs="+", default=["car"], help="built-in template specs (car, airplane, duck, bunny)")
    ap.add_argument("--steps", type=int, default=20, help="steps per timed fit")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--profile", default="quick", choices=["quick", "full"])
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    add_common_arguments(ap)
    args = ap.parse_args()
    with threads_for(args): main_in(args)

def main_in(args):
    cfg = RemeshConfig.named(args.profile)
    resolved = [resolve_template(s) for s in args.templates]
    verts, faces = [v for _, v, _ in resolved], [f for _, _, f in resolved]
    fit_templates(verts, faces, dataclasses.replace(cfg, rigid_steps=0, chamfer_steps=2, silhouette_steps=2),
                  device=args.device, progress=False)                                     # warm-up
    stages = {}
    for stage in ("chamfer", "silhouette"):
        timed = idle_and_loaded(lambda: ms_per_step(verts, faces, cfg, stage, args.steps, args.device, args.repeats), args.load)
        stages[stage] = {"ms_per_step": timed["idle"], "ms_per_step_loaded": timed["loaded"],
                         "loaded_over_idle": timed["loaded_over_idle"]}
    print(json.dumps({"benchmark": "remesh_step", **environment(args, args.device), "profile": args.profile,
                      "templates": args.templates, "resolution": cfg.resolution, "view_batch": cfg.view_batch,
                      "steps": args.steps, "repeats": args.repeats, "stages": stages,
                      "seconds_per_fit_at_profile": round((cfg.chamfer_steps * stages["chamfer"]["ms_per_step"]
                                                           + cfg.silhouette_steps * stages["silhouette"]["ms_per_step"]) / 1000, 1)},
                     indent=1))

if __name__ == "__main__":
    main()
