"""Speed against PyTorch: the shared timing harness and ``minigan bench``.

Every comparison runs minigan and PyTorch in one process, on the same number of threads
(``torch.set_num_threads`` = the BLAS threads NumPy uses, set by ``set_threads``), and
alternates between them so that a machine busy with other work slows both alike; we report
medians. The alternation is in blocks (``interleave``): a pause, untimed calls, then several
timed calls of one engine before the other's turn, because right after one engine ran the
other paid for its still-spinning thread pools (strict A B A B made PyTorch look 1.3-2x
slower on convolutions and minigan's split kernels ~1.6x slower). Two clocks:

* ``wall``: ``time.perf_counter``, what a user waits for (meaningful on an idle machine);
* ``cpu``: ``time.process_time`` of the whole process on ONE thread (BLAS, torch and
  minigan's copy threads all limited to 1). Time spent waiting for a core does not count,
  so on a loaded machine this is the fair ratio of the work each engine does.

The kernel case lists live with the per-family scripts in the checkout's ``benchmarks/``
folder (conv_speed.py, norm_act_speed.py, linear_loss_speed.py, pool_resample_speed.py,
math_speed.py, attention_speed.py), which
``benchmarks/kernels.py`` and ``minigan bench`` import; the folder is not part of an
installed wheel, and ``benchmarks_dir`` says so clearly when it is missing.
"""
from __future__ import annotations

import argparse
import importlib
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Callable, Iterable, NamedTuple

import numpy as np

Step = Callable[[], None]


# ---------------------------------------------------------------------------- threads, clocks


def blas_threads() -> int:
    """The threads NumPy's BLAS uses (threadpoolctl), else OMP_NUM_THREADS or the core count."""
    try:
        from threadpoolctl import threadpool_info
        counts = [p["num_threads"] for p in threadpool_info() if p.get("user_api") == "blas"]
        if counts:
            return int(counts[0])
    except ImportError:
        lib = _numpy_openblas()
        if lib is not None:
            return int(lib.get_threads())
    return int(os.environ.get("OMP_NUM_THREADS", os.cpu_count() or 1))


class _OpenBLAS:
    """The thread-count calls of the OpenBLAS that NumPy's wheels bundle (scipy-openblas),
    called through ctypes: threadpoolctl does this when it is installed, and without it a
    ``--cpu-time`` run left NumPy's BLAS on every core, so its spinning threads were counted
    as minigan's CPU time (a text-to-image step read 0.68-0.83 s instead of 0.34-0.44 s)."""

    def __init__(self, cdll, prefix: str) -> None:
        self._set = getattr(cdll, prefix + "set_num_threads64_")
        self._get = getattr(cdll, prefix + "get_num_threads64_")

    def set_threads(self, n: int) -> None:
        import ctypes
        self._set(ctypes.c_int(int(n)))

    def get_threads(self) -> int:
        return int(self._get())


def _numpy_openblas() -> "_OpenBLAS | None":
    """NumPy's bundled OpenBLAS (numpy.libs/libscipy_openblas*.so), or None (another BLAS)."""
    import ctypes
    import glob
    import numpy as np
    folder = os.path.join(os.path.dirname(os.path.dirname(np.__file__)), "numpy.libs")
    for path in sorted(glob.glob(os.path.join(folder, "libscipy_openblas*.so*"))):
        try:
            return _OpenBLAS(ctypes.CDLL(path), "scipy_openblas_")
        except (OSError, AttributeError):
            continue
    return None


def set_threads(torch, threads: int | None) -> int:
    """Give torch, NumPy's BLAS and minigan's copy threads the same count (default: the
    BLAS threads NumPy already uses); returns it. The limits last for the process."""
    threads = threads or blas_threads()
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(threads, user_api="blas")
    except ImportError:  # without it: NumPy's bundled OpenBLAS directly, where it is one
        lib = _numpy_openblas()
        if lib is not None:
            lib.set_threads(threads)
    os.environ["MINIGAN_NUM_THREADS"] = str(threads)  # backend.cpu_workers reads it per call
    if torch is not None:
        torch.set_num_threads(threads)
    return threads


