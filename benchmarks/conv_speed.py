"""Convolution speed at DCGAN-28 sizes: minigan vs torch.nn.functional on the CPU.

Forward + backward (all gradients that the layer needs in training), float32, batch 64.
Both run in one process with the same number of threads (NumPy's BLAS threads), interleaved
A B A B, and we report medians and the ratio minigan / torch (lower is better).
minigan's im2col / col2im copies use ``backend.cpu_workers()`` threads (the cores it may run
on; ``MINIGAN_NUM_THREADS`` overrides), its GEMMs the BLAS threads.

On a busy machine wall-clock ratios swing widely (PyTorch's OpenMP threads suffer most when
the cores are shared); ``--cpu-time`` compares one thread each by CPU time instead.

    python benchmarks/conv_speed.py [--repeats 15] [--threads 1] [--cpu-time]
"""
from __future__ import annotations

import sys
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


def main(argv: list[str] | None = None) -> int:
    """This family's rows of the kernel table (``benchmarks/kernels.py``, same options:
    --quick, --threads, --cpu-time, --repeats), timed by the shared harness (minigan.bench)."""
    from minigan.bench import kernels_main
    return kernels_main(["--group", "conv"] + (sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    sys.exit(main())
