"""Convolution speed at DCGAN-28 sizes: minigan vs torch.nn.functional on the CPU.

Forward + backward (all gradients that the layer needs in training), float32, batch 64.
Both run in one process with the same number of threads (NumPy's BLAS threads), interleaved
A B A B, and we report medians and the ratio minigan / torch (lower is better).
minigan's im2col / col2im copies use ``backend.cpu_workers()`` threads (the cores it may run
on; ``MINIGAN_NUM_THREADS`` overrides), its GEMMs the BLAS threads.

On a busy machine wall-clock ratios swing widely (PyTorch's OpenMP threads suffer most when
the cores are shared); ``--threads 1`` adds the ratio of the calling thread's CPU time,
which other processes barely disturb.

    python benchmarks/conv_speed.py [--repeats 15] [--case dconv2] [--threads 1]
"""
from __future__ import annotations

import argparse
import statistics
import time
from typing import Callable, NamedTuple

import numpy as np


class ConvCase(NamedTuple):
    name: str
    kind: str            # "conv" or "deconv"
    x: tuple
    w: tuple
    stride: int
    padding: int
    output_padding: int
    x_grad: bool         # the first layer of D never needs the image gradient


CASES = [
    ConvCase("D conv1", "conv", (64, 1, 28, 28), (64, 1, 5, 5), 2, 2, 0, False),
    ConvCase("D conv2", "conv", (64, 64, 14, 14), (128, 64, 5, 5), 2, 2, 0, True),
    ConvCase("G deconv1", "deconv", (64, 256, 7, 7), (256, 128, 5, 5), 1, 2, 0, True),
    ConvCase("G deconv2", "deconv", (64, 128, 7, 7), (128, 64, 5, 5), 2, 2, 1, True),
    ConvCase("G deconv3", "deconv", (64, 64, 14, 14), (64, 1, 5, 5), 2, 2, 1, True),
]


def _kwargs(case: ConvCase) -> dict:
    kw = dict(stride=case.stride, padding=case.padding)
    if case.kind == "deconv":
        kw["output_padding"] = case.output_padding
    return kw


def minigan_step(case: ConvCase, seed: int = 0) -> Callable[[], None]:
    """A closure running one forward + backward of ``case`` in minigan.

    x and the output gradient are plain contiguous NCHW arrays, as torch gets them (minigan
    works channels-last inside, so this includes a transpose copy of each)."""
    import minigan as mg
    import minigan.functional as F
    rng = np.random.default_rng(seed)
    x = mg.tensor(rng.standard_normal(case.x, dtype=np.float32), requires_grad=case.x_grad)
    w = mg.tensor(rng.standard_normal(case.w, dtype=np.float32) * 0.05, requires_grad=True)
    fn = F.conv2d if case.kind == "conv" else F.conv_transpose2d
    kw = _kwargs(case)
    wanted = [x, w] if case.x_grad else [w]
    gy = None

    def step() -> None:
        nonlocal gy
        y = fn(x, w, **kw)
        if gy is None:
            gy = mg.tensor(rng.standard_normal(y.shape, dtype=np.float32))
        mg.grad(y, wanted, gy)
    return step


def torch_step(case: ConvCase, seed: int = 0) -> Callable[[], None]:
    import torch
    rng = np.random.default_rng(seed)
    x = torch.tensor(rng.standard_normal(case.x, dtype=np.float32), requires_grad=case.x_grad)
    w = torch.tensor(rng.standard_normal(case.w, dtype=np.float32) * 0.05, requires_grad=True)
    F = torch.nn.functional
    fn = F.conv2d if case.kind == "conv" else F.conv_transpose2d
    kw = _kwargs(case)
    wanted = [x, w] if case.x_grad else [w]
    gy = None

    def step() -> None:
        nonlocal gy
        y = fn(x, w, **kw)
        if gy is None:
            gy = torch.tensor(rng.standard_normal(tuple(y.shape), dtype=np.float32))
        torch.autograd.grad(y, wanted, gy)
    return step


def blas_threads() -> int:
    try:
        from threadpoolctl import threadpool_info
        counts = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]
        return counts[0] if counts else 1
    except ImportError:  # pragma: no cover
        return 1


def compare(case: ConvCase, repeats: int = 15) -> tuple[float, ...]:
    """Median and best seconds (minigan, torch) of one forward + backward, interleaved A B A B:
    (median minigan, median torch, min minigan, min torch)."""
    a, b = minigan_step(case), torch_step(case)
    a(), b(), a(), b()  # warm up (allocations, thread pools)
    ta, tb, ca, cb = [], [], [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.thread_time()
        a()
        t1, c1 = time.perf_counter(), time.thread_time()
        b()
        t2, c2 = time.perf_counter(), time.thread_time()
        ta.append(t1 - t0)
        tb.append(t2 - t1)
        ca.append(c1 - c0)
        cb.append(c2 - c1)
    return (statistics.median(ta), statistics.median(tb), min(ta), min(tb),
            statistics.median(ca), statistics.median(cb))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--case", default=None, help="run only cases whose name contains this")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for both (default: NumPy's BLAS threads); with 1, the "
                             "CPU time of the calling thread is reported too, which other "
                             "processes on a busy machine barely disturb")
    args = parser.parse_args()
    import torch
    threads = args.threads or blas_threads()
    torch.set_num_threads(threads)
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(threads, user_api="blas")
    except ImportError:  # pragma: no cover
        pass
    print(f"float32, batch 64, forward+backward, {threads} thread(s), {args.repeats} repeats, "
          f"ratio = minigan / torch (medians; and of the minima)")
    print(f"{'case':<10} {'x':>18} {'w':>18}  {'minigan ms':>10} {'torch ms':>9} {'ratio':>6}"
          f" {'min-ratio':>9}" + (f" {'cpu-ratio':>9}" if threads == 1 else ""))
    for case in CASES:
        if args.case and args.case.lower() not in case.name.lower().replace(" ", ""):
            continue
        ta, tb, ma, mb, ca, cb = compare(case, args.repeats)
        print(f"{case.name:<10} {str(case.x):>18} {str(case.w):>18}  {ta * 1e3:10.2f} "
              f"{tb * 1e3:9.2f} {ta / tb:6.2f} {ma / mb:9.2f}"
              + (f" {ca / cb:9.2f}" if threads == 1 else ""))


if __name__ == "__main__":
    main()