def clock(cpu_time: bool) -> Callable[[], float]:
    return time.process_time if cpu_time else time.perf_counter


def load_average() -> str:
    try:
        one, five, _ = os.getloadavg()
        return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} cores"
    except OSError:  # not on Unix
        return "load average unknown"


# ---------------------------------------------------------------------------- interleaving


class Case(NamedTuple):
    """One comparison: ``ours`` and ``theirs`` each run one forward + backward."""
    group: str
    name: str
    ours: Step
    theirs: Step


def timings(step: Step, repeats: int, now: Callable[[], float]) -> list[float]:
    """Seconds of ``repeats`` calls of ``step``, one after the other."""
    times = []
    for _ in range(repeats):
        t0 = now()
        step()
        times.append(now() - t0)
    return times


def interleave(ours: Step, theirs: Step, repeats: int, warmup: int,
               now: Callable[[], float], block: int = 1, settle: float = 0.05,
               untimed: int = 2) -> tuple[float, float]:
    """Median seconds of ``ours`` and ``theirs``, timed alternately: A B A B ... with
    ``block`` = 1; else in rounds: wait ``settle`` seconds, ``untimed`` calls, then ``block``
    timed calls of A, the same for B, until each has ``repeats`` timings.

    Why blocks: right after one engine ran, the other pays for its thread pools. PyTorch's
    OpenMP threads (libgomp) spin on the cores for ~20 ms after each parallel call, and
    OpenBLAS's do the same, so a minigan call that follows a PyTorch call runs its second
    thread on a busy core (measured: leaky_relu fwd+bwd 1.0 ms alone, 1.6-2.0 ms right after
    torch); and the first call after the other engine is cold. Neither happens in a loop of
    one engine's own work, which is what we want to compare. The wait lets the spinning stop,
    the untimed calls warm up; rounds still alternate, so drifts in machine load hit both."""
    for _ in range(warmup):
        ours()
        theirs()
    a: list[float] = []
    b: list[float] = []
    while len(a) < repeats:
        for step, times in ((ours, a), (theirs, b)):
            if block > 1:
                time.sleep(settle)
                for _ in range(untimed):
                    step()
            for _ in range(min(block, repeats - len(times))):
                t0 = now()
                step()
                times.append(now() - t0)
    return statistics.median(a), statistics.median(b)


def run_table(cases: Iterable[Case], repeats: int, warmup: int, cpu_time: bool,
              out=sys.stdout, block: int = 1) -> list[tuple[Case, float, float]]:
    """Time every case (alternating, see interleave) and print one row each: ms of both and
    the ratio."""
    now = clock(cpu_time)
    rows = []
    print(f"{'group':10s} {'case':46s} {'minigan ms':>10s} {'torch ms':>9s} {'ratio':>6s}",
          file=out)
    for case in cases:
        ta, tb = interleave(case.ours, case.theirs, repeats, warmup, now, block)
        rows.append((case, ta, tb))
        print(f"{case.group:10s} {case.name:46s} {ta * 1e3:10.3f} {tb * 1e3:9.3f} "
              f"{ta / tb:6.2f}", file=out, flush=True)
    return rows


def forward_backward_pair(torch, ours, theirs, inputs, gy) -> tuple[Step, Step]:
    """Steps running ``ours(*tensors).backward(gy)`` / ``theirs(...)`` on fixed inputs.

    ``inputs`` is a list of (array, requires_grad); gradients are reset before each step
    so neither side pays for accumulating into ``.grad``; ``gy`` None means a scalar loss."""
    import minigan as mg
    mx = [mg.tensor(a, requires_grad=r) for a, r in inputs]
    tx = [torch.tensor(a, requires_grad=r) for a, r in inputs]
    mgy = None if gy is None else mg.tensor(gy)
    tgy = None if gy is None else torch.tensor(gy)

    def step_ours() -> None:
        for t in mx:
            t.grad = None
        ours(*mx).backward(mgy)

    def step_theirs() -> None:
        for t in tx:
            t.grad = None
        theirs(*tx).backward(tgy)
    return step_ours, step_theirs


