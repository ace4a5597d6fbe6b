"""What every benchmark shares: the CPU thread count (partlab's policy, `--threads`) and a run under load (`--load N`).

`--load N` starts N busy processes (a Python loop each), times the same work again while they run, stops them and
reports both figures and their ratio. Each busy process is started in its own session, as a browser or another user's
job would be: Linux's scheduler (autogroup) then shares the CPU between sessions, not threads, which is also the
situation of a notebook kernel (jupyter starts every kernel in a new session). That is the case where two intra-op
threads that meet at a barrier after every operation lose a time slice each time."""
from __future__ import annotations
import contextlib, os, platform, statistics, subprocess, sys, time
import torch
from partlab.io import cpu_threads

def add_common_arguments(ap) -> None:
    "--threads and --load, the same in every benchmark."
    ap.add_argument("--threads", type=int, default=0,
                    help="torch CPU threads (default 0: partlab's policy, OMP_NUM_THREADS if set, else 1)")
    ap.add_argument("--load", type=int, default=0, metavar="N",
                    help="also time the work with N busy competing processes running, and report loaded/idle")

@contextlib.contextmanager
def busy_processes(n: int):
    "N processes that keep one core busy each, each in its own session; stopped (and reaped) when the block ends."
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"], start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(n)]
    try:
        time.sleep(0.5)                                   # let them get going before anything is timed
        yield procs
    finally:
        for p in procs: p.kill()
        for p in procs: p.wait()

def idle_and_loaded(measure, load: int) -> dict:
    """`measure()` -> a time (lower is better), once idle and, with `load` > 0, once more under `busy_processes(load)`.
    Returns {"idle", "loaded", "loaded_over_idle"} (the last two None without load)."""
    idle = measure()
    if not load: return {"idle": idle, "loaded": None, "loaded_over_idle": None}
    with busy_processes(load): loaded = measure()
    return {"idle": idle, "loaded": loaded, "loaded_over_idle": round(loaded / idle, 3)}

def median_ms(times: list[float]) -> float:
    "The median of per-step times in seconds, in milliseconds, rounded to 0.01."
    return round(1000 * statistics.median(times), 2)

def step_ms(step, repeats: int) -> float:
    "The median wall time in milliseconds of `repeats` calls of `step()` (unrounded, for `idle_and_loaded`)."
    import time
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter(); step(); times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times)

def environment(args, device: str = "cpu") -> dict:
    "What a benchmark's JSON records about where it ran."
    return {"device": device, "gpu": torch.cuda.get_device_name() if device == "cuda" else None,
            "threads": torch.get_num_threads(), "threads_requested": args.threads,
            "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"), "load": args.load, "cpu_count": os.cpu_count(),
            "torch": torch.__version__, "python": platform.python_version(), "machine": platform.machine()}

def threads_for(args):
    "The context in which a benchmark runs: partlab's thread policy for step loops, or `--threads`."
    return cpu_threads("steps", args.threads or None)