# ---------------------------------------------------------------------------- the scripts


def benchmarks_dir() -> Path:
    """The checkout's ``benchmarks/`` folder (next to the ``minigan`` package)."""
    path = Path(__file__).resolve().parent.parent / "benchmarks"
    if not (path / "compare_torch.py").is_file():
        raise FileNotFoundError(
            f"the benchmark scripts are not here ({path} is missing): they ship with the "
            "source checkout, not the installed package; run from a git clone of minigan "
            "installed with pip install -e")
    return path


def import_benchmark(name: str):
    """Import ``benchmarks/<name>.py`` as a module."""
    folder = str(benchmarks_dir())
    if folder not in sys.path:
        sys.path.insert(0, folder)
    return importlib.import_module(name)


def kernel_cases(torch, quick: bool = False) -> list[Case]:
    """Every kernel at DCGAN-28 sizes (batch 64) and at a small Transformer's sizes
    (batch 64, 16 tokens, width 128, 4 heads), from the per-family scripts' case lists.
    ``quick`` keeps one case per kernel."""
    import minigan.functional as F
    tf = torch.nn.functional
    rng = np.random.default_rng(0)
    cases: list[Case] = []

    conv = import_benchmark("conv_speed")
    for c in conv.CASES:
        if quick and c.name not in ("D conv2", "G deconv2"):
            continue
        cases.append(Case("conv", f"{c.name} x{c.x} w{c.w[:2]} k{c.w[2]} s{c.stride}",
                          *conv.steps(c, torch)))

    norm_act = import_benchmark("norm_act_speed")
    quick_norm = ("batch_norm train (64, 12544)", "batch_norm train (64, 128, 7, 7)",
                  "leaky_relu(0.2) (64, 12544)", "tanh", "dropout", "layer_norm")
    for name, shape, pshape, ours, theirs in norm_act._cases(torch):
        if quick and not name.startswith(quick_norm):
            continue
        arrays = [rng.standard_normal(shape).astype(np.float32)]
        if pshape is not None:
            arrays += [rng.standard_normal(pshape).astype(np.float32) for _ in range(2)]
        gy = rng.standard_normal(shape).astype(np.float32)
        group = "norm" if "norm" in name else "activation"
        cases.append(Case(group, name, *forward_backward_pair(
            torch, ours, theirs, [(a, True) for a in arrays], gy)))

    # activations and dropout at the Transformer's sizes (the family scripts time DCGAN's)
    text = (64, 16, 512)
    for name, ours, theirs in (
            ("relu (64, 16, 512)", F.relu, tf.relu),
            ("gelu (64, 16, 512)", F.gelu, tf.gelu),
            ("dropout(0.1) (64, 16, 128)", lambda x: F.dropout(x, 0.1),
             lambda x: tf.dropout(x, 0.1))):
        if quick and not name.startswith("gelu"):
            continue
        shape = (64, 16, 128) if name.startswith("dropout") else text
        x, gy = (rng.standard_normal(shape).astype(np.float32) for _ in range(2))
        cases.append(Case("activation", name,
                          *forward_backward_pair(torch, ours, theirs, [(x, True)], gy)))

    linear = import_benchmark("linear_loss_speed")
    for name, inputs, ours, theirs, gy_shape in linear._cases(torch, rng):
        if quick and not name.startswith(("linear (64,100)", "linear (64*16,128)",
                                          "bce", "cross_entropy")):
            continue
        gy = None if gy_shape is None else rng.standard_normal(gy_shape).astype(np.float32)
        group = "linear" if name.startswith("linear") else (
            "embedding" if name.startswith("embedding") else "loss")
        cases.append(Case(group, name, *forward_backward_pair(torch, ours, theirs, inputs, gy)))

    pool = import_benchmark("pool_resample_speed")
    for name, inputs, ours, theirs, gy_shape in pool._cases(torch, rng):
        if quick and not name.startswith(("max_pool2d k2", "avg_pool2d", "interpolate bilinear")):
            continue
        gy = rng.standard_normal(gy_shape).astype(np.float32)
        group = "resample" if name.startswith(("interpolate", "pad")) else "pool"
        cases.append(Case(group, name, *forward_backward_pair(torch, ours, theirs, inputs, gy)))
    math_family = import_benchmark("math_speed")
    for name, shape, ours, theirs, gy_shape in math_family._cases(torch):
        if quick and not name.startswith(math_family.QUICK):
            continue
        x, gy = rng.standard_normal(shape).astype(np.float32), \
            rng.standard_normal(gy_shape).astype(np.float32)
        cases.append(Case("math", name, *forward_backward_pair(torch, ours, theirs, [(x, True)], gy)))

    attention = import_benchmark("attention_speed")
    sizes = argparse.Namespace(batch=64, tokens=16, width=128, heads=4)
    for name, (ours, theirs) in attention._cases(torch, sizes).items():
        if quick and not name.startswith(("softmax", "sdpa", "EncoderLayer post")):
            continue
        cases.append(Case("attention", name, ours, theirs))
    return cases


def kernels_main(argv: list[str] | None = None) -> int:
    """``benchmarks/kernels.py``: one table of every kernel's forward + backward."""
    parser = argparse.ArgumentParser(
        prog="kernels.py", description="Forward + backward of every kernel, minigan vs "
        "PyTorch, at DCGAN-28 and small-Transformer sizes (alternating blocks, medians).")
    parser.add_argument("--quick", action="store_true", help="fewer cases and repeats")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for both (default: NumPy's BLAS threads)")
    parser.add_argument("--cpu-time", action="store_true",
                        help="one thread, timed by the process's CPU time (for busy machines)")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--block", type=int, default=5,
                        help="timed calls of one engine before switching to the other, after "
                             "one untimed call (1: strict A B A B; see interleave)")
    parser.add_argument("--only", nargs="+", default=None,
                        help="only cases whose group or name contains one of these")
    parser.add_argument("--group", nargs="+", default=None,
                        help="only these groups (conv, norm, activation, linear, loss, "
                             "embedding, pool, resample, math, attention)")
    args = parser.parse_args(argv)
    try:
        import torch
    except ImportError:
        print("PyTorch is not installed: nothing to compare against (pip install torch)")
        return 1
    import minigan as mg
    threads = set_threads(torch, 1 if args.cpu_time else args.threads)
    repeats = args.repeats or (5 if args.quick else 15)
    warmup = 1 if args.quick else 3
    mg.manual_seed(0)
    torch.manual_seed(0)
    print(f"kernels, float32, forward + backward, batch 64; {threads} thread(s) each; "
          f"{'process CPU time' if args.cpu_time else 'wall clock'}, medians of {repeats} "
          f"(blocks of {args.block}); "
          f"minigan {mg.__version__}, numpy {np.__version__}, torch {torch.__version__}; "
          f"{load_average()}")
    cases = kernel_cases(torch, args.quick)
    if args.only:
        cases = [c for c in cases if any(o in c.group or o in c.name for o in args.only)]
    if args.group:
        cases = [c for c in cases if c.group in args.group]
    run_table(cases, repeats, warmup, args.cpu_time, block=args.block)
    return 0


def bench_main(quick: bool = True, threads: int | None = None, cpu_time: bool = False) -> int:
    """``minigan bench``: the kernel table and the DCGAN-28 side by side (short versions)."""
    try:
        import torch  # noqa: F401
    except ImportError:
        print("PyTorch is not installed, so there is nothing to compare against: "
              "pip install torch (CPU build) and run minigan bench again")
        return 1
    args = (["--quick"] if quick else []) + (["--cpu-time"] if cpu_time else [])
    args += ["--threads", str(threads)] if threads else []
    code = kernels_main(args)
    print()
    compare = import_benchmark("compare_torch")
    return code or compare.main(args)
